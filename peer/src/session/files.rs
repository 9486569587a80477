//! Advanced file transfer (TOOL-5) and system information (TOOL-7) in the
//! session, both sides (`docs/file-transfer.md`):
//!
//! - **Host** (the customer's machine): `open` on `remote-files` and every
//!   transfer (`download` / `upload` on `rfile-<id>`) and every `system-info`
//!   request are asked of the person ([`Event::FilesPrompt`], answered with
//!   [`Command::Decide`](super::Command::Decide), denied after the consent
//!   prompt's 30 s); their own protocol carries the answer back. Paths are confined to
//!   the granted roots ([`crate::files::sandbox`]); refused while the CSR views
//!   or controls one of this machine's applications.
//! - **Client** (the CSR): the [`Command`](super::Command)s open, list,
//!   download, upload, cancel, close; listings, progress, hashes and ends come
//!   back as [`Event`]s.
//!
//! `files/host.rs` is the customer's side, `files/client.rs` the CSR's; this
//! file holds what both share. Either side runs the pure [`Transfers`] state
//! machines; this is their shell: channel messages in, [`Transmit`]s out on the link, within the
//! channel's buffered amount (a transfer waits for
//! [`LinkEvent::TransferDrained`](crate::link::LinkEvent::TransferDrained) or
//! the next tick).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use tandem_wire::channels::remote_files::{
    RelativePath, RemoteFilesMessage, TransferErrorCode, TransferMessage,
};
use tandem_wire::channels::system_info::{InfoRequestId, SystemInfoMessage};
use tandem_wire::channels::{RequestId, Sha256Hex, TransferId};
use tandem_wire::{ConsentOutcome, ItemName, ParticipantId, ToolRecord, TransferDirection, TransferOutcome};
use tokio::sync::mpsc;

use super::{Event, State, emit};
use crate::PeerError;
use crate::consent::PROMPT_TIMEOUT;
use crate::files::sandbox::{Resolver, Roots};
use crate::files::transfer::{
    DEFAULT_MAX_TRANSFERS, Event as TransferEvent, Progress, Sender, SenderConfig, Transfer, Transfers,
    Transmit,
};
use crate::link::{LinkEvent, LinkEvents, TransferData};
use crate::sysinfo_report::ReportOptions;

mod client;
mod host;

/// The customer's side of file transfer: what may be seen and how much may move.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// The folders a CSR may browse (at most 16); default: the home folder.
    pub roots: Vec<PathBuf>,
    /// The cap on one transfer's total size, bytes.
    pub max_transfer_bytes: u64,
    /// How a sender paces itself (window, chunk size, high-water mark).
    pub sender: SenderConfig,
    /// Include MAC addresses in the system report (the customer agreed).
    pub report: ReportOptions,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            roots: std::env::var_os("HOME").map(PathBuf::from).into_iter().collect(),
            max_transfer_bytes: 16 * 1024 * 1024 * 1024,
            sender: SenderConfig::default(),
            report: ReportOptions::default(),
        }
    }
}

/// Which way a transfer goes, seen from the CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the customer's machine to the CSR's.
    Download,
    /// From the CSR's machine to the customer's.
    Upload,
}

/// One transfer as the customer is asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSummary {
    pub direction: Direction,
    /// The file or folder (its name), for people.
    pub item: String,
    /// Where it lands (upload: the folder on this machine), for people.
    pub place: String,
    pub files: u32,
    pub bytes: u64,
    /// Existing files would be replaced (upload with `overwrite`).
    pub overwrite: bool,
}

/// What the person at this machine is asked ([`Event::FilesPrompt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesAsk {
    /// Advanced file transfer: the CSR may browse these folders and ask for transfers.
    Open { roots: Vec<String> },
    /// One transfer.
    Transfer(TransferSummary),
    /// This machine's system information, once.
    SystemInfo,
}

/// Progress events per transfer: at most about this many.
const PROGRESS_STEPS: u64 = 16;

/// Prompt ids of file transfer, apart from the ids requesters choose on the `consent` channel.
const PROMPT_IDS: u32 = 0x8000_0000;

/// What a local consent request was for.
#[derive(Debug, Clone, Copy)]
enum Ask {
    Open,
    Transfer(TransferId),
    SystemInfo(InfoRequestId),
}

/// A download allowed by nobody yet: its sender is built, waiting for the yes.
struct WaitingDownload {
    sender: Sender<Box<dyn crate::files::transfer::FileSource + Send + Sync>>,
}

/// One CSR, on the host.
struct Hosted {
    /// The `file_transfer` grant, while file transfer is open.
    grant: Option<RequestId>,
    /// The open prompt, while asked.
    asking: Option<RequestId>,
    transfers: Transfers,
    /// Each transfer's own yes (or the prompt for it).
    transfer_asks: HashMap<TransferId, RequestId>,
    waiting: HashMap<TransferId, WaitingDownload>,
    /// Where each upload lands (for people) and whether it may replace files.
    uploads: HashMap<TransferId, (String, bool)>,
    info_asking: Option<RequestId>,
    /// What the person was asked about each transfer, for the session report once it is over.
    summaries: HashMap<TransferId, TransferSummary>,
    /// Transfers of a peer connection since replaced: nothing moves until the
    /// person allows each again (asked when its `resume` comes on the new one).
    held: HashSet<TransferId>,
}

impl Hosted {
    fn new() -> Self {
        Self {
            grant: None,
            asking: None,
            transfers: Transfers::new(DEFAULT_MAX_TRANSFERS),
            transfer_asks: HashMap::new(),
            waiting: HashMap::new(),
            uploads: HashMap::new(),
            info_asking: None,
            summaries: HashMap::new(),
            held: HashSet::new(),
        }
    }

    /// Whether anything of file transfer with this CSR is open, asked or running.
    fn in_use(&self) -> bool {
        self.grant.is_some()
            || self.asking.is_some()
            || !self.transfers.is_empty()
            || !self.waiting.is_empty()
    }
}

/// What the CSR's side keeps about one of its transfers.
struct Mine {
    /// The first message for a new channel: `download`, `upload`, or `resume` after a loss.
    first: TransferMessage,
    /// Sent the first message on the current channel.
    started: bool,
    /// Last `file_end` seen (receiver) per file index.
    hashes: HashMap<u32, Sha256Hex>,
    /// The manifest's paths (receiver), once complete.
    paths: Vec<RelativePath>,
}

/// One host, on the CSR's side.
struct Remote {
    transfers: Transfers,
    mine: HashMap<TransferId, Mine>,
    /// Messages for `remote-files` / `system-info` waiting for the channel to open.
    outbox: Vec<Outgoing>,
}

enum Outgoing {
    Files(RemoteFilesMessage),
    Info(SystemInfoMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Host,
    Client,
}

/// Both sides' file transfer state, owned by the session.
pub(super) struct Files {
    config: FilesConfig,
    /// The granted roots, opened on the first `open` (`Err`: why they could not be).
    roots: Option<Result<Roots, String>>,
    hosted: HashMap<ParticipantId, Hosted>,
    /// What each prompt was for; `Some(since)` while it waits for the answer.
    asks: HashMap<(ParticipantId, RequestId), (Ask, Option<Instant>)>,
    next_prompt: u32,
    remote: HashMap<ParticipantId, Remote>,
    /// Progress already reported, per transfer: (last confirmed bytes reported, latest progress).
    progress: HashMap<(Side, ParticipantId, TransferId), (u64, Progress)>,
    /// Records for the session report (ADM-2), waiting for the session loop to send them.
    records: Vec<(ParticipantId, ToolRecord)>,
}

impl Files {
    pub(super) fn new(config: FilesConfig) -> Self {
        Self {
            config,
            roots: None,
            hosted: HashMap::new(),
            asks: HashMap::new(),
            next_prompt: 0,
            remote: HashMap::new(),
            progress: HashMap::new(),
            records: Vec::new(),
        }
    }

    /// The records for the session report since the last call, in order.
    pub(super) fn take_records(&mut self) -> Vec<(ParticipantId, ToolRecord)> {
        std::mem::take(&mut self.records)
    }

    /// Records advanced file transfer's consent or end with `with`.
    fn record_access(&mut self, with: ParticipantId, outcome: ConsentOutcome) {
        self.records.push((with, ToolRecord::FileAccess { outcome }));
    }

    /// Records how transfer `id` with `with` ended, once (what the person was asked about it).
    fn record_transfer(&mut self, with: ParticipantId, id: TransferId, outcome: TransferOutcome) {
        let Some(summary) = self.hosted.get_mut(&with).and_then(|h| h.summaries.remove(&id)) else { return };
        let item = ItemName::parse(summary.item.as_str())
            .or_else(|_| ItemName::parse("(unnamed)"))
            .expect("a valid name");
        let direction = match summary.direction {
            Direction::Download => TransferDirection::Download,
            Direction::Upload => TransferDirection::Upload,
        };
        let record =
            ToolRecord::Transfer { direction, item, files: summary.files, bytes: summary.bytes, outcome };
        self.records.push((with, record));
    }

    fn transfers(&mut self, side: Side, with: ParticipantId) -> Option<&mut Transfers> {
        match side {
            Side::Host => self.hosted.get_mut(&with).map(|h| &mut h.transfers),
            Side::Client => self.remote.get_mut(&with).map(|r| &mut r.transfers),
        }
    }

    fn roots(&mut self) -> Result<&Roots, String> {
        if self.roots.is_none() {
            let granted = Roots::grant(&self.config.roots, Resolver::detect()).map_err(|e| e.to_string());
            self.roots = Some(granted);
        }
        match self.roots.as_ref().expect("set above") {
            Ok(r) => Ok(r),
            Err(e) => Err(e.clone()),
        }
    }
}

impl State {
    // -----------------------------------------------------------------------
    // transfer channels

    pub(in crate::session) async fn on_transfer_link(
        &mut self,
        event: LinkEvent,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match event {
            LinkEvent::TransferOpen { with, id, stream, channel } => {
                tracing::debug!(%with, ?id, stream, "transfer channel open");
                let Some(link) = self.links.get_mut(&with) else { return Ok(()) };
                link.transfer_open(id, channel);
                // Ours (the CSR's): say what it is for, then carry on.
                let Some(remote) = self.files.remote.get_mut(&with) else { return Ok(()) };
                let Some(mine) = remote.mine.get_mut(&id) else { return Ok(()) };
                if mine.started {
                    return Ok(());
                }
                mine.started = true;
                let first = mine.first.clone();
                let resuming = matches!(first, TransferMessage::Resume {});
                if let Some(link) = self.links.get(&with) {
                    link.send_transfer_text(id, &first).await?;
                }
                if resuming
                    && let Some(remote) = self.files.remote.get_mut(&with)
                    && let Err(code) = remote.transfers.resume(id)
                {
                    tracing::info!(%with, ?id, ?code, "the transfer could not resume");
                }
                self.pump(Side::Client, with, id, events).await?;
            }
            LinkEvent::Transfer { from, id, stream, data } => {
                let Some(link) = self.links.get_mut(&from) else { return Ok(()) };
                if link.transfer_stream(id) != Some(stream) {
                    if link.is_replacement(id, stream)
                        && data == TransferData::Text(TransferMessage::Resume {})
                    {
                        // The CSR carries on here: from now on this is the transfer's channel.
                        tracing::debug!(%from, ?id, stream, "the transfer moves to a new channel");
                        link.promote_transfer(id);
                    } else {
                        // What was still in flight on a channel since replaced.
                        if let TransferData::Text(m) = &data {
                            tracing::debug!(%from, ?id, stream, ?m, "dropped: not the transfer's channel");
                        }
                        return Ok(());
                    }
                }
                if self.files.remote.get(&from).is_some_and(|r| r.mine.contains_key(&id)) {
                    self.client_data(from, id, data, events).await?;
                } else {
                    self.host_data(from, id, stream, data, events).await?;
                }
            }
            LinkEvent::TransferDrained { with, id } => {
                for side in [Side::Client, Side::Host] {
                    self.pump(side, with, id, events).await?;
                }
            }
            LinkEvent::TransferClosed { with, id, stream } => {
                let current = match self.links.get_mut(&with) {
                    Some(link) => link.transfer_closed(id, stream),
                    None => false,
                };
                if !current {
                    return Ok(());
                }
                let now = Instant::now();
                if let Some(remote) = self.files.remote.get_mut(&with)
                    && remote.transfers.get_mut(id).is_some()
                {
                    // Lost under us: suspend, and carry on over a new channel.
                    remote.transfers.channel_closed(id, now);
                    if let Some(mine) = remote.mine.get_mut(&id) {
                        mine.first = TransferMessage::Resume {};
                        mine.started = false;
                    }
                    tracing::info!(%with, ?id, "transfer channel lost; resuming on a new one");
                    if let Some(link) = self.links.get_mut(&with)
                        && let Err(e) = link.open_transfer(id, link_tx).await
                    {
                        tracing::info!(%with, ?id, error = %e, "no new channel now; resume or cancel later");
                    }
                } else if let Some(hosted) = self.files.hosted.get_mut(&with) {
                    hosted.transfers.channel_closed(id, now);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends what transfer `id` with `with` has to send, as far as the
    /// channel's buffered amount allows, then reports what happened.
    async fn pump(
        &mut self,
        side: Side,
        with: ParticipantId,
        id: TransferId,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let held = side == Side::Host && self.files.hosted.get(&with).is_some_and(|h| h.held.contains(&id));
        if !held
            && let Some(link) = self.links.get(&with)
            && let Some(transfers) = match side {
                Side::Host => self.files.hosted.get_mut(&with).map(|h| &mut h.transfers),
                Side::Client => self.files.remote.get_mut(&with).map(|r| &mut r.transfers),
            }
        {
            // The channel's buffered amount is read from webrtc (under the connection's lock,
            // which its driver needs too) only when the estimate from what was sent says stop:
            // once per round of sending, not once per chunk.
            let mut estimate: Option<usize> = None;
            loop {
                let fresh = estimate.is_none();
                let buffered = match estimate {
                    Some(b) => b,
                    None => match link.transfer_buffered(id).await {
                        Some(b) => b,
                        None => break,
                    },
                };
                if let Some(p) = transfers.progress(id) {
                    self.files.progress.entry((side, with, id)).or_insert((0, p)).1 = p;
                }
                let Some(transmit) = transfers.poll_transmit(id, buffered) else {
                    if fresh {
                        break;
                    }
                    estimate = None;
                    continue;
                };
                estimate = Some(
                    buffered
                        + match &transmit {
                            Transmit::Chunk(bytes) => bytes.len(),
                            Transmit::Text(_) => 0,
                        },
                );
                if let Transmit::Text(TransferMessage::FileEnd { index, sha256 }) = &transmit {
                    tracing::debug!(%with, ?id, index, ?sha256, "file sent");
                }
                let sent = match transmit {
                    Transmit::Text(message) => link.send_transfer_text(id, &message).await,
                    Transmit::Chunk(bytes) => link.send_transfer_chunk(id, bytes).await,
                };
                match sent {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::info!(%with, ?id, error = %e, "transfer channel send failed");
                        break;
                    }
                }
            }
        }
        self.transfer_events(side, with, events).await
    }

    /// Reports what happened to the transfers with `with` on `side`.
    async fn transfer_events(
        &mut self,
        side: Side,
        with: ParticipantId,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let mut happened = Vec::new();
        let mut ready = Vec::new();
        if let Some(transfers) = self.files.transfers(side, with) {
            while let Some((id, event)) = transfers.poll_event() {
                happened.push((id, event));
            }
            for id in transfers.ids() {
                if let Some(p) = transfers.progress(id) {
                    ready.push((id, p));
                }
            }
        }
        for (id, p) in ready {
            let entry = self.files.progress.entry((side, with, id)).or_insert((0, p));
            entry.1 = p;
            let step = (p.total_bytes / PROGRESS_STEPS).max(1024 * 1024);
            if p.confirmed_bytes >= entry.0 + step {
                entry.0 = p.confirmed_bytes;
                emit(events, Event::TransferProgress { with, id, progress: p }).await;
            }
        }
        for (id, event) in happened {
            match event {
                TransferEvent::ManifestReady => self.manifest_ready(side, with, id, events).await?,
                TransferEvent::FileDone { index } => {
                    let mine = self.files.remote.get(&with).and_then(|r| r.mine.get(&id));
                    let path = mine.and_then(|m| m.paths.get(index as usize).cloned());
                    let hash = mine.and_then(|m| m.hashes.get(&index).cloned());
                    if side == Side::Client
                        && let (Some(path), Some(sha256)) = (path, hash)
                    {
                        emit(events, Event::TransferFile { with, id, path, sha256 }).await;
                    }
                }
                TransferEvent::Finished => {
                    if side == Side::Host {
                        self.files.record_transfer(with, id, TransferOutcome::Completed);
                    }
                    let progress =
                        self.files.progress.remove(&(side, with, id)).map(|(_, p)| p).unwrap_or_default();
                    self.transfer_over(side, with, id, events).await;
                    emit(events, Event::TransferFinished { with, id, progress }).await;
                }
                TransferEvent::Failed(code) => {
                    tracing::info!(?side, %with, ?id, ?code, "transfer failed");
                    if side == Side::Host {
                        let outcome = match code {
                            TransferErrorCode::Denied => TransferOutcome::Denied,
                            TransferErrorCode::Ended => TransferOutcome::Cancelled,
                            _ => TransferOutcome::Failed,
                        };
                        self.files.record_transfer(with, id, outcome);
                    }
                    self.files.progress.remove(&(side, with, id));
                    self.transfer_over(side, with, id, events).await;
                    emit(events, Event::TransferFailed { with, id, code }).await;
                }
                TransferEvent::Cancelled | TransferEvent::Expired => {
                    if side == Side::Host {
                        self.files.record_transfer(with, id, TransferOutcome::Cancelled);
                    }
                    self.files.progress.remove(&(side, with, id));
                    self.transfer_over(side, with, id, events).await;
                    emit(events, Event::TransferFailed { with, id, code: TransferErrorCode::Ended }).await;
                }
            }
        }
        Ok(())
    }

    /// A receiver has the whole manifest: the CSR's starts at once (its own
    /// command was the yes); the host's checks the targets and asks the person.
    async fn manifest_ready(
        &mut self,
        side: Side,
        with: ParticipantId,
        id: TransferId,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(transfers) = self.files.transfers(side, with) else { return Ok(()) };
        let Some(Transfer::Receive(receiver)) = transfers.get_mut(id) else { return Ok(()) };
        if let Err(code) = receiver.preflight() {
            receiver.refuse(code);
            return Ok(());
        }
        match side {
            Side::Client => {
                let paths = receiver.manifest().map(|m| m.entries().iter().map(|e| e.path.clone()).collect());
                receiver.start();
                if let Some(mine) = self.files.remote.get_mut(&with).and_then(|r| r.mine.get_mut(&id)) {
                    mine.paths = paths.unwrap_or_default();
                }
            }
            Side::Host => {
                let Some(summary) = self.transfer_summary(with, id) else { return Ok(()) };
                let request_id =
                    self.files_ask(with, Ask::Transfer(id), FilesAsk::Transfer(summary), events).await;
                if let Some(h) = self.files.hosted.get_mut(&with) {
                    h.transfer_asks.insert(id, request_id);
                }
            }
        }
        Ok(())
    }

    /// Transfer `id` is over: its yes ends (host), its channel closes (the CSR closes it).
    async fn transfer_over(
        &mut self,
        side: Side,
        with: ParticipantId,
        id: TransferId,
        events: &mpsc::Sender<Event>,
    ) {
        match side {
            Side::Host => {
                if let Some(h) = self.files.hosted.get_mut(&with) {
                    h.uploads.remove(&id);
                    h.held.remove(&id);
                    if let Some(request_id) = h.transfer_asks.remove(&id) {
                        self.files_end_ask(with, request_id, events).await;
                    }
                }
            }
            Side::Client => {
                if let Some(r) = self.files.remote.get_mut(&with) {
                    r.mine.remove(&id);
                }
                if let Some(link) = self.links.get_mut(&with) {
                    link.retire_transfer(id);
                }
            }
        }
    }

    /// Every second: transfers whose channel stayed closed too long are dropped;
    /// senders blocked on a full channel get another go (no low-water event is lost for good).
    pub(in crate::session) async fn files_tick(
        &mut self,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let now = Instant::now();
        let expired: Vec<(ParticipantId, RequestId)> = self
            .files
            .asks
            .iter()
            .filter(|(_, (_, since))| {
                since.is_some_and(|t| now.saturating_duration_since(t) >= PROMPT_TIMEOUT)
            })
            .map(|(k, _)| *k)
            .collect();
        for (from, request_id) in expired {
            // No answer in time is a no.
            self.files_decide(from, request_id, false, events).await?;
        }
        let mut all = Vec::new();
        for (with, h) in &mut self.files.hosted {
            h.transfers.expire(now);
            all.extend(h.transfers.ids().into_iter().map(|id| (Side::Host, *with, id)));
        }
        for (with, r) in &mut self.files.remote {
            r.transfers.expire(now);
            all.extend(r.transfers.ids().into_iter().map(|id| (Side::Client, *with, id)));
        }
        for (side, with, id) in all {
            self.pump(side, with, id, events).await?;
        }
        Ok(())
    }

    /// The link to `with` was replaced by a new peer connection (reconnect.rs): the
    /// transfers carry on over the new one from the receiver's place (§5), and
    /// what was allowed over the old one ends.
    ///
    /// - The CSR's side: each transfer is suspended and its channel opened again
    ///   on the new connection (it waits there until SCTP is up); `resume` goes out
    ///   when it opens. Browsing ends (`FilesClosed {not_open}`): `open` again.
    /// - The host: the file access grant ends (`gone`), every prompt closes, a
    ///   download nobody allowed yet is dropped (its `resume` gets
    ///   `unknown_transfer`); every other transfer is held, suspended, and
    ///   asked again when its `resume` comes ([`RESUME_TIMEOUT`] as for any lost channel).
    ///
    /// [`RESUME_TIMEOUT`]: crate::files::transfer::RESUME_TIMEOUT
    pub(in crate::session) async fn files_link_lost(
        &mut self,
        with: ParticipantId,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let now = Instant::now();
        if let Some(remote) = self.files.remote.get_mut(&with) {
            remote.outbox.clear();
            for id in remote.transfers.ids() {
                let Some(mine) = remote.mine.get_mut(&id) else { continue };
                // One whose first message never went out starts on the new connection as it would have.
                if mine.started {
                    remote.transfers.channel_closed(id, now);
                    mine.first = TransferMessage::Resume {};
                    mine.started = false;
                }
            }
            let ids = remote.transfers.ids();
            if let Some(link) = self.links.get_mut(&with) {
                for id in ids {
                    link.open_transfer(id, link_tx).await?;
                }
            }
            emit(events, Event::FilesClosed { with, code: TransferErrorCode::NotOpen }).await;
        }
        let Some(h) = self.files.hosted.get_mut(&with) else { return Ok(()) };
        let granted = h.grant.is_some();
        let mut asks: Vec<RequestId> = h.grant.take().into_iter().chain(h.asking.take()).collect();
        asks.extend(h.info_asking.take());
        let unanswered: Vec<TransferId> = h.waiting.drain().map(|(id, _)| id).collect();
        for id in h.transfers.ids() {
            h.transfers.channel_closed(id, now);
        }
        h.held.extend(h.transfers.ids());
        for id in unanswered.iter().chain(h.held.iter()) {
            asks.extend(h.transfer_asks.remove(id));
        }
        tracing::info!(%with, held = ?h.held, dropped = ?unanswered, "new peer connection: transfers held");
        for id in unanswered {
            self.files.record_transfer(with, id, TransferOutcome::Cancelled);
        }
        if granted {
            self.files.record_access(with, ConsentOutcome::Gone);
            emit(events, Event::FilesAccess { with, open: false }).await;
        }
        for request_id in asks {
            self.files_end_ask(with, request_id, events).await;
        }
        Ok(())
    }

    /// `with` left: everything with them ends (partial files removed).
    pub(in crate::session) fn files_forget(&mut self, with: ParticipantId) {
        if let Some(h) = self.files.hosted.get(&with) {
            let open = h.grant.is_some();
            let mut ids: Vec<TransferId> = h.summaries.keys().copied().collect();
            ids.sort_by_key(|id| id.0);
            for id in ids {
                self.files.record_transfer(with, id, TransferOutcome::Cancelled);
            }
            if open {
                self.files.record_access(with, ConsentOutcome::Gone);
            }
        }
        if let Some(mut h) = self.files.hosted.remove(&with) {
            h.transfers.cancel_all();
        }
        if let Some(mut r) = self.files.remote.remove(&with) {
            r.transfers.cancel_all();
        }
        self.files.asks.retain(|(p, _), _| *p != with);
        self.files.progress.retain(|(_, p, _), _| *p != with);
    }
}
