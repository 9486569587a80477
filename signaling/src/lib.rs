//! Tandem's signaling server.
//!
//! A connection's message flows: [`ws`] (limits, decoding, token checks) →
//! [`hub`] (the one task owning the session state) → [`core`] (pure state
//! machine: roles, lobby, relay rules, grace periods) → back through [`hub`] to
//! the addressed connections, and as report events to [`store`].
//! `ARCHITECTURE.md` at the repository root draws the whole.

pub mod core;

// The server shell around the core (default feature `server`; the fuzz target
// builds the core alone).
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod hub;
#[cfg(feature = "server")]
pub mod invitations;
#[cfg(feature = "server")]
pub mod limits;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
mod tls;
#[cfg(feature = "server")]
mod ws;
