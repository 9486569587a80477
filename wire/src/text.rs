//! Bounded text types: every string that comes from the network is parsed
//! into one of these, so its length and character set are known downstream.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Why a string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    #[error("must be at least {0} characters")]
    TooShort(usize),
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("contains a character that is not allowed here")]
    BadCharacter,
}

/// Which characters a text type accepts.
#[derive(Clone, Copy)]
enum Charset {
    /// Printable text: anything but control characters.
    Printable,
    /// Printable text plus CR, LF and TAB (SDP bodies).
    Multiline,
    /// Token characters: ASCII letters, digits, `-`, `_`, `.`, `~`, `+`, `/`, `=`.
    Token,
}

fn check(s: &str, min: usize, max: usize, charset: Charset) -> Result<(), TextError> {
    // `len` counts bytes; limits are in characters but bytes bound the cost first.
    if s.len() > max * 4 {
        return Err(TextError::TooLong(max));
    }
    let count = s.chars().count();
    if count < min {
        return Err(TextError::TooShort(min));
    }
    if count > max {
        return Err(TextError::TooLong(max));
    }
    let ok = match charset {
        Charset::Printable => s.chars().all(|c| !c.is_control()),
        Charset::Multiline => s.chars().all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t')),
        Charset::Token => s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
        }),
    };
    if ok { Ok(()) } else { Err(TextError::BadCharacter) }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, min = $min:expr, max = $max:expr, $charset:ident, trim = $trim:literal, secret = $secret:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, ts_rs::TS)]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Fewest characters accepted.
            pub const MIN_CHARS: usize = $min;
            /// Most characters accepted.
            pub const MAX_CHARS: usize = $max;

            /// Parses `s`, refusing values out of bounds or with characters not allowed.
            pub fn parse(s: impl Into<String>) -> Result<Self, TextError> {
                let mut s: String = s.into();
                if $trim {
                    let t = s.trim();
                    if t.len() != s.len() {
                        s = t.to_owned();
                    }
                }
                check(&s, $min, $max, Charset::$charset)?;
                Ok(Self(s))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $secret {
                    write!(f, "{}(<redacted>)", stringify!($name))
                } else {
                    write!(f, "{}({:?})", stringify!($name), self.0)
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(|e| de::Error::custom(format_args!("{}: {e}", stringify!($name))))
            }
        }
    };
}

text_type!(
    /// A participant's display name: 1 to 64 characters, trimmed, no control characters.
    /// Always rendered as text by clients, never as HTML.
    DisplayName, min = 1, max = 64, Printable, trim = true, secret = false
);
text_type!(
    /// A short free-text label such as a session type or a tracking code (SES-1):
    /// 1 to 128 characters, trimmed, no control characters.
    Label, min = 1, max = 128, Printable, trim = true, secret = false
);
text_type!(
    /// A CSR's sign-in token, as returned by `POST /api/v1/signin`.
    AuthToken, min = 1, max = 512, Token, trim = false, secret = true
);
text_type!(
    /// A session's invite token (≥128 random bits, base64url), part of the join link.
    InviteToken, min = 16, max = 64, Token, trim = false, secret = true
);
text_type!(
    /// A participant's resume token (≥128 random bits, base64url): presented on a
    /// new connection to take the participant back within the grace period.
    ResumeToken, min = 16, max = 64, Token, trim = false, secret = true
);
text_type!(
    /// The text of a chat message (TOOL-1): 1 to 4000 characters, line breaks allowed.
    /// Always rendered as text, never as HTML.
    ChatText, min = 1, max = 4000, Multiline, trim = false, secret = false
);
text_type!(
    /// A CSR's session notes (TOOL-6): 0 to 20,000 characters, line breaks and
    /// tabs allowed, kept as typed (not trimmed). Always rendered as text.
    Notes, min = 0, max = 20_000, Multiline, trim = false, secret = false
);
text_type!(
    /// A file or folder as a session report names it (TOOL-5, ADM-2): 1 to 1024
    /// characters, no control characters. Always rendered as text.
    ItemName, min = 1, max = 1024, Printable, trim = false, secret = false
);
text_type!(
    /// An SDP offer or answer ([RFC 8866](https://www.rfc-editor.org/rfc/rfc8866)), relayed untouched.
    Sdp, min = 1, max = 60_000, Multiline, trim = false, secret = false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_bounds() {
        assert_eq!(DisplayName::parse("  Ann  ").unwrap().as_str(), "Ann");
        assert_eq!(DisplayName::parse("   "), Err(TextError::TooShort(1)));
        assert_eq!(DisplayName::parse("a".repeat(65)), Err(TextError::TooLong(64)));
        assert!(DisplayName::parse("é".repeat(64)).is_ok(), "limits count characters, not bytes");
        assert_eq!(DisplayName::parse("a\u{0}b"), Err(TextError::BadCharacter));
        assert_eq!(DisplayName::parse("a\nb"), Err(TextError::BadCharacter));
        // Markup is allowed: it is text, and clients render it as text.
        assert!(DisplayName::parse("<img src=x onerror=alert(1)>").is_ok());
    }

    #[test]
    fn tokens_are_redacted_and_restricted() {
        let t = ResumeToken::parse("abcdefghijklmnopqrstuv").unwrap();
        assert_eq!(format!("{t:?}"), "ResumeToken(<redacted>)");
        assert_eq!(ResumeToken::parse("short"), Err(TextError::TooShort(16)));
        assert_eq!(ResumeToken::parse("abcdefghijklmnop qrs"), Err(TextError::BadCharacter));
    }

    #[test]
    fn notes_may_be_empty_and_are_bounded() {
        assert_eq!(Notes::parse("").unwrap().as_str(), "");
        assert_eq!(Notes::parse("  line 1\n\tline 2  ").unwrap().as_str(), "  line 1\n\tline 2  ");
        assert!(Notes::parse("é".repeat(20_000)).is_ok());
        assert_eq!(Notes::parse("a".repeat(20_001)), Err(TextError::TooLong(20_000)));
        assert_eq!(Notes::parse("bell\u{7}"), Err(TextError::BadCharacter));
    }

    #[test]
    fn sdp_keeps_line_breaks() {
        assert!(Sdp::parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n").is_ok());
        assert_eq!(Sdp::parse("v=0\u{7}"), Err(TextError::BadCharacter));
    }
}
