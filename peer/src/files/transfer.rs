//! The transfer protocol's two ends as pure state machines (TOOL-5): a
//! [`Sender`] and a [`Receiver`] take decoded messages, binary chunks and the
//! channel's buffered amount, and give back what to send ([`Transmit`]) and
//! what happened ([`Event`]). They touch files only through the small
//! [`FileSource`] and [`FileSink`] traits (the disk ones are in
//! [`super::disk`], in-memory ones in the tests); no sockets, no clock.
//! [`Transfers`] holds several at once and suspends and resumes them as their
//! channels go and come back.
//!
//! The wire protocol is [`tandem_wire::channels::remote_files`]; in short,
//! after the manifest the receiver says where to start, the sender sends
//! file by file, keeping at most one window of unacknowledged bytes in
//! flight, and the receiver acknowledges what it wrote and renames each file
//! into place only when its SHA-256 matches. A resume starts at the
//! receiver's own position (with the SHA-256 of that file's prefix), so what
//! was lost in flight is all that is sent again: at most one window.

mod receiver;
mod sender;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tandem_wire::channels::remote_files::{
    EntryKind, ItemKind, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_PATH_BYTES, ManifestEntry, RelativePath,
    TransferErrorCode, TransferMessage,
};
use tandem_wire::channels::{Sha256Hex, TransferId};

pub use receiver::{Receiver, ReceiverConfig};
pub use sender::{Sender, SenderConfig};

use super::sandbox::SandboxError;

/// How long a transfer whose channel closed waits for a `resume`.
pub const RESUME_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How many transfers may run (or wait for a resume) at once, by default.
pub const DEFAULT_MAX_TRANSFERS: usize = 4;

/// A place in a transfer: every entry before `index` is complete, and
/// `offset` bytes of entry `index` are. Ordered as the bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub index: u32,
    pub offset: u64,
}

/// What to send on the transfer's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    Text(TransferMessage),
    /// A binary message: the next bytes of the current file.
    Chunk(Vec<u8>),
}

/// What happened, for the person watching (progress bars, the session report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Receiver: the whole manifest is in; check it ([`Receiver::preflight`]),
    /// ask the customer where that is needed, then [`Receiver::start`].
    ManifestReady,
    /// Receiver: file `index` was checked and renamed into place.
    FileDone {
        index: u32,
    },
    /// Everything arrived and is in place.
    Finished,
    Failed(TransferErrorCode),
    Cancelled,
    /// Its channel stayed closed for longer than [`RESUME_TIMEOUT`]; partial files were removed.
    Expired,
}

/// How far a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes the receiver confirmed (written; files before the current one checked and in place).
    pub confirmed_bytes: u64,
    pub total_bytes: u64,
    /// Sender: file bytes sent, a resent byte counted again.
    pub sent_bytes: u64,
}

/// A file operation failed; the code goes on the wire.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct AccessError {
    pub code: TransferErrorCode,
    pub detail: String,
}

impl AccessError {
    pub fn new(code: TransferErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

impl From<SandboxError> for AccessError {
    fn from(e: SandboxError) -> Self {
        Self { code: e.code(), detail: e.to_string() }
    }
}

/// What a file is now, when a sender opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceMeta {
    pub size: u64,
    pub modified: Option<i64>,
}

/// Where a [`Sender`] reads the manifest's files.
pub trait FileSource {
    /// Opens file entry `index` for reading and tells what it is now.
    fn open(&mut self, index: u32, entry: &ManifestEntry) -> Result<SourceMeta, AccessError>;
    /// Reads bytes of the open entry `index` from `offset`; `Ok(0)` at its end.
    fn read_at(&mut self, index: u32, offset: u64, buf: &mut [u8]) -> Result<usize, AccessError>;
}

/// Where a [`Receiver`] writes. Paths are relative to the folder the transfer lands in.
pub trait FileSink {
    /// What is at `path` now, without following a link (`None`: nothing).
    fn existing(&mut self, path: &RelativePath) -> Result<Option<EntryKind>, AccessError>;
    /// Creates the folder `path` (its parents exist); an existing folder is fine.
    fn create_dir(&mut self, path: &RelativePath) -> Result<(), AccessError>;
    /// Starts entry `index` afresh: an empty temporary file beside `path`
    /// (replacing an earlier one for `index`).
    fn begin(&mut self, index: u32, path: &RelativePath) -> Result<(), AccessError>;
    /// Writes bytes of entry `index`'s temporary file at `offset`.
    fn write_at(&mut self, index: u32, offset: u64, bytes: &[u8]) -> Result<(), AccessError>;
    /// Renames entry `index`'s temporary file to `path`. Without `overwrite`,
    /// anything already there stays and the code is `exists`.
    fn commit(&mut self, index: u32, path: &RelativePath, overwrite: bool) -> Result<(), AccessError>;
    /// Removes entry `index`'s temporary file, if there is one.
    fn discard(&mut self, index: u32);
}

impl<T: FileSource + ?Sized> FileSource for Box<T> {
    fn open(&mut self, index: u32, entry: &ManifestEntry) -> Result<SourceMeta, AccessError> {
        (**self).open(index, entry)
    }
    fn read_at(&mut self, index: u32, offset: u64, buf: &mut [u8]) -> Result<usize, AccessError> {
        (**self).read_at(index, offset, buf)
    }
}

impl<T: FileSink + ?Sized> FileSink for Box<T> {
    fn existing(&mut self, path: &RelativePath) -> Result<Option<EntryKind>, AccessError> {
        (**self).existing(path)
    }
    fn create_dir(&mut self, path: &RelativePath) -> Result<(), AccessError> {
        (**self).create_dir(path)
    }
    fn begin(&mut self, index: u32, path: &RelativePath) -> Result<(), AccessError> {
        (**self).begin(index, path)
    }
    fn write_at(&mut self, index: u32, offset: u64, bytes: &[u8]) -> Result<(), AccessError> {
        (**self).write_at(index, offset, bytes)
    }
    fn commit(&mut self, index: u32, path: &RelativePath, overwrite: bool) -> Result<(), AccessError> {
        (**self).commit(index, path, overwrite)
    }
    fn discard(&mut self, index: u32) {
        (**self).discard(index)
    }
}

// ---------------------------------------------------------------------------
// manifests

/// A complete manifest that passed every check of [`ManifestBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<ManifestEntry>,
    /// Bytes before each entry.
    starts: Vec<u64>,
    total: u64,
}

impl Manifest {
    /// Checks `entries` as one page.
    pub fn new(entries: Vec<ManifestEntry>, max_total_bytes: u64) -> Result<Self, TransferErrorCode> {
        let mut builder = ManifestBuilder::new(max_total_bytes);
        builder.add(entries)?;
        Ok(builder.finish())
    }

    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    /// Number of entries (at most [`MAX_MANIFEST_ENTRIES`], so it fits a `u32`).
    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// The first file entry at or after `from`, or [`Manifest::len`].
    pub fn next_file(&self, from: u32) -> u32 {
        (from..self.len()).find(|&i| self.entries[i as usize].kind == ItemKind::File).unwrap_or(self.len())
    }

    /// `p` with an offset of 0 moved on to the next file (or to the end).
    pub fn normalize(&self, p: Position) -> Position {
        if p.offset == 0 { Position { index: self.next_file(p.index), offset: 0 } } else { p }
    }

    /// Whether `p` names a place in this manifest.
    pub fn contains(&self, p: Position) -> bool {
        match self.entries.get(p.index as usize) {
            Some(e) => p.offset <= e.size,
            None => p.index == self.len() && p.offset == 0,
        }
    }

    /// Bytes before `p` (which [`Manifest::contains`]).
    pub fn bytes_before(&self, p: Position) -> u64 {
        self.starts.get(p.index as usize).map_or(self.total, |s| s + p.offset)
    }

    fn entry(&self, index: u32) -> &ManifestEntry {
        &self.entries[index as usize]
    }
}

/// Takes manifest pages as they come and refuses, as early as possible, what
/// the receiver will not take: too many entries or path bytes, more bytes
/// than the cap, a duplicate, a folder with a size, an entry whose folder
/// has not come before it.
#[derive(Debug)]
pub struct ManifestBuilder {
    max_total_bytes: u64,
    entries: Vec<ManifestEntry>,
    path_bytes: usize,
    total: u64,
    seen: HashSet<RelativePath>,
    dirs: HashSet<RelativePath>,
}

impl ManifestBuilder {
    pub fn new(max_total_bytes: u64) -> Self {
        Self {
            max_total_bytes,
            entries: Vec::new(),
            path_bytes: 0,
            total: 0,
            seen: HashSet::new(),
            dirs: HashSet::new(),
        }
    }

    /// Adds one page.
    pub fn add(&mut self, page: Vec<ManifestEntry>) -> Result<(), TransferErrorCode> {
        for entry in page {
            if self.entries.len() >= MAX_MANIFEST_ENTRIES {
                return Err(TransferErrorCode::TooLarge);
            }
            self.path_bytes += entry.path.as_str().len();
            if self.path_bytes > MAX_MANIFEST_PATH_BYTES {
                return Err(TransferErrorCode::TooLarge);
            }
            self.total = self.total.checked_add(entry.size).ok_or(TransferErrorCode::TooLarge)?;
            if self.total > self.max_total_bytes {
                return Err(TransferErrorCode::TooLarge);
            }
            let parent_ok = match entry.path.parent() {
                None => false,
                Some(p) => p.is_root() || self.dirs.contains(&p),
            };
            let size_ok = entry.kind == ItemKind::File || entry.size == 0;
            if !parent_ok || !size_ok || !self.seen.insert(entry.path.clone()) {
                return Err(TransferErrorCode::BadMessage);
            }
            if entry.kind == ItemKind::Dir {
                self.dirs.insert(entry.path.clone());
            }
            self.entries.push(entry);
        }
        Ok(())
    }

    pub fn finish(self) -> Manifest {
        let mut starts = Vec::with_capacity(self.entries.len());
        let mut at = 0u64;
        for e in &self.entries {
            starts.push(at);
            at += e.size;
        }
        Manifest { entries: self.entries, starts, total: at }
    }
}

/// A digest as the wire writes it.
fn hex(digest: &[u8]) -> Sha256Hex {
    let text: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    // 32 bytes always give 64 lowercase hexadecimal digits.
    Sha256Hex::parse(text).expect("a SHA-256 digest in hex")
}

fn digest_hex(hasher: &Sha256) -> Sha256Hex {
    hex(&hasher.clone().finalize())
}

// ---------------------------------------------------------------------------
// several at once

/// One end of one transfer.
pub enum Transfer {
    Send(Sender<Box<dyn FileSource + Send + Sync>>),
    Receive(Receiver<Box<dyn FileSink + Send + Sync>>),
}

impl Transfer {
    fn on_message(&mut self, msg: TransferMessage) {
        match self {
            Self::Send(s) => s.on_message(msg),
            Self::Receive(r) => r.on_message(msg),
        }
    }

    fn poll_transmit(&mut self, buffered_amount: usize) -> Option<Transmit> {
        match self {
            Self::Send(s) => s.poll_transmit(buffered_amount),
            Self::Receive(r) => r.poll_transmit(),
        }
    }

    fn poll_event(&mut self) -> Option<Event> {
        match self {
            Self::Send(s) => s.poll_event(),
            Self::Receive(r) => r.poll_event(),
        }
    }

    fn suspend(&mut self) {
        match self {
            Self::Send(s) => s.suspend(),
            Self::Receive(r) => r.suspend(),
        }
    }

    fn cancel(&mut self) {
        match self {
            Self::Send(s) => s.cancel(),
            Self::Receive(r) => r.cancel(),
        }
    }

    /// Finished, failed or cancelled.
    pub fn is_over(&self) -> bool {
        match self {
            Self::Send(s) => s.is_over(),
            Self::Receive(r) => r.is_over(),
        }
    }

    pub fn progress(&self) -> Progress {
        match self {
            Self::Send(s) => s.progress(),
            Self::Receive(r) => r.progress(),
        }
    }
}

struct Slot {
    transfer: Transfer,
    /// Since when its channel is closed.
    suspended_since: Option<Instant>,
}

/// Several transfers at once, each on its own `rfile-<id>` channel. A
/// transfer whose channel closes is suspended and waits [`RESUME_TIMEOUT`]
/// for a new channel with the same id; an ended one is dropped once what it
/// had to say was sent.
pub struct Transfers {
    slots: BTreeMap<TransferId, Slot>,
    max_transfers: usize,
    events: VecDeque<(TransferId, Event)>,
}

impl Transfers {
    pub fn new(max_transfers: usize) -> Self {
        Self { slots: BTreeMap::new(), max_transfers, events: VecDeque::new() }
    }

    /// Adds a transfer: `busy` past the limit, `bad_message` for an id in use.
    pub fn insert(&mut self, id: TransferId, transfer: Transfer) -> Result<(), TransferErrorCode> {
        if self.slots.contains_key(&id) {
            return Err(TransferErrorCode::BadMessage);
        }
        if self.slots.len() >= self.max_transfers {
            return Err(TransferErrorCode::Busy);
        }
        self.slots.insert(id, Slot { transfer, suspended_since: None });
        Ok(())
    }

    pub fn get_mut(&mut self, id: TransferId) -> Option<&mut Transfer> {
        self.slots.get_mut(&id).map(|s| &mut s.transfer)
    }

    pub fn ids(&self) -> Vec<TransferId> {
        self.slots.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// A text message arrived on `id`'s channel.
    pub fn on_message(&mut self, id: TransferId, msg: TransferMessage) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.transfer.on_message(msg);
            self.collect(id);
        }
    }

    /// A binary message arrived on `id`'s channel (only a receiver takes them).
    pub fn on_chunk(&mut self, id: TransferId, bytes: &[u8]) {
        if let Some(slot) = self.slots.get_mut(&id) {
            match &mut slot.transfer {
                Transfer::Receive(r) => r.on_chunk(bytes),
                Transfer::Send(s) => s.on_chunk(),
            }
            self.collect(id);
        }
    }

    /// The next message for `id`'s channel, whose `bufferedAmount` is
    /// `buffered_amount`. `None`: nothing now (ask again after the next input
    /// or when the buffered amount falls). A transfer that is over is dropped here.
    pub fn poll_transmit(&mut self, id: TransferId, buffered_amount: usize) -> Option<Transmit> {
        let slot = self.slots.get_mut(&id)?;
        if slot.suspended_since.is_some() {
            return None;
        }
        let out = slot.transfer.poll_transmit(buffered_amount);
        self.collect(id);
        if out.is_none() && self.slots.get(&id).is_some_and(|s| s.transfer.is_over()) {
            self.slots.remove(&id);
        }
        out
    }

    /// What happened to which transfer.
    pub fn poll_event(&mut self) -> Option<(TransferId, Event)> {
        self.events.pop_front()
    }

    /// `id`'s channel closed: it waits for a resume (or is dropped, when over).
    pub fn channel_closed(&mut self, id: TransferId, now: Instant) {
        let Some(slot) = self.slots.get_mut(&id) else { return };
        if slot.transfer.is_over() {
            self.slots.remove(&id);
            return;
        }
        slot.transfer.suspend();
        slot.suspended_since = Some(now);
    }

    /// A new channel for `id` (`resume` on the host, or reopened by the CSR):
    /// carry on. `unknown_transfer` when there is nothing to resume.
    pub fn resume(&mut self, id: TransferId) -> Result<(), TransferErrorCode> {
        let slot = self.slots.get_mut(&id).ok_or(TransferErrorCode::UnknownTransfer)?;
        if slot.suspended_since.is_none() {
            // The old channel's close has not been seen yet: it is gone all the same.
            slot.transfer.suspend();
        }
        let resumed = match &mut slot.transfer {
            Transfer::Send(s) => s.resume(),
            Transfer::Receive(r) => r.resume(),
        };
        if let Err(code) = resumed {
            slot.transfer.cancel();
            self.slots.remove(&id);
            self.events.push_back((id, Event::Failed(code)));
            return Err(code);
        }
        slot.suspended_since = None;
        Ok(())
    }

    /// Drops transfers suspended for longer than [`RESUME_TIMEOUT`], removing their partial files.
    pub fn expire(&mut self, now: Instant) {
        let expired: Vec<TransferId> = self
            .slots
            .iter()
            .filter(|(_, s)| {
                s.suspended_since.is_some_and(|t| now.saturating_duration_since(t) >= RESUME_TIMEOUT)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(mut slot) = self.slots.remove(&id) {
                slot.transfer.cancel();
                while slot.transfer.poll_event().is_some() {}
                self.events.push_back((id, Event::Expired));
            }
        }
    }

    /// Fails `id` with `code` (a message that could not be read: `bad_message`):
    /// `error` goes to the other side, partial files are removed.
    pub fn fail(&mut self, id: TransferId, code: TransferErrorCode) {
        if let Some(slot) = self.slots.get_mut(&id) {
            match &mut slot.transfer {
                Transfer::Send(s) => s.fail(code),
                Transfer::Receive(r) => r.refuse(code),
            }
            self.collect(id);
        }
    }

    /// Cancels `id`: `cancel` goes to the other side, partial files are removed.
    pub fn cancel(&mut self, id: TransferId) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.transfer.cancel();
            self.collect(id);
        }
    }

    /// "End file transfer": cancels every transfer.
    pub fn cancel_all(&mut self) {
        for id in self.ids() {
            self.cancel(id);
        }
    }

    pub fn progress(&self, id: TransferId) -> Option<Progress> {
        self.slots.get(&id).map(|s| s.transfer.progress())
    }

    fn collect(&mut self, id: TransferId) {
        if let Some(slot) = self.slots.get_mut(&id) {
            while let Some(e) = slot.transfer.poll_event() {
                self.events.push_back((id, e));
            }
        }
    }
}

#[cfg(test)]
mod tests;
