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
//! Either side runs the pure [`Transfers`] state machines; this file is their
//! shell: channel messages in, [`Transmit`]s out on the link, within the
//! channel's buffered amount (a transfer waits for
//! [`LinkEvent::TransferDrained`](crate::link::LinkEvent::TransferDrained) or
//! the next tick).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use tandem_wire::ParticipantId;
use tandem_wire::channels::remote_files::{
    ListId, ManifestEntry, RelativePath, RemoteFilesMessage, RemotePath, RootId, TransferErrorCode,
    TransferMessage, paginate,
};
use tandem_wire::channels::system_info::{InfoRefusal, InfoRequestId, SystemInfoMessage};
use tandem_wire::channels::{RequestId, Sha256Hex, TransferId, label};
use tokio::sync::mpsc;
use webrtc::data_channel::RTCDataChannelId;

use super::{Event, State, emit};
use crate::PeerError;
use crate::consent::{PROMPT_TIMEOUT, Scope};
use crate::files::disk::{self, DiskSink};
use crate::files::sandbox::{Resolver, Roots};
use crate::files::transfer::{
    DEFAULT_MAX_TRANSFERS, Event as TransferEvent, Progress, Receiver, ReceiverConfig, Sender, SenderConfig,
    Transfer, Transfers, Transmit,
};
use crate::link::{LinkEvent, TransferData};
use crate::sysinfo_report::{Facts, ReportOptions};

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
        }
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
        }
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
    // the CSR's commands

    /// Asks `to` for advanced file transfer (`open`); the answer is [`Event::FilesOpened`] or [`Event::FilesClosed`].
    pub(super) async fn files_open(
        &mut self,
        to: ParticipantId,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Files(RemoteFilesMessage::Open {}), link_tx).await
    }

    /// Lists a folder of `to`'s.
    pub(super) async fn files_list(
        &mut self,
        to: ParticipantId,
        list_id: ListId,
        path: RemotePath,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Files(RemoteFilesMessage::List { list_id, path }), link_tx).await
    }

    /// "End file transfer": as the CSR, `close` goes to `with`; as the host,
    /// everything of `with`'s ends (`closed {ended}`).
    pub(super) async fn files_close(
        &mut self,
        with: ParticipantId,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        if self.files.hosted.get(&with).is_some_and(|h| h.grant.is_some() || h.asking.is_some()) {
            return self.host_close(with, TransferErrorCode::Ended, events).await;
        }
        if let Some(remote) = self.files.remote.get_mut(&with) {
            remote.transfers.cancel_all();
            for id in remote.transfers.ids() {
                self.pump(Side::Client, with, id, events).await?;
            }
        }
        self.send_files(with, Outgoing::Files(RemoteFilesMessage::Close {}), link_tx).await
    }

    /// Asks `to` for its system information; the answer is [`Event::SystemInfo`] or [`Event::SystemInfoRefused`].
    pub(super) async fn system_info_request(
        &mut self,
        to: ParticipantId,
        request_id: InfoRequestId,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Info(SystemInfoMessage::Request { request_id }), link_tx).await
    }

    /// Downloads `path` of `from`'s into the local folder `into` as transfer `id`.
    pub(super) async fn files_download(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        path: RemotePath,
        into: PathBuf,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let sink = Roots::grant(&[into], Resolver::detect())
            .and_then(|r| r.path(&RemotePath { root: RootId(0), path: RelativePath::root() })?.open_dir());
        let sink = match sink {
            Ok(dir) => DiskSink::new(dir),
            Err(e) => {
                tracing::warn!(error = %e, "download: the local folder cannot be written");
                return self.client_failed(from, id, TransferErrorCode::WriteFailed, events).await;
            }
        };
        let receiver = Receiver::new(
            Box::new(sink) as Box<dyn crate::files::transfer::FileSink + Send + Sync>,
            ReceiverConfig { max_transfer_bytes: u64::MAX, overwrite: false },
        );
        let first = TransferMessage::Download { path };
        self.client_start(from, id, Transfer::Receive(receiver), first, link_tx, events).await
    }

    /// Uploads the local file or folder `local` into `folder` of `to`'s as transfer `id`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn files_upload(
        &mut self,
        to: ParticipantId,
        id: TransferId,
        local: PathBuf,
        folder: RemotePath,
        overwrite: bool,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let plan = local_plan(&local).and_then(|(roots, item)| {
            disk::plan_download(&roots, &item, u64::MAX).map_err(|e| e.to_string())
        });
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                tracing::warn!(error = %e, path = %local.display(), "upload: the local file cannot be read");
                return self.client_failed(to, id, TransferErrorCode::ReadFailed, events).await;
            }
        };
        let source: Box<dyn crate::files::transfer::FileSource + Send + Sync> = Box::new(plan.source);
        let sender = Sender::new(plan.manifest, plan.skipped, source, self.files.config.sender);
        let first = TransferMessage::Upload { folder, overwrite };
        self.client_start(to, id, Transfer::Send(sender), first, link_tx, events).await
    }

    /// Cancels transfer `id` with `with` (either side).
    pub(super) async fn files_cancel(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        for side in [Side::Client, Side::Host] {
            if let Some(transfers) = self.files.transfers(side, with)
                && transfers.get_mut(id).is_some()
            {
                transfers.cancel(id);
                self.pump(side, with, id, events).await?;
            }
        }
        Ok(())
    }

    /// As the CSR: drops transfer `id`'s channel as a lost connection would,
    /// and carries on over a new one from where the receiver is (`resume`).
    pub(super) async fn files_interrupt(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), PeerError> {
        let Some(remote) = self.files.remote.get_mut(&with) else { return Ok(()) };
        if remote.transfers.get_mut(id).is_none() {
            return Ok(());
        }
        remote.transfers.channel_closed(id, Instant::now());
        if let Some(mine) = remote.mine.get_mut(&id) {
            mine.first = TransferMessage::Resume {};
            mine.started = false;
        }
        if let Some(link) = self.links.get_mut(&with) {
            link.abandon_transfer(id);
            link.open_transfer(id, link_tx).await?;
        }
        Ok(())
    }

    async fn client_start(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        transfer: Transfer,
        first: TransferMessage,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let remote = self.files.remote.entry(with).or_insert_with(Remote::new);
        if let Err(code) = remote.transfers.insert(id, transfer) {
            return self.client_failed(with, id, code, events).await;
        }
        remote.mine.insert(id, Mine { first, started: false, hashes: HashMap::new(), paths: Vec::new() });
        match self.links.get_mut(&with) {
            Some(link) => link.open_transfer(id, link_tx).await,
            None => {
                if let Some(remote) = self.files.remote.get_mut(&with) {
                    remote.transfers.cancel(id);
                    while remote.transfers.poll_transmit(id, 0).is_some() {}
                    remote.mine.remove(&id);
                }
                self.client_failed(with, id, TransferErrorCode::NotOpen, events).await
            }
        }
    }

    async fn client_failed(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        code: TransferErrorCode,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        emit(events, Event::TransferFailed { with, id, code }).await;
        Ok(())
    }

    /// Sends on `remote-files` / `system-info` to `to`, opening the channel first if needed.
    async fn send_files(
        &mut self,
        to: ParticipantId,
        message: Outgoing,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), PeerError> {
        let Some(link) = self.links.get_mut(&to) else {
            tracing::warn!(%to, "no connection to them: file transfer message not sent");
            return Ok(());
        };
        let sent = match &message {
            Outgoing::Files(m) => link.send_on(label::REMOTE_FILES, m).await.unwrap_or(false),
            Outgoing::Info(m) => link.send_on(label::SYSTEM_INFO, m).await.unwrap_or(false),
        };
        if !sent {
            let channel = match message {
                Outgoing::Files(_) => label::REMOTE_FILES,
                Outgoing::Info(_) => label::SYSTEM_INFO,
            };
            link.ensure_channel(channel, link_tx).await?;
            self.files.remote.entry(to).or_insert_with(Remote::new).outbox.push(message);
        }
        Ok(())
    }

    /// A `remote-files` or `system-info` channel to `with` opened: what waited goes out.
    pub(super) async fn files_channel_open(&mut self, with: ParticipantId) {
        let Some(remote) = self.files.remote.get_mut(&with) else { return };
        let waiting = std::mem::take(&mut remote.outbox);
        let Some(link) = self.links.get(&with) else { return };
        let mut unsent = Vec::new();
        for message in waiting {
            let sent = match &message {
                Outgoing::Files(m) => link.send_on(label::REMOTE_FILES, m).await.unwrap_or(false),
                Outgoing::Info(m) => link.send_on(label::SYSTEM_INFO, m).await.unwrap_or(false),
            };
            if !sent {
                unsent.push(message);
            }
        }
        if let Some(remote) = self.files.remote.get_mut(&with) {
            remote.outbox = unsent;
        }
    }

    // -----------------------------------------------------------------------
    // messages on `remote-files` and `system-info`

    pub(super) async fn on_remote_files(
        &mut self,
        from: ParticipantId,
        message: RemoteFilesMessage,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match message {
            // Host side.
            RemoteFilesMessage::Open {} => {
                if self.consent.view_scope(from) == Some(Scope::Application) {
                    let code = TransferErrorCode::ApplicationSharingActive;
                    return self.reply_files(from, RemoteFilesMessage::Closed { code }).await;
                }
                let hosted = self.files.hosted.entry(from).or_insert_with(Hosted::new);
                if hosted.grant.is_some() {
                    return self.send_opened(from).await;
                }
                if hosted.asking.is_some() {
                    return Ok(());
                }
                if let Err(e) = self.files.roots() {
                    tracing::warn!(error = %e, "file transfer: the granted folders cannot be opened");
                    let code = TransferErrorCode::NotFound;
                    return self.reply_files(from, RemoteFilesMessage::Closed { code }).await;
                }
                let roots = self.files.config.roots.iter().map(|r| r.display().to_string()).collect();
                let request_id = self.files_ask(from, Ask::Open, FilesAsk::Open { roots }, events).await;
                if let Some(h) = self.files.hosted.get_mut(&from) {
                    h.asking = Some(request_id);
                }
            }
            RemoteFilesMessage::List { list_id, path } => {
                let refused = self.files_refusal(from);
                let pages = match refused {
                    Some(code) => vec![RemoteFilesMessage::ListFailed { list_id, code }],
                    None => {
                        let listed = match self.files.roots() {
                            Ok(roots) => disk::list(roots, &path).map_err(|e| e.code()),
                            Err(_) => Err(TransferErrorCode::NotOpen),
                        };
                        match listed {
                            Ok(listing) => {
                                let unlisted = listing.unlisted;
                                paginate(listing.entries, |entries, last| RemoteFilesMessage::Listing {
                                    list_id,
                                    entries,
                                    last,
                                    unlisted: if last { unlisted } else { 0 },
                                })
                            }
                            Err(code) => vec![RemoteFilesMessage::ListFailed { list_id, code }],
                        }
                    }
                };
                for page in pages {
                    self.reply_files(from, page).await?;
                }
            }
            RemoteFilesMessage::Close {} => {
                if self.files.hosted.contains_key(&from) {
                    self.host_close(from, TransferErrorCode::Ended, events).await?;
                }
            }
            // Client side.
            RemoteFilesMessage::Opened { roots, max_transfer_bytes } => {
                emit(
                    events,
                    Event::FilesOpened { with: from, roots: roots.into_items(), max_transfer_bytes },
                )
                .await;
            }
            RemoteFilesMessage::Listing { list_id, entries, last, unlisted } => {
                let entries = entries.into_items();
                emit(events, Event::FilesListing { with: from, list_id, entries, last, unlisted }).await;
            }
            RemoteFilesMessage::ListFailed { list_id, code } => {
                emit(events, Event::FilesListFailed { with: from, list_id, code }).await;
            }
            RemoteFilesMessage::Closed { code } => {
                if let Some(remote) = self.files.remote.get_mut(&from) {
                    remote.transfers.cancel_all();
                    for id in remote.transfers.ids() {
                        self.pump(Side::Client, from, id, events).await?;
                    }
                }
                emit(events, Event::FilesClosed { with: from, code }).await;
            }
        }
        Ok(())
    }

    pub(super) async fn on_system_info(
        &mut self,
        from: ParticipantId,
        message: SystemInfoMessage,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match message {
            SystemInfoMessage::Request { request_id } => {
                let hosted = self.files.hosted.entry(from).or_insert_with(Hosted::new);
                if hosted.info_asking.is_some() {
                    let refused = SystemInfoMessage::Refused { request_id, reason: InfoRefusal::Busy };
                    self.reply_info(from, &refused).await;
                    return Ok(());
                }
                let ask_id =
                    self.files_ask(from, Ask::SystemInfo(request_id), FilesAsk::SystemInfo, events).await;
                if let Some(h) = self.files.hosted.get_mut(&from) {
                    h.info_asking = Some(ask_id);
                }
            }
            SystemInfoMessage::Report { report, .. } => {
                emit(events, Event::SystemInfo { from, report }).await;
            }
            SystemInfoMessage::Refused { reason, .. } => {
                emit(events, Event::SystemInfoRefused { from, reason }).await;
            }
        }
        Ok(())
    }

    /// Why `from` may not use file transfer now, if they may not.
    fn files_refusal(&self, from: ParticipantId) -> Option<TransferErrorCode> {
        if self.consent.view_scope(from) == Some(Scope::Application) {
            return Some(TransferErrorCode::ApplicationSharingActive);
        }
        match self.files.hosted.get(&from) {
            Some(h) if h.grant.is_some() => None,
            _ => Some(TransferErrorCode::NotOpen),
        }
    }

    async fn reply_files(&self, to: ParticipantId, message: RemoteFilesMessage) -> Result<(), PeerError> {
        if let Some(link) = self.links.get(&to)
            && !link.send_on(label::REMOTE_FILES, &message).await.unwrap_or(false)
        {
            tracing::warn!(%to, "remote-files channel not open; reply dropped");
        }
        Ok(())
    }

    async fn reply_info(&self, to: ParticipantId, message: &SystemInfoMessage) {
        if let Some(link) = self.links.get(&to)
            && !link.send_on(label::SYSTEM_INFO, message).await.unwrap_or(false)
        {
            tracing::warn!(%to, "system-info channel not open; reply dropped");
        }
    }

    async fn send_opened(&mut self, to: ParticipantId) -> Result<(), PeerError> {
        let max_transfer_bytes = self.files.config.max_transfer_bytes;
        let roots = match self.files.roots() {
            Ok(r) => r.wire_roots(),
            Err(_) => return Ok(()),
        };
        self.reply_files(to, RemoteFilesMessage::Opened { roots, max_transfer_bytes }).await
    }

    /// Ends file transfer with `with` on the host: transfers cancelled (partial
    /// files removed), grants ended, `closed {code}` sent.
    async fn host_close(
        &mut self,
        with: ParticipantId,
        code: TransferErrorCode,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
        let was_open = hosted.grant.is_some() || hosted.asking.is_some();
        hosted.transfers.cancel_all();
        hosted.waiting.clear();
        let ids = hosted.transfers.ids();
        let mut asks: Vec<RequestId> = hosted.transfer_asks.drain().map(|(_, r)| r).collect();
        asks.extend(hosted.grant.take());
        asks.extend(hosted.asking.take());
        for id in ids {
            self.pump(Side::Host, with, id, events).await?;
        }
        for request_id in asks {
            self.files_end_ask(with, request_id, events).await;
        }
        if was_open {
            self.reply_files(with, RemoteFilesMessage::Closed { code }).await?;
        }
        Ok(())
    }

    /// The person's Stop: file transfer ends with everyone.
    pub(super) async fn files_stop_all(&mut self, events: &mpsc::Sender<Event>) -> Result<(), PeerError> {
        let open: Vec<ParticipantId> = self.files.hosted.keys().copied().collect();
        for with in open {
            self.host_close(with, TransferErrorCode::Ended, events).await?;
        }
        Ok(())
    }

    /// After any consent change: a CSR who now views or controls one of this
    /// machine's applications loses file transfer (TOOL-5).
    pub(super) async fn files_check_application_sharing(
        &mut self,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let open: Vec<ParticipantId> = self
            .files
            .hosted
            .iter()
            .filter(|(_, h)| h.grant.is_some() || h.asking.is_some())
            .map(|(id, _)| *id)
            .collect();
        for with in open {
            if self.consent.view_scope(with) == Some(Scope::Application) {
                self.host_close(with, TransferErrorCode::ApplicationSharingActive, events).await?;
            }
        }
        Ok(())
    }

    /// Shows the person a prompt for `ask`; the answer comes to [`State::files_decide`].
    async fn files_ask(
        &mut self,
        from: ParticipantId,
        ask: Ask,
        shown: FilesAsk,
        events: &mpsc::Sender<Event>,
    ) -> RequestId {
        let request_id = loop {
            self.files.next_prompt = self.files.next_prompt.wrapping_add(1) & !PROMPT_IDS;
            let id = RequestId(PROMPT_IDS | self.files.next_prompt);
            if !self.files.asks.contains_key(&(from, id)) {
                break id;
            }
        };
        self.files.asks.insert((from, request_id), (ask, Some(Instant::now())));
        let name = self.names.get(&from).cloned().unwrap_or_else(|| from.to_string());
        emit(events, Event::FilesPrompt { from, name, request_id, ask: shown }).await;
        request_id
    }

    /// A prompt's use is over (the transfer ended, file transfer closed): a prompt still shown closes.
    async fn files_end_ask(
        &mut self,
        with: ParticipantId,
        request_id: RequestId,
        events: &mpsc::Sender<Event>,
    ) {
        if let Some((_, Some(_))) = self.files.asks.remove(&(with, request_id)) {
            emit(events, Event::ConsentPromptClosed { from: with, request_id }).await;
        }
    }

    /// The person answered prompt `request_id`; `false` when it is not a file transfer prompt.
    pub(super) async fn files_decide(
        &mut self,
        from: ParticipantId,
        request_id: RequestId,
        allowed: bool,
        events: &mpsc::Sender<Event>,
    ) -> Result<bool, PeerError> {
        let Some((ask, Some(_))) = self.files.asks.get(&(from, request_id)).copied() else {
            return Ok(request_id.0 & PROMPT_IDS != 0);
        };
        if allowed {
            self.files.asks.insert((from, request_id), (ask, None));
        } else {
            self.files.asks.remove(&(from, request_id));
        }
        emit(events, Event::ConsentPromptClosed { from, request_id }).await;
        self.files_answer(from, request_id, ask, allowed, events).await?;
        Ok(true)
    }

    /// Carries out the person's answer to a file transfer, transfer or system information prompt.
    async fn files_answer(
        &mut self,
        with: ParticipantId,
        request_id: RequestId,
        ask: Ask,
        allowed: bool,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match ask {
            Ask::Open => {
                let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
                if hosted.asking != Some(request_id) {
                    return Ok(());
                }
                hosted.asking = None;
                if allowed {
                    hosted.grant = Some(request_id);
                    self.send_opened(with).await?;
                } else {
                    let code = TransferErrorCode::Denied;
                    self.reply_files(with, RemoteFilesMessage::Closed { code }).await?;
                }
            }
            Ask::Transfer(id) => {
                let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
                if hosted.transfer_asks.get(&id) != Some(&request_id) {
                    return Ok(());
                }
                if allowed {
                    if let Some(waiting) = hosted.waiting.remove(&id) {
                        if let Err(code) = hosted.transfers.insert(id, Transfer::Send(waiting.sender)) {
                            self.send_transfer_error(with, id, code).await;
                        }
                    } else if let Some(Transfer::Receive(r)) = hosted.transfers.get_mut(id) {
                        r.start();
                    }
                    self.pump(Side::Host, with, id, events).await?;
                } else {
                    hosted.transfer_asks.remove(&id);
                    if hosted.waiting.remove(&id).is_some() {
                        self.send_transfer_error(with, id, TransferErrorCode::Denied).await;
                    } else if let Some(Transfer::Receive(r)) = hosted.transfers.get_mut(id) {
                        r.refuse(TransferErrorCode::Denied);
                        self.pump(Side::Host, with, id, events).await?;
                    } else if hosted.transfers.get_mut(id).is_some() {
                        // A running transfer whose yes ended (Stop, or the CSR gone).
                        hosted.transfers.cancel(id);
                        self.pump(Side::Host, with, id, events).await?;
                    }
                }
            }
            Ask::SystemInfo(info_id) => {
                if let Some(h) = self.files.hosted.get_mut(&with)
                    && h.info_asking == Some(request_id)
                {
                    h.info_asking = None;
                } else {
                    return Ok(());
                }
                let reply = if allowed {
                    let options = self.files.config.report;
                    let facts = tokio::task::spawn_blocking(Facts::collect).await;
                    match facts {
                        Ok(facts) => SystemInfoMessage::Report {
                            request_id: info_id,
                            report: Box::new(facts.report(options, SystemTime::now())),
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "collecting system information failed");
                            SystemInfoMessage::Refused { request_id: info_id, reason: InfoRefusal::Other }
                        }
                    }
                } else {
                    SystemInfoMessage::Refused { request_id: info_id, reason: InfoRefusal::Denied }
                };
                self.reply_info(with, &reply).await;
                // A one-time grant: it ends once the report is out.
                self.files.asks.remove(&(with, request_id));
            }
        }
        Ok(())
    }

    /// The details of a per-transfer prompt.
    fn transfer_summary(&mut self, from: ParticipantId, id: TransferId) -> Option<TransferSummary> {
        let hosted = self.files.hosted.get_mut(&from)?;
        let (direction, manifest, (place, overwrite)) = if let Some(w) = hosted.waiting.get(&id) {
            (Direction::Download, w.sender.manifest().clone(), (String::new(), false))
        } else {
            let target = hosted.uploads.get(&id).cloned().unwrap_or_default();
            let Some(Transfer::Receive(r)) = hosted.transfers.get_mut(id) else { return None };
            (Direction::Upload, r.manifest()?.clone(), target)
        };
        let entries: &[ManifestEntry] = manifest.entries();
        let item = entries.first().map(|e| e.path.as_str().to_owned()).unwrap_or_default();
        let files =
            entries.iter().filter(|e| e.kind == tandem_wire::channels::remote_files::ItemKind::File).count();
        Some(TransferSummary {
            direction,
            item,
            place,
            files: files as u32,
            bytes: manifest.total_bytes(),
            overwrite,
        })
    }

    // -----------------------------------------------------------------------
    // transfer channels

    pub(super) async fn on_transfer_link(
        &mut self,
        event: LinkEvent,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
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

    /// The CSR: a message on one of its transfers.
    async fn client_data(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        data: TransferData,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(remote) = self.files.remote.get_mut(&from) else { return Ok(()) };
        match data {
            TransferData::Text(message) => {
                if let TransferMessage::FileEnd { index, sha256 } = &message
                    && let Some(mine) = remote.mine.get_mut(&id)
                {
                    mine.hashes.insert(*index, sha256.clone());
                }
                remote.transfers.on_message(id, message);
            }
            TransferData::Chunk(bytes) => remote.transfers.on_chunk(id, &bytes),
        }
        self.pump(Side::Client, from, id, events).await
    }

    /// The host: a message on a transfer channel a CSR opened.
    async fn host_data(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        _stream: RTCDataChannelId,
        data: TransferData,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let known = self.files.hosted.get_mut(&from).is_some_and(|h| h.transfers.get_mut(id).is_some());
        match data {
            TransferData::Text(TransferMessage::Download { path }) if !known => {
                self.host_download(from, id, path, events).await?;
            }
            TransferData::Text(TransferMessage::Upload { folder, overwrite }) if !known => {
                self.host_upload(from, id, folder, overwrite).await?;
            }
            TransferData::Text(TransferMessage::Resume {}) => {
                let resumed = match self.files.hosted.get_mut(&from) {
                    Some(h) if self.consent.view_scope(from) != Some(Scope::Application) => {
                        h.transfers.resume(id)
                    }
                    _ => Err(TransferErrorCode::UnknownTransfer),
                };
                if let Err(code) = resumed {
                    self.send_transfer_error(from, id, code).await;
                }
            }
            TransferData::Text(message) if known => {
                if let Some(h) = self.files.hosted.get_mut(&from) {
                    h.transfers.on_message(id, message);
                }
            }
            TransferData::Chunk(bytes) if known => {
                if let Some(h) = self.files.hosted.get_mut(&from) {
                    h.transfers.on_chunk(id, &bytes);
                }
            }
            TransferData::Text(TransferMessage::Cancel {} | TransferMessage::Error { .. }) => {
                // A transfer waiting for the person's answer, withdrawn.
                if let Some(h) = self.files.hosted.get_mut(&from)
                    && h.waiting.remove(&id).is_some()
                    && let Some(request_id) = h.transfer_asks.remove(&id)
                {
                    self.files_end_ask(from, request_id, events).await;
                }
                return Ok(());
            }
            _ => {
                self.send_transfer_error(from, id, TransferErrorCode::BadMessage).await;
                return Ok(());
            }
        }
        self.pump(Side::Host, from, id, events).await
    }

    async fn host_download(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        path: RemotePath,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        if let Some(code) = self.host_transfer_refusal(from, id) {
            self.send_transfer_error(from, id, code).await;
            return Ok(());
        }
        let max = self.files.config.max_transfer_bytes;
        let planned = match self.files.roots() {
            Ok(roots) => disk::plan_download(roots, &path, max).map_err(|e| e.code),
            Err(_) => Err(TransferErrorCode::NotOpen),
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(code) => {
                self.send_transfer_error(from, id, code).await;
                return Ok(());
            }
        };
        let source: Box<dyn crate::files::transfer::FileSource + Send + Sync> = Box::new(plan.source);
        let sender = Sender::new(plan.manifest, plan.skipped, source, self.files.config.sender);
        let Some(h) = self.files.hosted.get_mut(&from) else { return Ok(()) };
        h.waiting.insert(id, WaitingDownload { sender });
        let Some(summary) = self.transfer_summary(from, id) else { return Ok(()) };
        let request_id = self.files_ask(from, Ask::Transfer(id), FilesAsk::Transfer(summary), events).await;
        if let Some(h) = self.files.hosted.get_mut(&from) {
            h.transfer_asks.insert(id, request_id);
        }
        Ok(())
    }

    async fn host_upload(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        folder: RemotePath,
        overwrite: bool,
    ) -> Result<(), PeerError> {
        if let Some(code) = self.host_transfer_refusal(from, id) {
            self.send_transfer_error(from, id, code).await;
            return Ok(());
        }
        let max_transfer_bytes = self.files.config.max_transfer_bytes;
        let dir = match self.files.roots() {
            Ok(roots) => roots.path(&folder).and_then(|p| p.open_dir()).map_err(|e| e.code()),
            Err(_) => Err(TransferErrorCode::NotOpen),
        };
        let dir = match dir {
            Ok(dir) => dir,
            Err(code) => {
                self.send_transfer_error(from, id, code).await;
                return Ok(());
            }
        };
        let sink: Box<dyn crate::files::transfer::FileSink + Send + Sync> = Box::new(DiskSink::new(dir));
        let receiver = Receiver::new(sink, ReceiverConfig { max_transfer_bytes, overwrite });
        let place = format!(
            "{}/{}",
            self.files
                .config
                .roots
                .get(folder.root.0 as usize)
                .map(|r| r.display().to_string())
                .unwrap_or_default(),
            folder.path.as_str()
        );
        let inserted = match self.files.hosted.get_mut(&from) {
            Some(h) => {
                h.uploads.insert(id, (place.trim_end_matches('/').to_owned(), overwrite));
                h.transfers.insert(id, Transfer::Receive(receiver))
            }
            None => Err(TransferErrorCode::NotOpen),
        };
        if let Err(code) = inserted {
            self.send_transfer_error(from, id, code).await;
        }
        Ok(())
    }

    /// Why `from` may not start transfer `id` now, if they may not.
    fn host_transfer_refusal(&self, from: ParticipantId, id: TransferId) -> Option<TransferErrorCode> {
        if let Some(code) = self.files_refusal(from) {
            return Some(code);
        }
        let hosted = self.files.hosted.get(&from)?;
        if hosted.waiting.contains_key(&id) {
            return Some(TransferErrorCode::BadMessage);
        }
        if hosted.transfers.len() + hosted.waiting.len() >= DEFAULT_MAX_TRANSFERS {
            return Some(TransferErrorCode::Busy);
        }
        None
    }

    async fn send_transfer_error(&self, to: ParticipantId, id: TransferId, code: TransferErrorCode) {
        if let Some(link) = self.links.get(&to) {
            let _ = link.send_transfer_text(id, &TransferMessage::Error { code }).await;
        }
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
        if let Some(link) = self.links.get(&with)
            && let Some(transfers) = match side {
                Side::Host => self.files.hosted.get_mut(&with).map(|h| &mut h.transfers),
                Side::Client => self.files.remote.get_mut(&with).map(|r| &mut r.transfers),
            }
        {
            loop {
                let Some(buffered) = link.transfer_buffered(id).await else { break };
                if let Some(p) = transfers.progress(id) {
                    self.files.progress.entry((side, with, id)).or_insert((0, p)).1 = p;
                }
                let Some(transmit) = transfers.poll_transmit(id, buffered) else { break };
                let sent = match &transmit {
                    Transmit::Text(message) => link.send_transfer_text(id, message).await,
                    Transmit::Chunk(bytes) => link.send_transfer_chunk(id, bytes).await,
                };
                if let Transmit::Text(TransferMessage::FileEnd { index, sha256 }) = &transmit {
                    tracing::debug!(%with, ?id, index, ?sha256, "file sent");
                }
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
                    let progress =
                        self.files.progress.remove(&(side, with, id)).map(|(_, p)| p).unwrap_or_default();
                    self.transfer_over(side, with, id, events).await;
                    emit(events, Event::TransferFinished { with, id, progress }).await;
                }
                TransferEvent::Failed(code) => {
                    tracing::info!(?side, %with, ?id, ?code, "transfer failed");
                    self.files.progress.remove(&(side, with, id));
                    self.transfer_over(side, with, id, events).await;
                    emit(events, Event::TransferFailed { with, id, code }).await;
                }
                TransferEvent::Cancelled | TransferEvent::Expired => {
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
    pub(super) async fn files_tick(&mut self, events: &mpsc::Sender<Event>) -> Result<(), PeerError> {
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

    /// `with` left: everything with them ends (partial files removed).
    pub(super) fn files_forget(&mut self, with: ParticipantId) {
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

impl Remote {
    fn new() -> Self {
        Self { transfers: Transfers::new(usize::MAX), mine: HashMap::new(), outbox: Vec::new() }
    }
}

/// A local file or folder as a one-root sandbox and the path of the item below it.
fn local_plan(local: &std::path::Path) -> Result<(Roots, RemotePath), String> {
    let parent = local.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = local.file_name().and_then(|n| n.to_str()).ok_or("no file name")?;
    let path = RelativePath::parse(name).map_err(|e| e.to_string())?;
    let roots = Roots::grant(&[parent.to_path_buf()], Resolver::detect()).map_err(|e| e.to_string())?;
    Ok((roots, RemotePath { root: RootId(0), path }))
}
