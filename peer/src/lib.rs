//! Tandem's native peer (NAT-1).
//!
//! Joins a session through the signaling server ([`tandem_wire`] protocol) and
//! opens one WebRTC peer connection ([`link::Link`]) per remote participant.
//! It sends H.264 screen and camera video and Opus voice ([`media`], [`video`],
//! [`audio`]) and carries the `chat` data channel (TOOL-1).
//!
//! ```text
//! UI / CLI --Command--> session::run --(ClientMessage)--> signaling server
//!    ^                      |  ^                              |
//!    +------Event-----------+  +----(ServerMessage)-----------+
//!                           |
//!                   Link per remote participant (webrtc 0.21) --LinkEvent--> session::run
//! ```

pub mod audio;
pub mod consent;
pub mod consent_desk;
pub mod console;
pub mod control;
pub mod error;
pub mod files;
pub mod link;
pub mod media;
pub mod media_setup;
pub mod negotiation;
pub mod session;
pub mod signaling;
pub mod sysinfo_report;
pub mod tls;
pub mod turn_tunnel;
pub mod ui;
pub mod video;

pub use error::PeerError;
pub use tandem_wire::PROTOCOL_VERSION;
