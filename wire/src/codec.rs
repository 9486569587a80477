//! Encoding and decoding of whole frames, with the version check.
//!
//! Decoding is staged so that each kind of bad input gets its own error code:
//! size, then JSON syntax, then `"v"`, then `"type"`, then the fields.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::messages::{ClientMessage, ErrorCode, ServerMessage};
use crate::{MAX_MESSAGE_BYTES, PROTOCOL_VERSION};

/// A message type of this protocol (client or server side).
pub trait Message: Serialize + DeserializeOwned {
    /// Every `"type"` value of this side.
    const TYPES: &'static [&'static str];
}

impl Message for ClientMessage {
    const TYPES: &'static [&'static str] = ClientMessage::TYPES;
}

impl Message for ServerMessage {
    const TYPES: &'static [&'static str] = ServerMessage::TYPES;
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct DecodeError {
    /// The code to answer with.
    pub code: ErrorCode,
    /// What exactly was wrong (safe to echo: bounded, no input bytes beyond a field name).
    pub detail: String,
    /// The message's `"type"`, when it was readable and known.
    pub message_type: Option<&'static str>,
}

impl DecodeError {
    fn new(code: ErrorCode, detail: impl Into<String>, message_type: Option<&'static str>) -> Self {
        let mut detail = detail.into();
        if detail.len() > 200 {
            let mut end = 200;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        Self { code, detail, message_type }
    }
}

/// Only what is needed to route a frame: version and type. Other fields are skipped.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    v: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
    #[serde(flatten)]
    _rest: std::collections::BTreeMap<String, IgnoredAny>,
}

/// Decodes one text frame into a message of side `M`.
pub fn decode<M: Message>(text: &str) -> Result<M, DecodeError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::new(ErrorCode::BadMessage, "message too large", None));
    }
    let header: Header = serde_json::from_str(text)
        .map_err(|e| DecodeError::new(ErrorCode::BadJson, format!("not a JSON object: {e}"), None))?;
    match header.v {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => {}
        Some(_) => {
            return Err(DecodeError::new(ErrorCode::UnsupportedVersion, "unsupported \"v\"", None));
        }
        None => {
            return Err(DecodeError::new(ErrorCode::UnsupportedVersion, "missing \"v\"", None));
        }
    }
    let kind = match header.kind {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => {
            return Err(DecodeError::new(ErrorCode::BadMessage, "\"type\" must be a string", None));
        }
        None => {
            return Err(DecodeError::new(ErrorCode::BadMessage, "missing \"type\"", None));
        }
    };
    let Some(known) = M::TYPES.iter().copied().find(|t| *t == kind) else {
        return Err(DecodeError::new(ErrorCode::UnknownType, "unknown \"type\"", None));
    };
    serde_json::from_str(text)
        .map_err(|e| DecodeError::new(ErrorCode::BadMessage, e.to_string(), Some(known)))
}

/// Encodes a message as one text frame, with `"v"` first.
pub fn encode<M: Message>(msg: &M) -> String {
    #[derive(Serialize)]
    struct Versioned<'a, M> {
        v: u32,
        #[serde(flatten)]
        msg: &'a M,
    }
    // Serializing these types cannot fail: no maps with non-string keys, no
    // custom serializers that error.
    serde_json::to_string(&Versioned { v: PROTOCOL_VERSION, msg }).expect("wire types always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParticipantId, Role, SessionNumber, Signal};

    fn code_of(text: &str) -> ErrorCode {
        decode::<ClientMessage>(text).unwrap_err().code
    }

    #[test]
    fn decodes_a_join() {
        let m: ClientMessage =
            decode(r#"{"v":1,"type":"join","session_number":"123 456 789","name":"Ann"}"#).unwrap();
        let ClientMessage::Join { session_number, name, invite_token } = m else { panic!("{m:?}") };
        assert_eq!(session_number, SessionNumber::new(123_456_789).unwrap());
        assert_eq!(name.as_str(), "Ann");
        assert!(invite_token.is_none());
    }

    #[test]
    fn each_kind_of_bad_input_has_its_code() {
        assert_eq!(code_of("not json"), ErrorCode::BadJson);
        assert_eq!(code_of("[1,2]"), ErrorCode::BadJson);
        assert_eq!(code_of(r#"{"type":"ping"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code_of(r#"{"v":2,"type":"ping"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code_of(r#"{"v":"1","type":"ping"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code_of(r#"{"v":1,"type":"launch_missiles"}"#), ErrorCode::UnknownType);
        assert_eq!(code_of(r#"{"v":1,"type":7}"#), ErrorCode::BadMessage);
        assert_eq!(code_of(r#"{"v":1}"#), ErrorCode::BadMessage);
        assert_eq!(code_of(r#"{"v":1,"type":"join","name":"Ann"}"#), ErrorCode::BadMessage);
        assert_eq!(
            code_of(r#"{"v":1,"type":"join","session_number":"12","name":"A"}"#),
            ErrorCode::BadMessage
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"offer","to":"zz","sdp":"v=0"}"#),
            ErrorCode::BadMessage,
            "participant ids are parsed"
        );
        // A server-only type is unknown from a client.
        assert_eq!(code_of(r#"{"v":1,"type":"session_created"}"#), ErrorCode::UnknownType);
    }

    #[test]
    fn bad_message_reports_the_type() {
        let e = decode::<ClientMessage>(r#"{"v":1,"type":"admit"}"#).unwrap_err();
        assert_eq!(e.message_type, Some("admit"));
    }

    #[test]
    fn encode_puts_version_and_type() {
        let text = encode(&ServerMessage::Pong { nonce: Some(7) });
        assert_eq!(text, r#"{"v":1,"type":"pong","nonce":7}"#);
        let back: ServerMessage = decode(&text).unwrap();
        assert_eq!(back, ServerMessage::Pong { nonce: Some(7) });
    }

    #[test]
    fn relay_round_trip() {
        let to = ParticipantId::from_raw(1);
        let text = format!(
            r#"{{"v":1,"type":"candidate","to":"{to}","ice":{{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}}}"#
        );
        let m: ClientMessage = decode(&text).unwrap();
        let ClientMessage::Candidate { to: addressee, ice } = m else { panic!("{m:?}") };
        assert_eq!(addressee, to);
        let signal = Signal::Candidate { ice };
        let from = ParticipantId::from_raw(2);
        let delivered = encode(&signal.clone().deliver(from));
        assert!(delivered.contains(r#""from":"0000000000000002""#), "{delivered}");
        assert!(delivered.contains(r#""sdpMLineIndex":0"#), "{delivered}");
        assert!(matches!(signal, Signal::Candidate { .. }));
    }

    #[test]
    fn type_lists_match_the_enums() {
        // Every listed type decodes to a variant whose type_name is itself.
        for t in ClientMessage::TYPES {
            let e = decode::<ClientMessage>(&format!(r#"{{"v":1,"type":"{t}"}}"#));
            if let Ok(m) = e {
                assert_eq!(m.type_name(), *t);
            } else {
                assert_ne!(e.unwrap_err().code, ErrorCode::UnknownType, "{t}");
            }
        }
        let roles = [Role::PrimaryCsr, Role::Waiting];
        for r in roles {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for c in ErrorCode::ALL {
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{}\"", c.as_str()));
        }
    }
}
