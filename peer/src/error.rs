//! What can go wrong for the native peer, each with a message a customer can act on.

use tandem_wire::{EndReason, ErrorCode};

/// A failure of the native peer. Every variant ends the program with a clear message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error("cannot reach the Tandem server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("no session with this number and invitation; check the number with your support agent")]
    SessionUnavailable,
    #[error("the support agent did not let you into the session")]
    Refused,
    #[error("sign-in failed: {0}")]
    SignIn(String),
    #[error("the server refused the request: {code:?} ({message})")]
    Server { code: ErrorCode, message: String },
    #[error("the session ended ({})", .0.as_str())]
    Ended(EndReason),
    #[error("the connection to the server was lost")]
    ConnectionLost,
    #[error("the server sent something this peer cannot read: {0}")]
    Protocol(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("WebRTC: {0}")]
    WebRtc(String),
    #[error("media: {0}")]
    Media(String),
}

impl From<webrtc::error::Error> for PeerError {
    fn from(e: webrtc::error::Error) -> Self {
        Self::WebRtc(e.to_string())
    }
}
