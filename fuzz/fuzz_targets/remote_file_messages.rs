//! Fuzzes the advanced file transfer and system information decoders
//! (issue 7): whatever a peer sends on `remote-files`, `rfile-<id>` and
//! `system-info`, and the relative path parser behind every path in them.
//!
//! The first byte picks the decoder; the rest is the text. A message either
//! is refused or decodes to one that encodes and decodes to itself, within
//! the channel's size limit; every decoded path can only name something
//! below its root (no `..`, no absolute path, no NUL, no backslash, no drive
//! letter, bounded lengths), and its parent and last name put together give
//! it back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wire::channels::MAX_CHANNEL_MESSAGE_BYTES;
use tandem_wire::channels::remote_files::{
    MAX_NAME_BYTES, MAX_PATH_BYTES, RelativePath, RemoteFilesMessage, TransferMessage,
};
use tandem_wire::channels::system_info::SystemInfoMessage;

fn round_trip<M: tandem_wire::Message + PartialEq + std::fmt::Debug>(text: &str) -> Option<M> {
    let message = tandem_wire::decode::<M>(text).ok()?;
    let encoded = tandem_wire::encode(&message);
    // Re-encoding may grow a message only by what defaults add, never past the limit a
    // sender could have used: the input itself was at most 64 KiB.
    assert!(encoded.len() <= MAX_CHANNEL_MESSAGE_BYTES + 64, "{} bytes", encoded.len());
    let again = tandem_wire::decode::<M>(&encoded).expect("re-decodes");
    assert_eq!(again, message);
    Some(message)
}

fn check_path(p: &RelativePath) {
    let s = p.as_str();
    assert!(s.len() <= MAX_PATH_BYTES);
    assert!(!s.starts_with('/') && !s.ends_with('/') && !s.contains("//"));
    assert!(!s.contains('\\') && !s.contains('\0'));
    for c in p.components() {
        assert!(!c.is_empty() && c.len() <= MAX_NAME_BYTES && c != "." && c != "..", "{c:?}");
        assert!(!(c.len() >= 2 && c.as_bytes()[0].is_ascii_alphabetic() && c.as_bytes()[1] == b':'));
        assert!(!c.chars().any(char::is_control));
    }
    if let (Some(parent), Some(name)) = (p.parent(), p.file_name()) {
        assert_eq!(&parent.join(&name).expect("a parent and its child fit"), p);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match selector % 4 {
        0 => {
            if let Some(m) = round_trip::<RemoteFilesMessage>(text) {
                match m {
                    RemoteFilesMessage::List { path, .. } => check_path(&path.path),
                    RemoteFilesMessage::Listing { entries, .. } => {
                        for e in entries.items() {
                            check_path(&RelativePath::root().join(&e.name).expect("one name fits"));
                        }
                    }
                    _ => {}
                }
            }
        }
        1 => {
            if let Some(m) = round_trip::<TransferMessage>(text) {
                match m {
                    TransferMessage::Download { path } => check_path(&path.path),
                    TransferMessage::Upload { folder, .. } => check_path(&folder.path),
                    TransferMessage::Manifest { entries, .. } => entries.items().iter().for_each(|e| check_path(&e.path)),
                    _ => {}
                }
            }
        }
        2 => {
            round_trip::<SystemInfoMessage>(text);
        }
        _ => {
            if let Ok(p) = RelativePath::parse(text) {
                check_path(&p);
                assert_eq!(p.as_str(), text);
            }
        }
    }
});
