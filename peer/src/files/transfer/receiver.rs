//! The receiving end: collects and checks the manifest, writes each file to
//! a temporary file, and renames it into place only when its SHA-256 matches.

use std::collections::VecDeque;

use sha2::{Digest, Sha256};
use tandem_wire::channels::Sha256Hex;
use tandem_wire::channels::remote_files::{
    ACK_INTERVAL_BYTES, EntryKind, ItemKind, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, TransferErrorCode,
    TransferMessage,
};

use super::{Event, FileSink, Manifest, ManifestBuilder, Position, Progress, Transmit, digest_hex};

/// What a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The cap on one transfer's total size (the customer's setting on the host).
    pub max_transfer_bytes: u64,
    /// Replace existing files: only with the customer's yes.
    pub overwrite: bool,
}

enum State {
    Manifest(ManifestBuilder),
    /// The manifest is complete; waiting for [`Receiver::start`].
    Ready(Manifest),
    Receiving(Manifest),
    Finished,
    Failed,
    Cancelled,
}

/// One transfer's receiving end.
pub struct Receiver<K> {
    pub(super) sink: K,
    cfg: ReceiverConfig,
    state: State,
    /// Entries before `pos.index` are in place; `pos.offset` bytes of file
    /// `pos.index` are in its temporary file. Always at a file or at the end.
    pos: Position,
    /// A `file_begin` for `pos.index` came and its `file_end` has not.
    in_file: bool,
    /// A temporary file exists for `pos.index`.
    temp_open: bool,
    /// SHA-256 of the bytes `0..pos.offset` of file `pos.index`.
    pub(super) hasher: Sha256,
    last_ack: Position,
    suspended: bool,
    skipped: u64,
    /// What [`Receiver::progress`] says once the transfer is over.
    ended_progress: Progress,
    texts: VecDeque<TransferMessage>,
    events: VecDeque<Event>,
}

impl<K: FileSink> Receiver<K> {
    pub fn new(sink: K, cfg: ReceiverConfig) -> Self {
        Self {
            sink,
            cfg,
            state: State::Manifest(ManifestBuilder::new(cfg.max_transfer_bytes)),
            pos: Position::default(),
            in_file: false,
            temp_open: false,
            hasher: Sha256::new(),
            last_ack: Position::default(),
            suspended: false,
            skipped: 0,
            ended_progress: Progress::default(),
            texts: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The manifest, once complete.
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.state {
            State::Ready(m) | State::Receiving(m) => Some(m),
            _ => None,
        }
    }

    /// Where the files go.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// Whether the manifest is complete and [`Receiver::start`] not called yet.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready(_))
    }

    /// Entries the sender left out (links, devices), as it counted them.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// A text message from the sender.
    pub fn on_message(&mut self, msg: TransferMessage) {
        if self.is_over() || self.suspended {
            return;
        }
        match msg {
            TransferMessage::Manifest { entries, last, skipped } => {
                self.on_manifest(entries.into_items(), last, skipped)
            }
            TransferMessage::FileBegin { index, offset } => self.on_file_begin(index, offset),
            TransferMessage::FileEnd { index, sha256 } => self.on_file_end(index, &sha256),
            TransferMessage::Cancel {} => {
                self.ended_progress = self.progress();
                self.drop_temp();
                self.texts.clear();
                self.state = State::Cancelled;
                self.events.push_back(Event::Cancelled);
            }
            TransferMessage::Error { code } => {
                self.ended_progress = self.progress();
                self.drop_temp();
                self.texts.clear();
                self.state = State::Failed;
                self.events.push_back(Event::Failed(code));
            }
            _ => self.fail(TransferErrorCode::BadMessage),
        }
    }

    /// A binary message: the next bytes of the current file.
    pub fn on_chunk(&mut self, bytes: &[u8]) {
        if self.is_over() || self.suspended {
            return;
        }
        let State::Receiving(manifest) = &self.state else { return self.fail(TransferErrorCode::BadMessage) };
        if !self.in_file {
            return self.fail(TransferErrorCode::BadMessage);
        }
        let Some(entry) = manifest.entries().get(self.pos.index as usize) else {
            return self.fail(TransferErrorCode::BadMessage);
        };
        let end = self.pos.offset + bytes.len() as u64;
        let short_before_end = bytes.len() < MIN_CHUNK_BYTES && end != entry.size;
        if bytes.is_empty() || bytes.len() > MAX_CHUNK_BYTES || end > entry.size || short_before_end {
            return self.fail(TransferErrorCode::BadMessage);
        }
        if let Err(e) = self.sink.write_at(self.pos.index, self.pos.offset, bytes) {
            return self.fail(e.code);
        }
        self.hasher.update(bytes);
        self.pos.offset = end;
        let since_ack = manifest.bytes_before(self.pos).saturating_sub(manifest.bytes_before(self.last_ack));
        if since_ack >= ACK_INTERVAL_BYTES {
            self.ack();
        }
    }

    /// Checks the targets before anything is written: nothing already there
    /// unless overwriting was allowed (and never a folder replaced by a file
    /// or the other way round), no link on the way out.
    pub fn preflight(&mut self) -> Result<(), TransferErrorCode> {
        let State::Ready(manifest) = &self.state else { return Err(TransferErrorCode::BadMessage) };
        for entry in manifest.entries() {
            let existing = self.sink.existing(&entry.path).map_err(|e| e.code)?;
            let clash = match (entry.kind, existing) {
                (_, None) | (ItemKind::Dir, Some(EntryKind::Dir)) => false,
                (ItemKind::File, Some(EntryKind::File | EntryKind::Symlink | EntryKind::Other)) => {
                    !self.cfg.overwrite
                }
                _ => true,
            };
            if clash {
                return Err(TransferErrorCode::Exists);
            }
        }
        Ok(())
    }

    /// Refuses the transfer (the customer said no, or [`Receiver::preflight`] failed).
    pub fn refuse(&mut self, code: TransferErrorCode) {
        if !self.is_over() {
            self.fail(code);
        }
    }

    /// Creates the folders and asks the sender to begin.
    pub fn start(&mut self) {
        let State::Ready(manifest) = std::mem::replace(&mut self.state, State::Failed) else {
            return self.fail(TransferErrorCode::BadMessage);
        };
        for entry in manifest.entries().iter().filter(|e| e.kind == ItemKind::Dir) {
            if let Err(e) = self.sink.create_dir(&entry.path) {
                self.state = State::Ready(manifest);
                return self.fail(e.code);
            }
        }
        self.pos = manifest.normalize(Position::default());
        self.last_ack = self.pos;
        self.texts.push_back(TransferMessage::Start {
            index: self.pos.index,
            offset: 0,
            prefix_sha256: None,
        });
        let done = self.pos.index == manifest.len();
        self.state = State::Receiving(manifest);
        if done {
            self.finish();
        }
    }

    /// The channel closed: nothing more is sent until [`Receiver::resume`].
    pub fn suspend(&mut self) {
        if !self.is_over() {
            self.suspended = true;
            self.in_file = false;
            self.texts.clear();
        }
    }

    /// A new channel: tell the sender where this end is, with the SHA-256 of
    /// the current file's prefix.
    pub fn resume(&mut self) -> Result<(), TransferErrorCode> {
        if self.is_over() {
            return Err(TransferErrorCode::UnknownTransfer);
        }
        self.suspended = false;
        match self.state {
            State::Receiving(_) => {
                let prefix_sha256 = (self.pos.offset > 0).then(|| digest_hex(&self.hasher));
                self.texts.push_back(TransferMessage::Start {
                    index: self.pos.index,
                    offset: self.pos.offset,
                    prefix_sha256,
                });
                self.last_ack = self.pos;
                Ok(())
            }
            // Not started yet: `start` will say where.
            State::Ready(_) => Ok(()),
            // Part of the manifest never came.
            _ => Err(TransferErrorCode::UnknownTransfer),
        }
    }

    /// Stops here: the sender is told, the partial file removed; files
    /// already in place stay.
    pub fn cancel(&mut self) {
        if self.is_over() {
            return;
        }
        self.ended_progress = self.progress();
        self.drop_temp();
        self.texts.clear();
        if !self.suspended {
            self.texts.push_back(TransferMessage::Cancel {});
        }
        self.state = State::Cancelled;
        self.events.push_back(Event::Cancelled);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.texts.pop_front().map(Transmit::Text)
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn is_over(&self) -> bool {
        matches!(self.state, State::Finished | State::Failed | State::Cancelled)
    }

    pub fn progress(&self) -> Progress {
        match &self.state {
            State::Ready(m) => Progress { total_bytes: m.total_bytes(), ..Progress::default() },
            State::Receiving(m) => Progress {
                confirmed_bytes: m.bytes_before(self.pos),
                total_bytes: m.total_bytes(),
                sent_bytes: 0,
            },
            _ => self.ended_progress,
        }
    }

    fn on_manifest(
        &mut self,
        entries: Vec<tandem_wire::channels::remote_files::ManifestEntry>,
        last: bool,
        skipped: u32,
    ) {
        let State::Manifest(builder) = &mut self.state else {
            return self.fail(TransferErrorCode::BadMessage);
        };
        if let Err(code) = builder.add(entries) {
            return self.fail(code);
        }
        self.skipped += u64::from(skipped);
        if last {
            let State::Manifest(builder) = std::mem::replace(&mut self.state, State::Failed) else { return };
            self.state = State::Ready(builder.finish());
            self.events.push_back(Event::ManifestReady);
        }
    }

    fn on_file_begin(&mut self, index: u32, offset: u64) {
        let State::Receiving(manifest) = &self.state else { return self.fail(TransferErrorCode::BadMessage) };
        if self.in_file || index != self.pos.index || index == manifest.len() {
            return self.fail(TransferErrorCode::BadMessage);
        }
        let path = manifest.entries()[index as usize].path.clone();
        if offset == 0 && (self.pos.offset > 0 || !self.temp_open) {
            // A new file, or the sender found our prefix was not its file's: from zero.
            if let Err(e) = self.sink.begin(index, &path) {
                return self.fail(e.code);
            }
            self.temp_open = true;
            self.pos.offset = 0;
            self.last_ack = self.last_ack.min(self.pos);
            self.hasher = Sha256::new();
        } else if offset != self.pos.offset || !self.temp_open {
            return self.fail(TransferErrorCode::BadMessage);
        }
        self.in_file = true;
    }

    fn on_file_end(&mut self, index: u32, sha256: &Sha256Hex) {
        let State::Receiving(manifest) = &self.state else { return self.fail(TransferErrorCode::BadMessage) };
        let Some(entry) = manifest.entries().get(self.pos.index as usize) else {
            return self.fail(TransferErrorCode::BadMessage);
        };
        if !self.in_file || index != self.pos.index || self.pos.offset != entry.size {
            return self.fail(TransferErrorCode::BadMessage);
        }
        if digest_hex(&self.hasher) != *sha256 {
            return self.fail(TransferErrorCode::HashMismatch);
        }
        let path = entry.path.clone();
        if let Err(e) = self.sink.commit(index, &path, self.cfg.overwrite) {
            return self.fail(e.code);
        }
        self.temp_open = false;
        self.in_file = false;
        self.events.push_back(Event::FileDone { index });
        self.pos = manifest.normalize(Position { index: index + 1, offset: 0 });
        self.hasher = Sha256::new();
        let done = self.pos.index == manifest.len();
        self.ack();
        if done {
            self.finish();
        }
    }

    fn ack(&mut self) {
        self.last_ack = self.pos;
        self.texts.push_back(TransferMessage::Ack { index: self.pos.index, offset: self.pos.offset });
    }

    fn finish(&mut self) {
        self.ended_progress = self.progress();
        self.state = State::Finished;
        self.events.push_back(Event::Finished);
    }

    fn drop_temp(&mut self) {
        if self.temp_open {
            self.sink.discard(self.pos.index);
            self.temp_open = false;
        }
    }

    fn fail(&mut self, code: TransferErrorCode) {
        self.ended_progress = self.progress();
        self.drop_temp();
        self.texts.clear();
        self.texts.push_back(TransferMessage::Error { code });
        self.state = State::Failed;
        self.events.push_back(Event::Failed(code));
    }
}
