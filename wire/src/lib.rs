//! Tandem's signaling protocol, defined once.
//!
//! The signaling server, the native peer and the web client all speak this
//! protocol over one WebSocket: JSON text frames, one message per frame, every
//! message carrying `"v": 1` and a `"type"` tag. `docs/protocol.md` describes
//! each message for people writing their own client.
//!
//! Data flows through this crate at the edges only:
//!
//! ```text
//! text frame --decode()--> ClientMessage --(server)--> ServerMessage --encode()--> text frame
//! ```
//!
//! Every value that arrives from the network is parsed into a type that cannot
//! hold an invalid value ([`SessionNumber`] always has 9 digits, a
//! [`DisplayName`] is never empty nor over 64 characters, ...), so the code
//! behind the decoder never re-validates.

pub mod channels;
mod codec;
mod ids;
mod messages;
mod text;

pub use codec::{DecodeError, Message, decode, encode};
pub use ids::{ParticipantId, SessionId, SessionNumber, SessionNumberError};
pub use messages::{
    CandidateType, ClientMessage, ConsentOutcome, EndReason, ErrorCode, Features, IceCandidate, IceServer,
    IceText, ParticipantInfo, PathProtocol, Role, ServerMessage, SessionInfo, Signal, ToolRecord,
    TransferDirection, TransferOutcome,
};
pub use text::{
    AuthToken, ChatText, DisplayName, InviteToken, ItemName, Label, Notes, ResumeToken, Sdp, TextError,
};

/// The protocol version this crate speaks; every message carries it as `"v"`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame either side accepts, in bytes. A larger frame closes the
/// WebSocket with close code 1009 ([RFC 6455 §7.4.1](https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1)).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// WebSocket close codes the server uses, in one place.
pub mod close_code {
    /// The server is shutting down ([RFC 6455 §7.4.1](https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1)).
    pub const GOING_AWAY: u16 = 1001;
    /// The client kept sending over the message rate limit.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame was larger than [`crate::MAX_MESSAGE_BYTES`].
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The participant resumed on a newer connection; this one is closed.
    pub const REPLACED: u16 = 4001;
    /// Nothing was heard from the client for longer than the keepalive timeout.
    pub const KEEPALIVE_TIMEOUT: u16 = 4002;
}
