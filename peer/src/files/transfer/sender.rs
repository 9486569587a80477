//! The sending end: manifest pages, then file by file, within the window.

use std::collections::VecDeque;

use sha2::{Digest, Sha256};
use tandem_wire::channels::Sha256Hex;
use tandem_wire::channels::remote_files::{
    MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, MIN_WINDOW_BYTES, ManifestEntry, TransferErrorCode, TransferMessage,
    paginate,
};

use super::{Event, FileSource, Manifest, Position, Progress, Transmit, digest_hex};

/// How a sender paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Bytes per binary message, 16..=64 KiB.
    pub chunk_bytes: usize,
    /// Most bytes sent and not yet acknowledged; at least [`MIN_WINDOW_BYTES`].
    pub window_bytes: u64,
    /// Send nothing while the channel buffers more than this (its `bufferedAmount`).
    pub high_water_bytes: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self { chunk_bytes: MAX_CHUNK_BYTES, window_bytes: 4 * 1024 * 1024, high_water_bytes: 1024 * 1024 }
    }
}

impl SenderConfig {
    /// The same, brought within the protocol's bounds.
    fn clamped(self) -> Self {
        let chunk_bytes = self.chunk_bytes.clamp(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
        Self {
            chunk_bytes,
            window_bytes: self.window_bytes.max(MIN_WINDOW_BYTES),
            high_water_bytes: self.high_water_bytes.max(chunk_bytes),
        }
    }
}

/// The file being sent.
struct Cursor {
    index: u32,
    /// Next byte to send.
    offset: u64,
    /// SHA-256 of bytes `0..offset`.
    hasher: Sha256,
    opened: bool,
    announced: bool,
}

impl Cursor {
    fn at(index: u32, offset: u64, hasher: Sha256) -> Self {
        Self { index, offset, hasher, opened: false, announced: false }
    }
}

enum State {
    /// Waiting for the receiver's `start` (first, or after a resume).
    AwaitStart,
    Sending(Cursor),
    /// Everything sent; waiting for the last ack.
    Draining,
    Suspended,
    Finished,
    Failed,
    Cancelled,
}

/// One transfer's sending end.
pub struct Sender<S> {
    pub(super) source: S,
    manifest: Manifest,
    cfg: SenderConfig,
    state: State,
    texts: VecDeque<TransferMessage>,
    /// Manifest pages not yet handed out.
    pages_left: usize,
    events: VecDeque<Event>,
    acked: Position,
    /// Just after the last thing sent.
    sent: Position,
    /// The hash state after each chunk still in flight (and the last acknowledged one):
    /// a resume checks the receiver's prefix from here instead of from byte 0.
    checkpoints: VecDeque<(Position, Sha256)>,
    sent_bytes: u64,
    buf: Vec<u8>,
}

impl<S: FileSource> Sender<S> {
    /// A sender of `manifest` (files read from `source`); the manifest pages
    /// are its first messages. `skipped` counts what a folder held that does not travel.
    pub fn new(manifest: Manifest, skipped: u32, source: S, cfg: SenderConfig) -> Self {
        let cfg = cfg.clamped();
        let texts: VecDeque<TransferMessage> = paginate(manifest.entries().to_vec(), |entries, last| {
            TransferMessage::Manifest { entries, last, skipped: if last { skipped } else { 0 } }
        })
        .into();
        Self {
            source,
            pages_left: texts.len(),
            manifest,
            cfg,
            state: State::AwaitStart,
            texts,
            events: VecDeque::new(),
            acked: Position::default(),
            sent: Position::default(),
            checkpoints: VecDeque::new(),
            sent_bytes: 0,
            buf: vec![0; cfg.chunk_bytes],
        }
    }

    /// A message from the receiver.
    pub fn on_message(&mut self, msg: TransferMessage) {
        if self.is_over() || matches!(self.state, State::Suspended) {
            return;
        }
        match msg {
            TransferMessage::Start { index, offset, prefix_sha256 }
                if matches!(self.state, State::AwaitStart) =>
            {
                self.start_at(Position { index, offset }, prefix_sha256)
            }
            TransferMessage::Ack { index, offset } => self.on_ack(Position { index, offset }),
            TransferMessage::Cancel {} => {
                self.texts.clear();
                self.state = State::Cancelled;
                self.events.push_back(Event::Cancelled);
            }
            TransferMessage::Error { code } => {
                self.texts.clear();
                self.state = State::Failed;
                self.events.push_back(Event::Failed(code));
            }
            _ => self.fail(TransferErrorCode::BadMessage),
        }
    }

    /// A binary message reached the sending end: a protocol error.
    pub fn on_chunk(&mut self) {
        if !self.is_over() {
            self.fail(TransferErrorCode::BadMessage);
        }
    }

    /// The next message to send, given the channel's `bufferedAmount`.
    pub fn poll_transmit(&mut self, buffered_amount: usize) -> Option<Transmit> {
        if let Some(text) = self.texts.pop_front() {
            if matches!(text, TransferMessage::Manifest { .. }) {
                self.pages_left -= 1;
            }
            return Some(Transmit::Text(text));
        }
        if buffered_amount > self.cfg.high_water_bytes {
            return None;
        }
        let out = self.next_from_file();
        out.or_else(|| self.texts.pop_front().map(Transmit::Text))
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The channel closed: nothing more is sent until [`Sender::resume`].
    pub fn suspend(&mut self) {
        if !self.is_over() {
            self.texts.retain(|t| matches!(t, TransferMessage::Manifest { .. }));
            self.state = State::Suspended;
        }
    }

    /// A new channel: wait for the receiver's `start`. Fails when the
    /// receiver cannot have the whole manifest (some pages never went out).
    pub fn resume(&mut self) -> Result<(), TransferErrorCode> {
        if !matches!(self.state, State::Suspended) {
            return if self.is_over() { Err(TransferErrorCode::UnknownTransfer) } else { Ok(()) };
        }
        if self.pages_left > 0 {
            return Err(TransferErrorCode::UnknownTransfer);
        }
        self.state = State::AwaitStart;
        Ok(())
    }

    /// Stops here: the receiver is told, nothing more is read.
    pub fn cancel(&mut self) {
        if self.is_over() {
            return;
        }
        let was_suspended = matches!(self.state, State::Suspended);
        self.texts.clear();
        if !was_suspended {
            self.texts.push_back(TransferMessage::Cancel {});
        }
        self.state = State::Cancelled;
        self.events.push_back(Event::Cancelled);
    }

    pub fn is_over(&self) -> bool {
        matches!(self.state, State::Finished | State::Failed | State::Cancelled)
    }

    pub fn progress(&self) -> Progress {
        Progress {
            confirmed_bytes: self.manifest.bytes_before(self.acked),
            total_bytes: self.manifest.total_bytes(),
            sent_bytes: self.sent_bytes,
        }
    }

    /// Where the files come from.
    pub fn source(&self) -> &S {
        &self.source
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Fails the transfer here (`error {code}` goes to the receiver).
    pub fn fail(&mut self, code: TransferErrorCode) {
        if self.is_over() {
            return;
        }
        self.texts.clear();
        self.texts.push_back(TransferMessage::Error { code });
        self.state = State::Failed;
        self.events.push_back(Event::Failed(code));
    }

    fn start_at(&mut self, at: Position, prefix: Option<Sha256Hex>) {
        if !self.manifest.contains(at) || (at.offset > 0) != prefix.is_some() {
            return self.fail(TransferErrorCode::BadMessage);
        }
        let at = self.manifest.normalize(at);
        self.acked = at;
        self.sent = at;
        if at.index == self.manifest.len() {
            self.state = State::Finished;
            self.events.push_back(Event::Finished);
            return;
        }
        let cursor = match prefix {
            None => Cursor::at(at.index, 0, Sha256::new()),
            Some(prefix) => match self.check_prefix(at, &prefix) {
                Ok(Some(hasher)) => Cursor::at(at.index, at.offset, hasher),
                // The receiver's bytes are not this file's: that file starts over.
                Ok(None) => {
                    let from_zero = Position { index: at.index, offset: 0 };
                    self.acked = from_zero;
                    self.sent = from_zero;
                    Cursor::at(at.index, 0, Sha256::new())
                }
                Err(code) => return self.fail(code),
            },
        };
        // Checkpoints past the new start belong to a stream that is gone.
        self.checkpoints.retain(|(p, _)| *p <= self.sent);
        self.state = State::Sending(cursor);
    }

    /// The hash state at `at` if the file's first `at.offset` bytes hash to `prefix`.
    fn check_prefix(
        &mut self,
        at: Position,
        prefix: &Sha256Hex,
    ) -> Result<Option<Sha256>, TransferErrorCode> {
        self.open(at.index)?;
        let (mut offset, mut hasher) = self
            .checkpoints
            .iter()
            .rev()
            .find(|(p, _)| p.index == at.index && p.offset <= at.offset)
            .map(|(p, h)| (p.offset, h.clone()))
            .unwrap_or((0, Sha256::new()));
        while offset < at.offset {
            let want = (at.offset - offset).min(self.buf.len() as u64) as usize;
            let n = self.read_fully(at.index, offset, want)?;
            hasher.update(&self.buf[..n]);
            offset += n as u64;
        }
        Ok((digest_hex(&hasher) == *prefix).then_some(hasher))
    }

    fn on_ack(&mut self, p: Position) {
        if matches!(self.state, State::AwaitStart) || !self.manifest.contains(p) {
            return self.fail(TransferErrorCode::BadMessage);
        }
        let p = self.manifest.normalize(p);
        if p < self.acked || p > self.sent {
            return self.fail(TransferErrorCode::BadMessage);
        }
        self.acked = p;
        while self.checkpoints.len() > 1 && self.checkpoints[1].0 <= p {
            self.checkpoints.pop_front();
        }
        if p.index == self.manifest.len() {
            self.state = State::Finished;
            self.events.push_back(Event::Finished);
        }
    }

    /// The next `file_begin`, chunk or `file_end`, if the window allows.
    fn next_from_file(&mut self) -> Option<Transmit> {
        let State::Sending(cursor) = &self.state else { return None };
        let index = cursor.index;
        let (opened, announced, offset) = (cursor.opened, cursor.announced, cursor.offset);
        let size = self.manifest.entry(index).size;
        if !opened && let Err(code) = self.open(index) {
            self.fail(code);
            return None;
        }
        let State::Sending(cursor) = &mut self.state else { return None };
        cursor.opened = true;
        if !announced {
            cursor.announced = true;
            return Some(Transmit::Text(TransferMessage::FileBegin { index, offset }));
        }
        if offset == size {
            let sha256 = digest_hex(&cursor.hasher);
            let next = self.manifest.next_file(index + 1);
            self.sent = Position { index: next, offset: 0 };
            self.state = if next == self.manifest.len() {
                State::Draining
            } else {
                State::Sending(Cursor::at(next, 0, Sha256::new()))
            };
            return Some(Transmit::Text(TransferMessage::FileEnd { index, sha256 }));
        }
        let want = (size - offset).min(self.cfg.chunk_bytes as u64) as usize;
        let in_flight = self.manifest.bytes_before(self.sent) - self.manifest.bytes_before(self.acked);
        if in_flight + want as u64 > self.cfg.window_bytes {
            return None;
        }
        let n = match self.read_fully(index, offset, want) {
            Ok(n) => n,
            Err(code) => {
                self.fail(code);
                return None;
            }
        };
        let State::Sending(cursor) = &mut self.state else { return None };
        cursor.hasher.update(&self.buf[..n]);
        cursor.offset += n as u64;
        let at = Position { index, offset: cursor.offset };
        self.checkpoints.push_back((at, cursor.hasher.clone()));
        self.sent = at;
        self.sent_bytes += n as u64;
        Some(Transmit::Chunk(self.buf[..n].to_vec()))
    }

    /// Opens file `index` and checks it is still what the manifest says.
    fn open(&mut self, index: u32) -> Result<(), TransferErrorCode> {
        let entry: &ManifestEntry = self.manifest.entry(index);
        let meta = self.source.open(index, entry).map_err(|e| e.code)?;
        if meta.size != entry.size || meta.modified != entry.modified {
            return Err(TransferErrorCode::Changed);
        }
        Ok(())
    }

    /// Reads exactly `want` bytes at `offset` into the buffer; a file that
    /// ends early has changed.
    fn read_fully(&mut self, index: u32, offset: u64, want: usize) -> Result<usize, TransferErrorCode> {
        let mut filled = 0;
        while filled < want {
            let n = self
                .source
                .read_at(index, offset + filled as u64, &mut self.buf[filled..want])
                .map_err(|e| e.code)?;
            if n == 0 {
                return Err(TransferErrorCode::Changed);
            }
            filled += n;
        }
        Ok(filled)
    }
}
