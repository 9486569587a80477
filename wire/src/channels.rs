//! Messages that peers exchange over WebRTC data channels, directly and not
//! through the server: the same JSON framing as signaling (`"v": 1`, `"type"`,
//! one message per data channel message, [`crate::decode`] / [`crate::encode`]).
//! `docs/data-channels.md` describes every channel for client authors.
//!
//! Channel plan (labels in [`label`]). The participant that makes the first
//! offer (the smaller participant id) opens the long-lived channels right
//! after creating the peer connection; the other side accepts them by label
//! and ignores labels it does not know.
//!
//! | label | reliability | carries |
//! |---|---|---|
//! | `chat` | reliable, ordered | [`ChatMessage`] (TOOL-1) |
//! | `consent` | reliable, ordered | [`ConsentMessage`]: requests to view, control or share, and their answers (SHR-1..8) |
//! | `media` | reliable, ordered | [`MediaMessage`]: what each media stream is (microphone, camera, screen) |
//! | `files` | reliable, ordered | [`FileMessage::Offer`]: the files a participant publishes (TOOL-4) |
//! | `file-<id>` | reliable, ordered, one per download | one file download: [`FileMessage`] text messages and binary chunks (TOOL-4) |
//! | `control-motion` | unordered, no retransmits | [`ControlMessage::Motion`]: pointer motion (SHR-2/4/6/8) |
//! | `control` | reliable, ordered | [`ControlMessage`]: buttons, wheel, keys (SHR-2/4/6/8) |
//! | `remote-files` | reliable, ordered | [`remote_files::RemoteFilesMessage`]: advanced file transfer, open/list/close (TOOL-5) |
//! | `rfile-<id>` | reliable, ordered, one per transfer | [`remote_files::TransferMessage`] text messages and binary chunks (TOOL-5) |
//! | `system-info` | reliable, ordered | [`system_info::SystemInfoMessage`]: system information (TOOL-7) |
//!
//! Every message on every channel is at most [`MAX_CHANNEL_MESSAGE_BYTES`];
//! a peer drops (and on a `file-<id>` channel, fails the transfer on) anything
//! larger or anything that does not decode.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use ts_rs::TS;

use crate::ids::ParticipantId;
use crate::text::{ChatText, TextError};

/// Data channel labels, in one place.
pub mod label {
    /// Chat: reliable, ordered.
    pub const CHAT: &str = "chat";
    /// Consent requests and answers: reliable, ordered.
    pub const CONSENT: &str = "consent";
    /// Media stream announcements: reliable, ordered.
    pub const MEDIA: &str = "media";
    /// The list of published files: reliable, ordered.
    pub const FILES: &str = "files";
    /// Pointer motion: unordered, no retransmits (`maxRetransmits: 0`).
    pub const CONTROL_MOTION: &str = "control-motion";
    /// Buttons, wheel and keys: reliable, ordered.
    pub const CONTROL: &str = "control";
    /// File transfer channels are `file-` followed by the [`super::TransferId`].
    pub const FILE_PREFIX: &str = "file-";
    /// Advanced file transfer (TOOL-5): open, list, close. Reliable, ordered.
    pub const REMOTE_FILES: &str = "remote-files";
    /// One advanced transfer's channel: `rfile-` followed by the [`super::TransferId`].
    pub const REMOTE_FILE_PREFIX: &str = "rfile-";
    /// System information (TOOL-7). Reliable, ordered.
    pub const SYSTEM_INFO: &str = "system-info";
}

/// Largest message a peer accepts on any data channel, in bytes: text
/// messages and binary file chunks alike.
pub const MAX_CHANNEL_MESSAGE_BYTES: usize = 64 * 1024;

/// Most files one [`FileMessage::Offer`] may list (so that the offer stays
/// below [`MAX_CHANNEL_MESSAGE_BYTES`] even with the longest names).
pub const MAX_OFFERED_FILES: usize = 32;

// ---------------------------------------------------------------------------
// chat

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

// ---------------------------------------------------------------------------
// consent

/// Identifies one consent request on one peer connection. The requester
/// picks it (for example counting up from 1); it is unique per peer
/// connection and direction, so both ends key requests by
/// (who requested, request id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct RequestId(pub u32);

/// What a consent request asks for (SHR-1..SHR-8). A closed set: a peer
/// refuses an unknown capability at decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// SHR-1: the requester sees the approver's whole desktop.
    ViewDesktop,
    /// SHR-2: the requester controls the approver's desktop (mouse and keyboard).
    ControlDesktop,
    /// SHR-5: the requester sees one application window of the approver's.
    ViewApplication,
    /// SHR-6: the requester controls one application window of the approver's.
    ControlApplication,
    /// SHR-3: the requester shows its own screen to the approver.
    ShareView,
    /// SHR-4: the requester lets the approver control its screen.
    ShareControl,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 6] = [
        Self::ViewDesktop,
        Self::ControlDesktop,
        Self::ViewApplication,
        Self::ControlApplication,
        Self::ShareView,
        Self::ShareControl,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewDesktop => "view_desktop",
            Self::ControlDesktop => "control_desktop",
            Self::ViewApplication => "view_application",
            Self::ControlApplication => "control_application",
            Self::ShareView => "share_view",
            Self::ShareControl => "share_control",
        }
    }

    /// Whether the approving side sends the screen once allowed (`view_*`,
    /// `control_*`); otherwise the requester does (`share_*`).
    pub fn approver_sends_screen(self) -> bool {
        !matches!(self, Self::ShareView | Self::ShareControl)
    }
}

/// A message on the `consent` channel. Nothing is shared or controlled until
/// the approving side, on its own machine, has answered `decision` with
/// `allowed: true`; the approving side may end it at any time with `revoke`,
/// the requester with `stop`.
///
/// ```text
/// requester                          approver
///    |-- request {id, capability} ------>|   prompt shown on the approver's page
///    |<----- decision {id, allowed} -----|   allowed: false ends it here
///    |         ... sharing ...           |
///    |-- stop {id} --------------------->|   or
///    |<------------------- revoke {id} --|
/// ```
///
/// A request is live from `request` until a refusing `decision`, a `stop` or a
/// `revoke`, or until the peer connection closes. Messages naming a request
/// id that is not live are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsentMessage {
    /// Requester → approver: asks for a capability. Sending a request id that
    /// is already live is a protocol error; the approver ignores it.
    Request { request_id: RequestId, capability: Capability },
    /// Approver → requester: the answer, decided by a person on the approver's side.
    Decision { request_id: RequestId, allowed: bool },
    /// Requester → approver: the requester ends an allowed or pending request.
    Stop { request_id: RequestId },
    /// Approver → requester: the approving side ends what it allowed.
    Revoke { request_id: RequestId },
}

impl crate::Message for ConsentMessage {
    const TYPES: &'static [&'static str] = &["request", "decision", "stop", "revoke"];
}

// ---------------------------------------------------------------------------
// media

/// Where a media stream comes from: the receiver shows each in its own place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// Voice (TOOL-2).
    Microphone,
    /// A camera (TOOL-3).
    Camera,
    /// A screen or window, shared after consent (SHR-1, SHR-3, ...).
    Screen,
}

/// A message on the `media` channel. WebRTC tells the receiver a track's
/// stream id (the `a=msid` of [RFC 8830](https://www.rfc-editor.org/rfc/rfc8830))
/// but not what it shows; the sender announces it here, before adding the
/// tracks. A receiver shows an unannounced audio stream as the microphone and
/// an unannounced video stream as a screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaMessage {
    /// The stream with this id carries this source.
    Stream { stream_id: StreamId, source: MediaSource },
    /// The sender stopped this stream (its tracks are being removed).
    StreamEnded { stream_id: StreamId },
    /// The viewer asks the sender of its screen to encode it this way from now
    /// on (SHR-11); the sender applies it live.
    SetDisplayMode { mode: DisplayMode },
}

impl crate::Message for MediaMessage {
    const TYPES: &'static [&'static str] = &["stream", "stream_ended", "set_display_mode"];
}

/// How a shared screen is encoded (SHR-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DisplayMode {
    /// Better image quality, slower.
    Standard,
    /// Faster, lower image quality.
    ScreenSampling,
}

// ---------------------------------------------------------------------------
// files

/// A published file's id, chosen by the publisher (unique among its offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct FileId(pub u32);

/// A download's id, chosen by the downloader; the `file-<id>` channel's label
/// carries it in decimal ([`file_label`], [`parse_file_label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct TransferId(pub u32);

/// The label of the channel for download `id`: `file-<id>`.
pub fn file_label(id: TransferId) -> String {
    format!("{}{}", label::FILE_PREFIX, id.0)
}

/// The download id in a `file-<id>` label: decimal digits, no sign, no
/// leading zero, at most `u32::MAX`. `None` for any other label.
pub fn parse_file_label(label: &str) -> Option<TransferId> {
    let digits = label.strip_prefix(label::FILE_PREFIX)?;
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().map(TransferId)
}

/// One published file (TOOL-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileEntry {
    pub file_id: FileId,
    /// Shown as text, never as HTML; used as the suggested name when saving.
    pub name: FileName,
    /// Bytes.
    pub size: u64,
}

/// At most [`MAX_OFFERED_FILES`] entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileList(Vec<FileEntry>);

impl FileList {
    /// Refuses more than [`MAX_OFFERED_FILES`] entries.
    pub fn new(files: Vec<FileEntry>) -> Result<Self, TextError> {
        if files.len() > MAX_OFFERED_FILES {
            return Err(TextError::TooLong(MAX_OFFERED_FILES));
        }
        Ok(Self(files))
    }

    /// The entries, in the publisher's order.
    pub fn entries(&self) -> &[FileEntry] {
        &self.0
    }
}

impl Serialize for FileList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let files = Vec::<FileEntry>::deserialize(d)?;
        Self::new(files).map_err(|e| de::Error::custom(format_args!("files: {e}")))
    }
}

/// Why a download failed, as the publisher tells the downloader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorCode {
    /// The requested file is not (or no longer) published.
    UnknownFile,
    /// The publisher could not read the file.
    ReadFailed,
    /// A message broke this protocol (wrong order, bad size, undecodable).
    BadMessage,
}

/// A text message about files (TOOL-4). `offer` travels on the `files`
/// channel; the others on a `file-<id>` channel, one download each:
///
/// ```text
/// downloader                             publisher
///    | opens channel file-<id>               |
///    |-- request {file_id} ----------------->|
///    |<------- metadata {file_id, name, size}|
///    |<==== binary chunks, `size` bytes =====|   each 1..=64 KiB, in order
///    |<------------------ done {sha256} -----|   SHA-256 of all the bytes
///    | checks size and hash, closes channel  |
/// ```
///
/// Either side may end a download early: the downloader with `cancel`, the
/// publisher with `error`; then it closes the channel. A downloader that
/// receives more bytes than `size`, a chunk before `metadata`, or a `done`
/// whose hash differs fails the download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileMessage {
    /// Publisher → everyone (`files` channel): the files published now; each
    /// offer replaces the previous one. An empty list withdraws them all.
    Offer {
        #[ts(as = "Vec<FileEntry>")]
        files: FileList,
    },
    /// Downloader → publisher: the first message on a `file-<id>` channel.
    Request { file_id: FileId },
    /// Publisher → downloader: what follows as binary chunks.
    Metadata { file_id: FileId, name: FileName, size: u64 },
    /// Publisher → downloader: every byte was sent.
    Done { sha256: Sha256Hex },
    /// Downloader → publisher: stop sending.
    Cancel {},
    /// Publisher → downloader: the download failed.
    Error { code: FileErrorCode },
}

impl crate::Message for FileMessage {
    const TYPES: &'static [&'static str] = &["offer", "request", "metadata", "done", "cancel", "error"];
}

// ---------------------------------------------------------------------------
// bounded text types of the data channels

macro_rules! channel_text {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, TS)]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Most characters accepted.
            pub const MAX_CHARS: usize = $max;

            /// Parses `s`, refusing empty, overlong or badly formed values.
            pub fn parse(s: impl Into<String>) -> Result<Self, TextError> {
                let s: String = s.into();
                // Bytes bound the cost before characters are counted.
                if s.len() > $max * 4 {
                    return Err(TextError::TooLong($max));
                }
                let count = s.chars().count();
                if count == 0 {
                    return Err(TextError::TooShort(1));
                }
                if count > $max {
                    return Err(TextError::TooLong($max));
                }
                let check: fn(&str) -> bool = $check;
                if !check(&s) {
                    return Err(TextError::BadCharacter);
                }
                Ok(Self(s))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
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

channel_text!(
    /// A file's name (TOOL-4): 1 to 255 characters, no control characters, no
    /// `/` or `\`, not `.` or `..`. A name only, never a path. Rendered as text.
    FileName,
    max = 255,
    |s| s != "." && s != ".." && s.chars().all(|c| !c.is_control() && c != '/' && c != '\\')
);
channel_text!(
    /// A media stream's id, as WebRTC gives it (the `a=msid` stream id):
    /// 1 to 64 printable ASCII characters, no spaces.
    StreamId,
    max = 64,
    |s| s.bytes().all(|b| b.is_ascii_graphic())
);
channel_text!(
    /// A SHA-256 digest ([FIPS 180-4](https://csrc.nist.gov/pubs/fips/180-4/upd1/final))
    /// as 64 lowercase hexadecimal digits.
    Sha256Hex,
    max = 64,
    |s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
);

mod control;
pub use control::{ControlMessage, KeyCode, KeyText, Lines, MAX_WHEEL_LINES, MouseButton, Point};
pub mod remote_files;
pub mod system_info;

/// TypeScript declarations of every data channel type, for `web/types/wire.d.ts`
/// (see `wire/tests/typescript.rs`). Add new channel types here.
pub fn typescript_decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        ChatMessage::decl(cfg),
        RequestId::decl(cfg),
        Capability::decl(cfg),
        ConsentMessage::decl(cfg),
        MediaSource::decl(cfg),
        StreamId::decl(cfg),
        DisplayMode::decl(cfg),
        MediaMessage::decl(cfg),
        FileId::decl(cfg),
        TransferId::decl(cfg),
        FileName::decl(cfg),
        Sha256Hex::decl(cfg),
        FileEntry::decl(cfg),
        FileErrorCode::decl(cfg),
        FileMessage::decl(cfg),
    ]
    .into_iter()
    .chain(control::typescript_decls(cfg))
    .chain(remote_files::typescript_decls(cfg))
    .chain(system_info::typescript_decls(cfg))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn code<M: crate::Message + fmt::Debug>(text: &str) -> ErrorCode {
        crate::decode::<M>(text).unwrap_err().code
    }

    #[test]
    fn chat_round_trip_and_limits() {
        let m = ChatMessage::Chat { text: ChatText::parse("hi\nthere").unwrap(), to: vec![], sent_at: 5 };
        let text = crate::encode(&m);
        assert_eq!(text, r#"{"v":1,"type":"chat","text":"hi\nthere","to":[],"sent_at":5}"#);
        assert_eq!(crate::decode::<ChatMessage>(&text).unwrap(), m);
        let long = format!(r#"{{"v":1,"type":"chat","text":"{}","to":[],"sent_at":1}}"#, "x".repeat(4001));
        assert_eq!(code::<ChatMessage>(&long), ErrorCode::BadMessage);
        let empty = r#"{"v":1,"type":"chat","text":"","to":[],"sent_at":1}"#;
        assert!(crate::decode::<ChatMessage>(empty).is_err());
    }

    #[test]
    fn consent_round_trip() {
        let cases = [
            (
                ConsentMessage::Request { request_id: RequestId(1), capability: Capability::ViewDesktop },
                r#"{"v":1,"type":"request","request_id":1,"capability":"view_desktop"}"#,
            ),
            (
                ConsentMessage::Decision { request_id: RequestId(1), allowed: false },
                r#"{"v":1,"type":"decision","request_id":1,"allowed":false}"#,
            ),
            (ConsentMessage::Stop { request_id: RequestId(7) }, r#"{"v":1,"type":"stop","request_id":7}"#),
            (
                ConsentMessage::Revoke { request_id: RequestId(u32::MAX) },
                r#"{"v":1,"type":"revoke","request_id":4294967295}"#,
            ),
        ];
        for (m, text) in cases {
            assert_eq!(crate::encode(&m), text);
            assert_eq!(crate::decode::<ConsentMessage>(text).unwrap(), m);
        }
    }

    #[test]
    fn consent_capabilities_are_closed() {
        for c in Capability::ALL {
            let text = format!(r#"{{"v":1,"type":"request","request_id":2,"capability":"{}"}}"#, c.as_str());
            assert_eq!(
                crate::decode::<ConsentMessage>(&text).unwrap(),
                ConsentMessage::Request { request_id: RequestId(2), capability: c }
            );
        }
        assert!(Capability::ViewDesktop.approver_sends_screen());
        assert!(!Capability::ShareView.approver_sends_screen());
        let unknown = r#"{"v":1,"type":"request","request_id":2,"capability":"reboot"}"#;
        assert_eq!(code::<ConsentMessage>(unknown), ErrorCode::BadMessage);
        let negative = r#"{"v":1,"type":"stop","request_id":-1}"#;
        assert_eq!(code::<ConsentMessage>(negative), ErrorCode::BadMessage);
        let too_big = r#"{"v":1,"type":"stop","request_id":4294967296}"#;
        assert_eq!(code::<ConsentMessage>(too_big), ErrorCode::BadMessage);
        let not_bool = r#"{"v":1,"type":"decision","request_id":1,"allowed":"yes"}"#;
        assert_eq!(code::<ConsentMessage>(not_bool), ErrorCode::BadMessage);
        assert_eq!(code::<ConsentMessage>(r#"{"v":1,"type":"chat"}"#), ErrorCode::UnknownType);
    }

    #[test]
    fn media_round_trip_and_stream_ids() {
        let id = "{0b5a3c8e-2a41-4e8e-9f1d-3c2b1a0f9e8d}";
        let m = MediaMessage::Stream { stream_id: StreamId::parse(id).unwrap(), source: MediaSource::Camera };
        let text = crate::encode(&m);
        assert_eq!(text, format!(r#"{{"v":1,"type":"stream","stream_id":"{id}","source":"camera"}}"#));
        assert_eq!(crate::decode::<MediaMessage>(&text).unwrap(), m);
        let ended = r#"{"v":1,"type":"stream_ended","stream_id":"s1"}"#;
        assert_eq!(
            crate::decode::<MediaMessage>(ended).unwrap(),
            MediaMessage::StreamEnded { stream_id: StreamId::parse("s1").unwrap() }
        );
        assert_eq!(StreamId::parse("a b"), Err(TextError::BadCharacter));
        assert_eq!(StreamId::parse("é"), Err(TextError::BadCharacter));
        assert_eq!(StreamId::parse("x".repeat(65)), Err(TextError::TooLong(64)));
        assert_eq!(StreamId::parse(""), Err(TextError::TooShort(1)));
        let bad_source = r#"{"v":1,"type":"stream","stream_id":"s1","source":"webcam"}"#;
        assert_eq!(code::<MediaMessage>(bad_source), ErrorCode::BadMessage);
    }

    #[test]
    fn file_messages_round_trip() {
        let entry =
            FileEntry { file_id: FileId(3), name: FileName::parse("<b>report.pdf").unwrap(), size: 1 << 40 };
        let cases = [
            (
                FileMessage::Offer { files: FileList::new(vec![entry]).unwrap() },
                r#"{"v":1,"type":"offer","files":[{"file_id":3,"name":"<b>report.pdf","size":1099511627776}]}"#
                    .to_owned(),
            ),
            (FileMessage::Request { file_id: FileId(3) }, r#"{"v":1,"type":"request","file_id":3}"#.to_owned()),
            (
                FileMessage::Metadata { file_id: FileId(3), name: FileName::parse("a.txt").unwrap(), size: 0 },
                r#"{"v":1,"type":"metadata","file_id":3,"name":"a.txt","size":0}"#.to_owned(),
            ),
            (
                FileMessage::Done { sha256: Sha256Hex::parse("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap() },
                r#"{"v":1,"type":"done","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}"#.to_owned(),
            ),
            (FileMessage::Cancel {}, r#"{"v":1,"type":"cancel"}"#.to_owned()),
            (
                FileMessage::Error { code: FileErrorCode::UnknownFile },
                r#"{"v":1,"type":"error","code":"unknown_file"}"#.to_owned(),
            ),
        ];
        for (m, text) in cases {
            assert_eq!(crate::encode(&m), text);
            assert_eq!(crate::decode::<FileMessage>(&text).unwrap(), m);
        }
    }

    #[test]
    fn file_limits() {
        let entry = |i: u32| format!(r#"{{"file_id":{i},"name":"f{i}","size":1}}"#);
        let offer = |n: u32| {
            format!(
                r#"{{"v":1,"type":"offer","files":[{}]}}"#,
                (0..n).map(entry).collect::<Vec<_>>().join(",")
            )
        };
        assert!(crate::decode::<FileMessage>(&offer(32)).is_ok());
        assert_eq!(code::<FileMessage>(&offer(33)), ErrorCode::BadMessage);
        // The largest possible offer still fits one data channel message.
        let name = "€".repeat(FileName::MAX_CHARS);
        let files = (0..MAX_OFFERED_FILES as u32)
            .map(|i| FileEntry {
                file_id: FileId(u32::MAX - i),
                name: FileName::parse(name.clone()).unwrap(),
                size: u64::MAX,
            })
            .collect();
        let biggest = crate::encode(&FileMessage::Offer { files: FileList::new(files).unwrap() });
        assert!(biggest.len() <= MAX_CHANNEL_MESSAGE_BYTES, "{} bytes", biggest.len());

        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", "a\u{0}"] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(FileName::parse("<img src=x onerror=alert(1)>.png").is_ok(), "markup is text");
        assert!(FileName::parse("x".repeat(256)).is_err());
        assert!(
            Sha256Hex::parse("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855").is_err()
        );
        assert!(Sha256Hex::parse("e3b0").is_err());
        let bad_hash = r#"{"v":1,"type":"done","sha256":"zz"}"#;
        assert_eq!(code::<FileMessage>(bad_hash), ErrorCode::BadMessage);
        let negative = r#"{"v":1,"type":"metadata","file_id":1,"name":"a","size":-1}"#;
        assert_eq!(code::<FileMessage>(negative), ErrorCode::BadMessage);
    }

    #[test]
    fn file_labels() {
        assert_eq!(file_label(TransferId(42)), "file-42");
        assert_eq!(parse_file_label("file-42"), Some(TransferId(42)));
        assert_eq!(parse_file_label("file-0"), Some(TransferId(0)));
        assert_eq!(parse_file_label("file-4294967295"), Some(TransferId(u32::MAX)));
        for bad in [
            "file-",
            "file-042",
            "file-+1",
            "file--1",
            "file-4294967296",
            "file-1a",
            "files",
            "chat",
            "file-99999999999",
        ] {
            assert_eq!(parse_file_label(bad), None, "{bad}");
        }
    }
}
