//! Tandem's native peer (NAT-1).
//!
//! Joins a session through the signaling server ([`tandem_wire`] protocol) and
//! opens one WebRTC peer connection ([`link::Link`]) per remote participant.
//! Today it carries the `chat` data channel (TOOL-1); screen, audio and camera
//! tracks come next (see the native peer issue).
//!
//! ```text
//! UI / CLI --Command--> session::run --(ClientMessage)--> signaling server
//!    ^                      |  ^                              |
//!    +------Event-----------+  +----(ServerMessage)-----------+
//!                           |
//!                   Link per remote participant (webrtc 0.21) --LinkEvent--> session::run
//! ```

pub mod error;
pub mod link;
pub mod negotiation;
pub mod session;
pub mod signaling;
pub mod video;

pub use error::PeerError;
pub use tandem_wire::PROTOCOL_VERSION;
