//! Tandem's signaling server.
//!
//! - [`core`]: the session core, a pure state machine (roles, lobby, relay rules, grace periods).
//! - The rest is the shell around it: WebSocket transport, HTTP API, storage, metrics.

pub mod core;
pub mod auth;
pub mod limits;
pub mod store;
