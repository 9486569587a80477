//! Tandem's signaling server.
//!
//! A connection's message flows: [`ws`] (limits, decoding, token checks) →
//! [`hub`] (the one task owning the session state) → [`core`] (pure state
//! machine: roles, lobby, relay rules, grace periods) → back through [`hub`] to
//! the addressed connections, and as report events to [`store`].
//! `ARCHITECTURE.md` at the repository root draws the whole.

pub mod auth;
pub mod config;
pub mod core;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod store;
mod tls;
mod ws;
