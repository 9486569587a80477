//! Advanced file transfer (TOOL-5): a CSR browses the folders a customer
//! granted and moves files and folders both ways, resumably. Shared by the
//! native peer and the browser; `docs/file-transfer.md` is the prose version.
//!
//! Two kinds of channel:
//!
//! - `remote-files` (reliable, ordered, opened by the CSR): [`RemoteFilesMessage`]:
//!   open the file transfer, list folders, close it.
//! - `rfile-<id>` (reliable, ordered, one per transfer, opened by the CSR,
//!   [`transfer_label`]): [`TransferMessage`] text messages and binary chunks.
//!
//! Data flows from a *sender* to a *receiver*: for a download the customer's
//! machine (the *host*) sends and the CSR receives, for an upload the other
//! way round. After the [`TransferMessage::Manifest`], the receiver drives:
//!
//! ```text
//! sender                                     receiver
//!   |-- manifest {entries, last} ------------->|   pages until `last`
//!   |<------------- start {index, offset, prefix_sha256?}   where to (re)start
//!   |-- file_begin {index, offset} ----------->|
//!   |== binary chunks, 16..64 KiB ============>|   the last one of a file may be shorter
//!   |<------------------- ack {index, offset} -|   at least every ACK_INTERVAL_BYTES
//!   |-- file_end {index, sha256} ------------->|   receiver checks, renames into place
//!   |<----------------- ack {index + 1, 0} ----|   ... next file; ack {len, 0}: all done
//! ```
//!
//! A sender keeps at most one window of unacknowledged bytes in flight; after
//! a lost channel the CSR opens `rfile-<id>` again with the same id and sends
//! [`TransferMessage::Resume`], and the receiver's `start` names the position
//! it holds, with the SHA-256 of that file's prefix, so nothing that arrived
//! is sent again.
//!
//! Every path is a [`RelativePath`] below a granted root ([`RemotePath`]):
//! no `..`, no absolute paths, no NUL, no drive letters, no backslashes,
//! bounded lengths. The host confines it further on its own file system.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use ts_rs::TS;

use super::{MAX_CHANNEL_MESSAGE_BYTES, Sha256Hex, TransferId, label};
use crate::text::TextError;

/// Bytes of one path component (a file or folder name), as most file systems allow (`NAME_MAX`).
pub const MAX_NAME_BYTES: usize = 255;
/// Bytes of a whole [`RelativePath`] (`PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Most roots one `opened` message lists.
pub const MAX_ROOTS: usize = 16;
/// Most entries in one `listing` page (a page is also at most [`MAX_CHANNEL_MESSAGE_BYTES`]).
pub const MAX_LISTING_PAGE: usize = 100;
/// Most entries in one `manifest` page (a page is also at most [`MAX_CHANNEL_MESSAGE_BYTES`]).
pub const MAX_MANIFEST_PAGE: usize = 1000;
/// Most entries (files and folders) in one transfer's manifest.
pub const MAX_MANIFEST_ENTRIES: usize = 100_000;
/// Most path bytes, summed over one manifest (bounds the receiver's memory).
pub const MAX_MANIFEST_PATH_BYTES: usize = 16 * 1024 * 1024;
/// Smallest binary chunk, except the last chunk of a file.
pub const MIN_CHUNK_BYTES: usize = 16 * 1024;
/// Largest binary chunk.
pub const MAX_CHUNK_BYTES: usize = MAX_CHANNEL_MESSAGE_BYTES;
/// A receiver acknowledges at least every this many bytes written, and after every file.
pub const ACK_INTERVAL_BYTES: u64 = 256 * 1024;
/// The smallest window a sender may use: one ack interval plus one chunk, so
/// that an ack always comes before the window closes.
pub const MIN_WINDOW_BYTES: u64 = ACK_INTERVAL_BYTES + MAX_CHUNK_BYTES as u64;

/// The label of transfer `id`'s channel: `rfile-<id>`.
pub fn transfer_label(id: TransferId) -> String {
    format!("{}{}", label::REMOTE_FILE_PREFIX, id.0)
}

/// The transfer id in an `rfile-<id>` label: decimal digits, no sign, no
/// leading zero, at most `u32::MAX`. `None` for any other label.
pub fn parse_transfer_label(label: &str) -> Option<TransferId> {
    let digits = label.strip_prefix(label::REMOTE_FILE_PREFIX)?;
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().map(TransferId)
}

// ---------------------------------------------------------------------------
// paths

/// Why a name or a path was refused. Each hostile shape has its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    #[error("a name cannot be empty (and a path has no empty components)")]
    Empty,
    #[error("an absolute path is not allowed")]
    Absolute,
    #[error("`.` and `..` are not allowed")]
    Dot,
    #[error("a backslash is not allowed")]
    Backslash,
    #[error("a NUL or control character is not allowed")]
    Control,
    #[error("a drive letter is not allowed")]
    DriveLetter,
    #[error("a name is longer than {MAX_NAME_BYTES} bytes")]
    NameTooLong,
    #[error("a path is longer than {MAX_PATH_BYTES} bytes")]
    PathTooLong,
}

/// Checks one component; the rules of [`EntryName`].
fn check_name(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::Empty);
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(PathError::NameTooLong);
    }
    if s == "." || s == ".." {
        return Err(PathError::Dot);
    }
    if s.contains('\\') {
        return Err(PathError::Backslash);
    }
    if s.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    if s.contains('/') {
        return Err(PathError::Absolute);
    }
    let b = s.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(PathError::DriveLetter);
    }
    Ok(())
}

/// One file or folder name: 1 to [`MAX_NAME_BYTES`] bytes of UTF-8, no `/`,
/// no `\`, no control characters (NUL included), not `.` or `..`, not
/// starting with a drive letter (`C:`). Shown as text, never as HTML.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, TS)]
#[ts(type = "string")]
pub struct EntryName(String);

impl EntryName {
    /// Parses one name.
    pub fn parse(s: impl Into<String>) -> Result<Self, PathError> {
        let s = s.into();
        check_name(&s)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A path relative to a granted root: [`EntryName`]s joined by `/`, at most
/// [`MAX_PATH_BYTES`] bytes. The empty path is the root itself. No leading
/// or trailing `/`, no `//`, no `.` or `..` components: it can only name
/// something below its root (symbolic links aside, which the host refuses
/// when they lead outside).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, TS)]
#[ts(type = "string")]
pub struct RelativePath(String);

impl RelativePath {
    /// The root itself.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Parses a relative path.
    pub fn parse(s: impl Into<String>) -> Result<Self, PathError> {
        let s = s.into();
        if s.len() > MAX_PATH_BYTES {
            return Err(PathError::PathTooLong);
        }
        if s.is_empty() {
            return Ok(Self(s));
        }
        if s.starts_with('/') {
            return Err(PathError::Absolute);
        }
        for part in s.split('/') {
            check_name(part)?;
        }
        Ok(Self(s))
    }

    /// This path with `name` appended.
    pub fn join(&self, name: &EntryName) -> Result<Self, PathError> {
        let joined = if self.0.is_empty() { name.0.clone() } else { format!("{}/{}", self.0, name.0) };
        if joined.len() > MAX_PATH_BYTES {
            return Err(PathError::PathTooLong);
        }
        Ok(Self(joined))
    }

    /// This path below `base` (`base/self`).
    pub fn under(&self, base: &RelativePath) -> Result<Self, PathError> {
        if base.is_root() {
            return Ok(self.clone());
        }
        if self.is_root() {
            return Ok(base.clone());
        }
        let joined = format!("{}/{}", base.0, self.0);
        if joined.len() > MAX_PATH_BYTES {
            return Err(PathError::PathTooLong);
        }
        Ok(Self(joined))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The names from the root down; none for the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last name; `None` for the root.
    pub fn file_name(&self) -> Option<EntryName> {
        self.components().last().map(|c| EntryName(c.to_owned()))
    }

    /// The path without its last name; `None` for the root.
    pub fn parent(&self) -> Option<RelativePath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_owned()),
            None => Self::root(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! path_serde {
    ($name:ident) => {
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
path_serde!(EntryName);
path_serde!(RelativePath);

/// A granted root, by its position in the `opened` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct RootId(pub u32);

/// Something below a granted root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct RemotePath {
    pub root: RootId,
    pub path: RelativePath,
}

channel_text!(
    /// How a granted root is shown to the CSR (for example `Home` or
    /// `/srv/shared`): 1 to 255 characters, no control characters. Text, never HTML.
    RootLabel,
    max = 255,
    |s| s.chars().all(|c| !c.is_control())
);

/// One granted root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Root {
    pub root_id: RootId,
    pub label: RootLabel,
}

/// At most [`MAX_ROOTS`] roots.
pub type RootList = Capped<Root, MAX_ROOTS>;

// ---------------------------------------------------------------------------
// listing and manifests

/// What a directory entry is. Symbolic links are shown but never followed
/// out of the roots; `other` covers devices, FIFOs and sockets, which are
/// never read nor written. A kind this version does not know reads as `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    #[serde(other)]
    Other,
}

/// One entry of a listed folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DirEntry {
    pub name: EntryName,
    pub kind: EntryKind,
    /// Bytes (of the link itself for a symbolic link, 0 for a folder).
    pub size: u64,
    /// Last modification, Unix milliseconds; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub modified: Option<i64>,
}

/// What a manifest entry is: only files and folders travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    File,
    Dir,
}

/// One file or folder of a transfer. Its index is its position in the whole
/// manifest (all pages, from 0). Folders come before what they contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ManifestEntry {
    /// Relative to the folder the transfer lands in; for a single file, its name.
    pub path: RelativePath,
    pub kind: ItemKind,
    /// Bytes; 0 for a folder.
    pub size: u64,
    /// Last modification, Unix milliseconds; absent when unknown. The sender
    /// checks size and time again before resuming a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub modified: Option<i64>,
}

/// A list of at most `MAX` items (a page of a listing or a manifest, the
/// roots, the disks of a system report, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> Capped<T, MAX> {
    /// Refuses more than `MAX` items.
    pub fn new(items: Vec<T>) -> Result<Self, TextError> {
        if items.len() > MAX {
            return Err(TextError::TooLong(MAX));
        }
        Ok(Self(items))
    }

    /// The first `MAX` items of `items`.
    pub fn truncating(mut items: Vec<T>) -> Self {
        items.truncate(MAX);
        Self(items)
    }

    pub fn items(&self) -> &[T] {
        &self.0
    }

    pub fn into_items(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Default for Capped<T, MAX> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Serialize, const MAX: usize> Serialize for Capped<T, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Capped<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The whole message is at most 64 KiB, so the vector is bounded before this check.
        let items = Vec::<T>::deserialize(d)?;
        Self::new(items).map_err(|e| de::Error::custom(format_args!("list: {e}")))
    }
}

/// Entries of one `listing` message.
pub type ListingPage = Capped<DirEntry, MAX_LISTING_PAGE>;
/// Entries of one `manifest` message.
pub type ManifestPage = Capped<ManifestEntry, MAX_MANIFEST_PAGE>;

/// Splits `items` into as few messages as fit: each at most `MAX` items and,
/// encoded, at most [`MAX_CHANNEL_MESSAGE_BYTES`]. `make(items, last)` builds
/// one message; the last one has `last == true`. No items give one empty page.
pub fn paginate<T, M, const MAX: usize>(items: Vec<T>, make: impl Fn(Capped<T, MAX>, bool) -> M) -> Vec<M>
where
    T: Serialize,
    M: crate::Message,
{
    // The envelope with no entries; `false` is the longer flag.
    let envelope = crate::encode(&make(Capped(Vec::new()), false)).len();
    let mut pages = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut size = envelope;
    for item in items {
        // Serializing these types cannot fail (see `crate::encode`).
        let len = serde_json::to_string(&item).map(|s| s.len()).unwrap_or(MAX_CHANNEL_MESSAGE_BYTES) + 1;
        if !current.is_empty() && (current.len() == MAX || size + len > MAX_CHANNEL_MESSAGE_BYTES) {
            pages.push(make(Capped(std::mem::take(&mut current)), false));
            size = envelope;
        }
        size += len;
        current.push(item);
    }
    pages.push(make(Capped(current), true));
    pages
}

// ---------------------------------------------------------------------------
// errors

/// Why something was refused or a transfer failed. A code this version does
/// not know reads as `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransferErrorCode {
    /// The customer said no (to the file transfer or to this transfer).
    Denied,
    /// Nothing at that path.
    NotFound,
    /// The path leads outside the granted roots (a symbolic link, an unknown root).
    OutsideRoots,
    /// A folder was expected.
    NotADirectory,
    /// A device, FIFO or socket: never read nor written.
    UnsupportedKind,
    /// Over the host's size cap per transfer, or too many entries.
    TooLarge,
    /// The target exists and overwriting it was not allowed.
    Exists,
    /// Too many transfers at once; try again when one finishes.
    Busy,
    /// A file's SHA-256 differed from the sender's; nothing was renamed into place.
    HashMismatch,
    /// A CSR is viewing or controlling an application of the customer's (TOOL-5).
    ApplicationSharingActive,
    /// A file changed (size or time) since the manifest; start a new transfer.
    Changed,
    /// The sender could not read a file.
    ReadFailed,
    /// The receiver could not write a file.
    WriteFailed,
    /// `resume` for a transfer this host does not hold (any more).
    UnknownTransfer,
    /// The file transfer is not open (`open` first, or it was closed).
    NotOpen,
    /// The file transfer was ended by the customer or the CSR.
    Ended,
    /// A message broke this protocol.
    BadMessage,
    #[serde(other)]
    Other,
}

// ---------------------------------------------------------------------------
// messages

/// A listing request's id, chosen by the CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct ListId(pub u32);

/// A message on the `remote-files` channel.
///
/// ```text
/// CSR                                          host (customer)
///  |-- open {} -------------------------------->|  the customer is asked
///  |<----------- opened {roots, max_transfer_bytes}   or closed {code}
///  |-- list {list_id, path} ------------------->|
///  |<----------- listing {list_id, entries, last}     pages, or list_failed {list_id, code}
///  |-- close {} ------------------------------->|  "End file transfer", or
///  |<--------------------------- closed {code} -|  the customer ended it
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RemoteFilesMessage {
    /// CSR → host: asks for advanced file transfer.
    Open {},
    /// Host → CSR: the customer allowed it; these are the folders the CSR may see.
    Opened {
        #[ts(as = "Vec<Root>")]
        roots: RootList,
        /// The host's cap on one transfer's total size, in bytes.
        max_transfer_bytes: u64,
    },
    /// CSR → host: list a folder.
    List { list_id: ListId, path: RemotePath },
    /// Host → CSR: entries of the folder, in pages; `unlisted` counts entries
    /// that cannot be shown (names that are not UTF-8 or break [`EntryName`]).
    Listing {
        list_id: ListId,
        #[ts(as = "Vec<DirEntry>")]
        entries: ListingPage,
        last: bool,
        #[serde(default)]
        unlisted: u32,
    },
    /// Host → CSR: the listing failed.
    ListFailed { list_id: ListId, code: TransferErrorCode },
    /// CSR → host: "End file transfer": every transfer stops, partial files are removed.
    Close {},
    /// Host → CSR: the file transfer is closed (or was never opened): `denied`,
    /// `ended`, `application_sharing_active`, ...
    Closed { code: TransferErrorCode },
}

impl crate::Message for RemoteFilesMessage {
    const TYPES: &'static [&'static str] =
        &["open", "opened", "list", "listing", "list_failed", "close", "closed"];
}

/// A text message on an `rfile-<id>` channel; binary messages there are file
/// chunks (see the module documentation for the flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferMessage {
    /// CSR → host, first message: download this file or folder. The customer
    /// is asked; then the host sends the manifest, or `error`.
    Download { path: RemotePath },
    /// CSR → host, first message: upload into this folder; the manifest follows.
    /// `overwrite`: replace existing files (the customer is told and asked).
    Upload { folder: RemotePath, overwrite: bool },
    /// CSR → host, first message on a channel that replaces a lost one with
    /// the same id: carry on. The receiver then sends `start`.
    Resume {},
    /// Sender → receiver: the files and folders, in pages until `last`;
    /// `skipped` counts what a folder held that does not travel (links, devices).
    Manifest {
        #[ts(as = "Vec<ManifestEntry>")]
        entries: ManifestPage,
        last: bool,
        #[serde(default)]
        skipped: u32,
    },
    /// Receiver → sender: send from here. Every entry before `index` is
    /// complete; `offset` bytes of entry `index` are held, and then
    /// `prefix_sha256` (present exactly when `offset > 0`) is their SHA-256.
    Start {
        index: u32,
        offset: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        prefix_sha256: Option<Sha256Hex>,
    },
    /// Sender → receiver: chunks of file `index` follow, from `offset`: the
    /// offset `start` asked for, or 0 when the held prefix did not match.
    FileBegin { index: u32, offset: u64 },
    /// Sender → receiver: file `index` is complete; its whole SHA-256.
    FileEnd { index: u32, sha256: Sha256Hex },
    /// Receiver → sender: everything before (`index`, `offset`) is written
    /// (and every file before `index` checked and in place).
    Ack { index: u32, offset: u64 },
    /// Either side: stop; partial files are removed, completed ones stay.
    Cancel {},
    /// Either side: the transfer failed.
    Error { code: TransferErrorCode },
}

impl crate::Message for TransferMessage {
    const TYPES: &'static [&'static str] = &[
        "download",
        "upload",
        "resume",
        "manifest",
        "start",
        "file_begin",
        "file_end",
        "ack",
        "cancel",
        "error",
    ];
}

pub(super) fn typescript_decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        EntryName::decl(cfg),
        RelativePath::decl(cfg),
        RootId::decl(cfg),
        RemotePath::decl(cfg),
        RootLabel::decl(cfg),
        Root::decl(cfg),
        EntryKind::decl(cfg),
        DirEntry::decl(cfg),
        ItemKind::decl(cfg),
        ManifestEntry::decl(cfg),
        TransferErrorCode::decl(cfg),
        ListId::decl(cfg),
        RemoteFilesMessage::decl(cfg),
        TransferMessage::decl(cfg),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn path(s: &str) -> RelativePath {
        RelativePath::parse(s).unwrap()
    }

    fn name(s: &str) -> EntryName {
        EntryName::parse(s).unwrap()
    }

    #[test]
    fn hostile_paths_are_refused_each_with_its_reason() {
        let long_name = "n".repeat(MAX_NAME_BYTES + 1);
        let long_path = vec!["d".repeat(200); 21].join("/");
        let cases: &[(&str, PathError)] = &[
            ("../../etc/passwd", PathError::Dot),
            ("a/../../b", PathError::Dot),
            ("./a", PathError::Dot),
            ("a/.", PathError::Dot),
            ("/etc/passwd", PathError::Absolute),
            ("//server/share", PathError::Absolute),
            ("a//b", PathError::Empty),
            ("a/", PathError::Empty),
            ("a\0b", PathError::Control),
            ("a/b\nc", PathError::Control),
            ("C:\\..", PathError::Backslash),
            ("\\\\?\\C:\\Windows", PathError::Backslash),
            ("\\\\server\\share", PathError::Backslash),
            ("C:", PathError::DriveLetter),
            ("c:/Windows/system32", PathError::DriveLetter),
            ("x/D:evil", PathError::DriveLetter),
            (&long_name, PathError::NameTooLong),
            (&long_path, PathError::PathTooLong),
        ];
        for (input, why) in cases {
            assert_eq!(RelativePath::parse(*input), Err(*why), "{input:?}");
        }
        for bad in ["", "a/b", "..", ".", "a\\b", "x\0", "C:x", &long_name] {
            assert!(EntryName::parse(bad).is_err(), "{bad:?}");
        }
        // What is allowed: ordinary names, dots inside names, markup (it is text), colons later on.
        for good in
            ["", "a", "a/b/c", "...", ".hidden/..x", "<img src=x onerror=alert(1)>", "ab:c", "日本/語"]
        {
            assert_eq!(RelativePath::parse(good).unwrap().as_str(), good);
        }
        assert!(RelativePath::parse("n".repeat(MAX_NAME_BYTES)).is_ok());
        // 4096 bytes exactly is allowed.
        let mut exact = vec!["b".repeat(127); 31].join("/");
        exact.push('/');
        exact.push_str(&"c".repeat(MAX_PATH_BYTES - exact.len()));
        assert_eq!(exact.len(), MAX_PATH_BYTES);
        assert!(RelativePath::parse(exact.clone()).is_ok());
        assert_eq!(RelativePath::parse(format!("{exact}x")), Err(PathError::PathTooLong));
    }

    #[test]
    fn paths_compose_and_decompose() {
        let p = path("a/b");
        assert_eq!(p.join(&name("c")).unwrap(), path("a/b/c"));
        assert_eq!(RelativePath::root().join(&name("c")).unwrap(), path("c"));
        assert_eq!(p.components().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(RelativePath::root().components().count(), 0);
        assert_eq!(p.file_name(), Some(name("b")));
        assert_eq!(p.parent(), Some(path("a")));
        assert_eq!(path("a").parent(), Some(RelativePath::root()));
        assert_eq!(RelativePath::root().parent(), None);
        assert_eq!(path("x/y").under(&p).unwrap(), path("a/b/x/y"));
        assert_eq!(RelativePath::root().under(&p).unwrap(), p);
        let deep = RelativePath::parse(vec!["d".repeat(200); 20].join("/")).unwrap();
        assert_eq!(deep.join(&name(&"e".repeat(100))), Err(PathError::PathTooLong));
    }

    #[test]
    fn remote_files_messages_round_trip_in_their_documented_form() {
        let rp = RemotePath { root: RootId(0), path: path("Documents/<b>x</b>") };
        let cases = [
            (RemoteFilesMessage::Open {}, r#"{"v":1,"type":"open"}"#.to_owned()),
            (
                RemoteFilesMessage::Opened {
                    roots: RootList::new(vec![Root { root_id: RootId(0), label: RootLabel::parse("Home").unwrap() }])
                        .unwrap(),
                    max_transfer_bytes: 1 << 34,
                },
                r#"{"v":1,"type":"opened","roots":[{"root_id":0,"label":"Home"}],"max_transfer_bytes":17179869184}"#
                    .to_owned(),
            ),
            (
                RemoteFilesMessage::List { list_id: ListId(4), path: rp.clone() },
                r#"{"v":1,"type":"list","list_id":4,"path":{"root":0,"path":"Documents/<b>x</b>"}}"#.to_owned(),
            ),
            (
                RemoteFilesMessage::Listing {
                    list_id: ListId(4),
                    entries: Capped::new(vec![
                        DirEntry { name: name("a.txt"), kind: EntryKind::File, size: 3, modified: Some(-5) },
                        DirEntry { name: name("sub"), kind: EntryKind::Dir, size: 0, modified: None },
                    ])
                    .unwrap(),
                    last: true,
                    unlisted: 1,
                },
                r#"{"v":1,"type":"listing","list_id":4,"entries":[{"name":"a.txt","kind":"file","size":3,"modified":-5},{"name":"sub","kind":"dir","size":0}],"last":true,"unlisted":1}"#
                    .to_owned(),
            ),
            (
                RemoteFilesMessage::ListFailed { list_id: ListId(4), code: TransferErrorCode::OutsideRoots },
                r#"{"v":1,"type":"list_failed","list_id":4,"code":"outside_roots"}"#.to_owned(),
            ),
            (RemoteFilesMessage::Close {}, r#"{"v":1,"type":"close"}"#.to_owned()),
            (
                RemoteFilesMessage::Closed { code: TransferErrorCode::ApplicationSharingActive },
                r#"{"v":1,"type":"closed","code":"application_sharing_active"}"#.to_owned(),
            ),
        ];
        for (m, text) in cases {
            assert_eq!(crate::encode(&m), text);
            assert_eq!(crate::decode::<RemoteFilesMessage>(&text).unwrap(), m);
        }
    }

    #[test]
    fn transfer_messages_round_trip_in_their_documented_form() {
        let hash = Sha256Hex::parse(HASH).unwrap();
        let folder = RemotePath { root: RootId(1), path: RelativePath::root() };
        let cases = [
            (
                TransferMessage::Download { path: RemotePath { root: RootId(0), path: path("photos") } },
                r#"{"v":1,"type":"download","path":{"root":0,"path":"photos"}}"#.to_owned(),
            ),
            (
                TransferMessage::Upload { folder, overwrite: false },
                r#"{"v":1,"type":"upload","folder":{"root":1,"path":""},"overwrite":false}"#.to_owned(),
            ),
            (TransferMessage::Resume {}, r#"{"v":1,"type":"resume"}"#.to_owned()),
            (
                TransferMessage::Manifest {
                    entries: Capped::new(vec![
                        ManifestEntry { path: path("photos"), kind: ItemKind::Dir, size: 0, modified: None },
                        ManifestEntry {
                            path: path("photos/a.jpg"),
                            kind: ItemKind::File,
                            size: 1 << 40,
                            modified: Some(1_700_000_000_000),
                        },
                    ])
                    .unwrap(),
                    last: true,
                    skipped: 2,
                },
                r#"{"v":1,"type":"manifest","entries":[{"path":"photos","kind":"dir","size":0},{"path":"photos/a.jpg","kind":"file","size":1099511627776,"modified":1700000000000}],"last":true,"skipped":2}"#
                    .to_owned(),
            ),
            (
                TransferMessage::Start { index: 0, offset: 0, prefix_sha256: None },
                r#"{"v":1,"type":"start","index":0,"offset":0}"#.to_owned(),
            ),
            (
                TransferMessage::Start { index: 1, offset: 65536, prefix_sha256: Some(hash.clone()) },
                format!(r#"{{"v":1,"type":"start","index":1,"offset":65536,"prefix_sha256":"{HASH}"}}"#),
            ),
            (
                TransferMessage::FileBegin { index: 1, offset: 0 },
                r#"{"v":1,"type":"file_begin","index":1,"offset":0}"#.to_owned(),
            ),
            (
                TransferMessage::FileEnd { index: 1, sha256: hash },
                format!(r#"{{"v":1,"type":"file_end","index":1,"sha256":"{HASH}"}}"#),
            ),
            (
                TransferMessage::Ack { index: 2, offset: 262144 },
                r#"{"v":1,"type":"ack","index":2,"offset":262144}"#.to_owned(),
            ),
            (TransferMessage::Cancel {}, r#"{"v":1,"type":"cancel"}"#.to_owned()),
            (
                TransferMessage::Error { code: TransferErrorCode::HashMismatch },
                r#"{"v":1,"type":"error","code":"hash_mismatch"}"#.to_owned(),
            ),
        ];
        for (m, text) in cases {
            assert_eq!(crate::encode(&m), text);
            assert_eq!(crate::decode::<TransferMessage>(&text).unwrap(), m);
        }
    }

    #[test]
    fn unknown_codes_and_kinds_read_as_other_but_bad_fields_are_refused() {
        let m =
            crate::decode::<TransferMessage>(r#"{"v":1,"type":"error","code":"quota_exceeded"}"#).unwrap();
        assert_eq!(m, TransferMessage::Error { code: TransferErrorCode::Other });
        let listing = r#"{"v":1,"type":"listing","list_id":1,"entries":[{"name":"p","kind":"whiteout","size":0}],"last":true}"#;
        let RemoteFilesMessage::Listing { entries, unlisted, .. } = crate::decode(listing).unwrap() else {
            panic!("a listing")
        };
        assert_eq!(entries.items()[0].kind, EntryKind::Other);
        assert_eq!(unlisted, 0, "absent counts are zero");

        let code = |text: &str| crate::decode::<TransferMessage>(text).unwrap_err().code;
        for bad in [
            r#"{"v":1,"type":"download","path":{"root":0,"path":"../x"}}"#,
            r#"{"v":1,"type":"download","path":{"root":0,"path":"/etc"}}"#,
            r#"{"v":1,"type":"download","path":{"root":-1,"path":"a"}}"#,
            r#"{"v":1,"type":"download","path":"a"}"#,
            r#"{"v":1,"type":"upload","folder":{"root":0,"path":"C:\\x"},"overwrite":false}"#,
            r#"{"v":1,"type":"upload","folder":{"root":0,"path":""}}"#,
            r#"{"v":1,"type":"manifest","entries":[{"path":"a","kind":"symlink","size":0}],"last":true}"#,
            r#"{"v":1,"type":"manifest","entries":[{"path":"a/","kind":"file","size":0}],"last":true}"#,
            r#"{"v":1,"type":"start","index":0,"offset":-1}"#,
            r#"{"v":1,"type":"start","index":4294967296,"offset":0}"#,
            r#"{"v":1,"type":"file_end","index":0,"sha256":"00"}"#,
            r#"{"v":1,"type":"ack","index":0}"#,
        ] {
            assert_eq!(code(bad), ErrorCode::BadMessage, "{bad}");
        }
        assert_eq!(code(r#"{"v":1,"type":"open"}"#), ErrorCode::UnknownType, "open belongs to remote-files");
        let too_many: Vec<String> =
            (0..=MAX_LISTING_PAGE).map(|i| format!(r#"{{"name":"f{i}","kind":"file","size":1}}"#)).collect();
        let text = format!(
            r#"{{"v":1,"type":"listing","list_id":1,"entries":[{}],"last":true}}"#,
            too_many.join(",")
        );
        assert_eq!(crate::decode::<RemoteFilesMessage>(&text).unwrap_err().code, ErrorCode::BadMessage);
        let roots: Vec<String> =
            (0..=MAX_ROOTS).map(|i| format!(r#"{{"root_id":{i},"label":"r"}}"#)).collect();
        let text =
            format!(r#"{{"v":1,"type":"opened","roots":[{}],"max_transfer_bytes":1}}"#, roots.join(","));
        assert_eq!(crate::decode::<RemoteFilesMessage>(&text).unwrap_err().code, ErrorCode::BadMessage);
    }

    #[test]
    fn the_largest_entries_still_paginate_below_the_channel_limit() {
        // Quotes are escaped, so a name of quotes is the longest a name can encode to.
        let worst_name = "\"".repeat(MAX_NAME_BYTES);
        let entries: Vec<DirEntry> = (0..250)
            .map(|_| DirEntry {
                name: name(&worst_name),
                kind: EntryKind::Symlink,
                size: u64::MAX,
                modified: Some(i64::MIN),
            })
            .collect();
        let pages = paginate(entries, |entries, last| RemoteFilesMessage::Listing {
            list_id: ListId(u32::MAX),
            entries,
            last,
            unlisted: u32::MAX,
        });
        let mut seen = 0;
        for (i, page) in pages.iter().enumerate() {
            let text = crate::encode(page);
            assert!(text.len() <= MAX_CHANNEL_MESSAGE_BYTES, "page {i}: {} bytes", text.len());
            let RemoteFilesMessage::Listing { entries, last, .. } = crate::decode(&text).unwrap() else {
                panic!("a listing")
            };
            assert_eq!(last, i + 1 == pages.len());
            seen += entries.items().len();
        }
        assert_eq!(seen, 250);

        let worst_path = RelativePath::parse(vec!["\"".repeat(255); 16].join("/")).unwrap();
        let entries: Vec<ManifestEntry> = (0..40)
            .map(|_| ManifestEntry {
                path: worst_path.clone(),
                kind: ItemKind::File,
                size: u64::MAX,
                modified: Some(i64::MAX),
            })
            .collect();
        let pages =
            paginate(entries, |entries, last| TransferMessage::Manifest { entries, last, skipped: u32::MAX });
        assert!(pages.len() >= 5, "{} pages", pages.len());
        let total: usize = pages
            .iter()
            .map(|p| {
                let text = crate::encode(p);
                assert!(text.len() <= MAX_CHANNEL_MESSAGE_BYTES, "{} bytes", text.len());
                match crate::decode::<TransferMessage>(&text).unwrap() {
                    TransferMessage::Manifest { entries, .. } => entries.items().len(),
                    other => panic!("{other:?}"),
                }
            })
            .sum();
        assert_eq!(total, 40);

        // Many small entries: the count bound splits them.
        let small: Vec<ManifestEntry> = (0..2500)
            .map(|i| ManifestEntry {
                path: path(&format!("f{i}")),
                kind: ItemKind::File,
                size: 1,
                modified: None,
            })
            .collect();
        let pages = paginate(small, |entries, last| TransferMessage::Manifest { entries, last, skipped: 0 });
        assert_eq!(pages.len(), 3);
        let empty = paginate(Vec::<ManifestEntry>::new(), |entries, last| TransferMessage::Manifest {
            entries,
            last,
            skipped: 0,
        });
        assert_eq!(empty.len(), 1);
        assert_eq!(
            crate::encode(&empty[0]),
            r#"{"v":1,"type":"manifest","entries":[],"last":true,"skipped":0}"#
        );
    }

    #[test]
    fn transfer_labels() {
        assert_eq!(transfer_label(TransferId(9)), "rfile-9");
        assert_eq!(parse_transfer_label("rfile-9"), Some(TransferId(9)));
        assert_eq!(parse_transfer_label("rfile-4294967295"), Some(TransferId(u32::MAX)));
        for bad in
            ["rfile-", "rfile-09", "rfile-+1", "rfile-4294967296", "file-9", "remote-files", "rfile-1 "]
        {
            assert_eq!(parse_transfer_label(bad), None, "{bad}");
        }
        assert_eq!(super::super::parse_file_label("rfile-9"), None, "the two prefixes do not overlap");
    }
}
