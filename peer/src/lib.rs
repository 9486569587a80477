//! Tandem's native peer (NAT-1).
//!
//! Not built yet: this crate will join a session through the signaling
//! protocol ([`tandem_wire`]) and stream the desktop over WebRTC.

pub use tandem_wire::PROTOCOL_VERSION;
