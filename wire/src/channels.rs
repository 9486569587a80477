//! Messages that peers exchange over WebRTC data channels, directly and not
//! through the server: the same JSON framing as signaling (`"v": 1`, `"type"`,
//! one message per data channel message, [`crate::decode`] / [`crate::encode`]).
//!
//! Channel plan (labels in [`label`]):
//!
//! | label | reliability | carries |
//! |---|---|---|
//! | `chat` | reliable, ordered | [`ChatMessage`] (TOOL-1) |
//! | `control-motion` | unordered, no retransmits | pointer motion (SHR-2, later) |
//! | `control` | reliable, ordered | buttons, wheel, keys (SHR-2, later) |
//! | `file-<id>` | reliable, ordered, one per transfer | file transfer (TOOL-4/5, later) |

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::ParticipantId;
use crate::text::ChatText;

/// Data channel labels, in one place.
pub mod label {
    /// Chat: reliable, ordered.
    pub const CHAT: &str = "chat";
    /// Pointer motion: unordered, no retransmits (`maxRetransmits: 0`).
    pub const CONTROL_MOTION: &str = "control-motion";
    /// Buttons, wheel and keys: reliable, ordered.
    pub const CONTROL: &str = "control";
    /// File transfer channels are `file-` followed by the transfer id.
    pub const FILE_PREFIX: &str = "file-";
}

/// Largest message a peer accepts on any data channel, in bytes.
pub const MAX_CHANNEL_MESSAGE_BYTES: usize = 64 * 1024;

/// A message on the `chat` channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatMessage {
    /// A chat line. The sender is the participant at the other end of the peer
    /// connection; a message "to everyone" is sent on every peer connection.
    Chat {
        text: ChatText,
        /// The chosen recipients ("send to"); empty means everyone in the session.
        to: Vec<ParticipantId>,
        /// When it was sent, Unix milliseconds (the sender's clock).
        sent_at: u64,
    },
}

impl crate::Message for ChatMessage {
    const TYPES: &'static [&'static str] = &["chat"];
}

/// TypeScript declarations of every data channel type, for `web/types/wire.d.ts`
/// (see `wire/tests/typescript.rs`). Add new channel types here.
pub fn typescript_decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![ChatMessage::decl(cfg)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_round_trip_and_limits() {
        let m = ChatMessage::Chat { text: ChatText::parse("hi\nthere").unwrap(), to: vec![], sent_at: 5 };
        let text = crate::encode(&m);
        assert_eq!(text, r#"{"v":1,"type":"chat","text":"hi\nthere","to":[],"sent_at":5}"#);
        assert_eq!(crate::decode::<ChatMessage>(&text).unwrap(), m);
        let long = format!(r#"{{"v":1,"type":"chat","text":"{}","to":[],"sent_at":1}}"#, "x".repeat(4001));
        assert_eq!(crate::decode::<ChatMessage>(&long).unwrap_err().code, crate::ErrorCode::BadMessage);
        let empty = r#"{"v":1,"type":"chat","text":"","to":[],"sent_at":1}"#;
        assert!(crate::decode::<ChatMessage>(empty).is_err());
    }
}
