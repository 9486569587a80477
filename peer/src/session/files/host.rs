//! The customer's side of file transfer: `remote-files` and `system-info`
//! requests, the person's prompts, and the transfers a CSR asks for.

use std::time::{Instant, SystemTime};

use tandem_wire::channels::remote_files::{
    ManifestEntry, RemoteFilesMessage, RemotePath, TransferErrorCode, TransferMessage, paginate,
};
use tandem_wire::channels::system_info::{InfoRefusal, SystemInfoMessage};
use tandem_wire::channels::{RequestId, TransferId, label};
use tandem_wire::{ConsentOutcome, ParticipantId, ToolRecord, TransferOutcome};
use tokio::sync::mpsc;
use webrtc::data_channel::RTCDataChannelId;

use super::super::{Event, State, emit};
use super::*;
use crate::PeerError;
use crate::consent::Scope;
use crate::files::disk::{self, DiskSink};
use crate::files::transfer::{DEFAULT_MAX_TRANSFERS, Receiver, ReceiverConfig, Sender, Transfer};
use crate::link::TransferData;
use crate::sysinfo_report::Facts;

impl State {
    // -----------------------------------------------------------------------
    // messages on `remote-files` and `system-info`

    pub(in crate::session) async fn on_remote_files(
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
                    self.host_close(from, TransferErrorCode::Ended, ConsentOutcome::Stopped, events).await?;
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

    pub(in crate::session) async fn on_system_info(
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
    pub(super) fn files_refusal(&self, from: ParticipantId) -> Option<TransferErrorCode> {
        if self.consent.view_scope(from) == Some(Scope::Application) {
            return Some(TransferErrorCode::ApplicationSharingActive);
        }
        match self.files.hosted.get(&from) {
            Some(h) if h.grant.is_some() => None,
            _ => Some(TransferErrorCode::NotOpen),
        }
    }

    pub(super) async fn reply_files(
        &self,
        to: ParticipantId,
        message: RemoteFilesMessage,
    ) -> Result<(), PeerError> {
        if let Some(link) = self.links.get(&to)
            && !link.send_on(label::REMOTE_FILES, &message).await.unwrap_or(false)
        {
            tracing::warn!(%to, "remote-files channel not open; reply dropped");
        }
        Ok(())
    }

    pub(super) async fn reply_info(&self, to: ParticipantId, message: &SystemInfoMessage) {
        if let Some(link) = self.links.get(&to)
            && !link.send_on(label::SYSTEM_INFO, message).await.unwrap_or(false)
        {
            tracing::warn!(%to, "system-info channel not open; reply dropped");
        }
    }

    pub(super) async fn send_opened(&mut self, to: ParticipantId) -> Result<(), PeerError> {
        let max_transfer_bytes = self.files.config.max_transfer_bytes;
        let roots = match self.files.roots() {
            Ok(r) => r.wire_roots(),
            Err(_) => return Ok(()),
        };
        self.reply_files(to, RemoteFilesMessage::Opened { roots, max_transfer_bytes }).await
    }

    /// Ends file transfer with `with` on the host: transfers cancelled (partial
    /// files removed), grants ended, `closed {code}` sent.
    pub(super) async fn host_close(
        &mut self,
        with: ParticipantId,
        code: TransferErrorCode,
        ended_by: ConsentOutcome,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
        let was_open = hosted.grant.is_some() || hosted.asking.is_some();
        if hosted.grant.is_some() {
            self.files.record_access(with, ended_by);
            emit(events, Event::FilesAccess { with, open: false }).await;
        }
        let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
        // Held ones too: their `cancel` goes out now.
        hosted.held.clear();
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
    pub(in crate::session) async fn files_stop_all(
        &mut self,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let open: Vec<ParticipantId> = self.files.hosted.keys().copied().collect();
        for with in open {
            self.host_close(with, TransferErrorCode::Ended, ConsentOutcome::Revoked, events).await?;
        }
        Ok(())
    }

    /// After any consent change: a CSR who now views or controls one of this
    /// machine's applications loses file transfer (TOOL-5).
    pub(in crate::session) async fn files_check_application_sharing(
        &mut self,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let open: Vec<ParticipantId> =
            self.files.hosted.iter().filter(|(_, h)| h.in_use()).map(|(id, _)| *id).collect();
        for with in open {
            if self.consent.view_scope(with) == Some(Scope::Application) {
                let code = TransferErrorCode::ApplicationSharingActive;
                self.host_close(with, code, ConsentOutcome::Revoked, events).await?;
            }
        }
        Ok(())
    }

    /// Shows the person a prompt for `ask`; the answer comes to [`State::files_decide`].
    pub(super) async fn files_ask(
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
        if let (Ask::Transfer(id), FilesAsk::Transfer(summary)) = (ask, &shown)
            && let Some(h) = self.files.hosted.get_mut(&from)
        {
            h.summaries.insert(id, summary.clone());
        }
        let name = self.names.get(&from).cloned().unwrap_or_else(|| from.to_string());
        emit(events, Event::FilesPrompt { from, name, request_id, ask: shown }).await;
        request_id
    }

    /// A prompt's use is over (the transfer ended, file transfer closed): a prompt still shown closes.
    pub(super) async fn files_end_ask(
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
    pub(in crate::session) async fn files_decide(
        &mut self,
        from: ParticipantId,
        request_id: RequestId,
        allowed: bool,
        events: &mpsc::Sender<Event>,
    ) -> Result<bool, PeerError> {
        let (ask, since) = match self.files.asks.get(&(from, request_id)).copied() {
            Some(entry) => entry,
            // Not ours: a consent request (its ids are the requester's).
            None => return Ok(false),
        };
        if since.is_none() {
            // Ours, already answered: a late second answer changes nothing.
            return Ok(true);
        }
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
    pub(super) async fn files_answer(
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
                let outcome = if allowed { ConsentOutcome::Allowed } else { ConsentOutcome::Denied };
                if allowed {
                    hosted.grant = Some(request_id);
                    self.files.record_access(with, outcome);
                    emit(events, Event::FilesAccess { with, open: true }).await;
                    self.send_opened(with).await?;
                } else {
                    self.files.record_access(with, outcome);
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
                    // Held (a new peer connection): it carries on where it was.
                    hosted.held.remove(&id);
                    if let Some(summary) = hosted.summaries.get(&id) {
                        let summary = summary.clone();
                        emit(events, Event::HostTransfer { with, id, summary }).await;
                    }
                    let Some(hosted) = self.files.hosted.get_mut(&with) else { return Ok(()) };
                    if let Some(waiting) = hosted.waiting.remove(&id) {
                        if let Err(code) = hosted.transfers.insert(id, Transfer::Send(waiting.sender)) {
                            self.send_transfer_error(with, id, code).await;
                        }
                    } else if let Some(Transfer::Receive(r)) = hosted.transfers.get_mut(id)
                        && r.is_ready()
                    {
                        r.start();
                    }
                    self.pump(Side::Host, with, id, events).await?;
                } else {
                    hosted.transfer_asks.remove(&id);
                    // (An upload's refusal and a running transfer's end are recorded as they end.)
                    if hosted.held.remove(&id) {
                        // Not allowed again after a new peer connection: `error {denied}` goes to
                        // the CSR, partial files are removed on both sides.
                        hosted.transfers.fail(id, TransferErrorCode::Denied);
                        self.pump(Side::Host, with, id, events).await?;
                    } else if hosted.waiting.remove(&id).is_some() {
                        self.files.record_transfer(with, id, TransferOutcome::Denied);
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
                        Ok(facts) => {
                            let report = Box::new(facts.report(options, SystemTime::now()));
                            let outcome = ConsentOutcome::Allowed;
                            let record = ToolRecord::SystemInfo { outcome, report: Some(report.clone()) };
                            self.files.records.push((with, record));
                            SystemInfoMessage::Report { request_id: info_id, report }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "collecting system information failed");
                            SystemInfoMessage::Refused { request_id: info_id, reason: InfoRefusal::Other }
                        }
                    }
                } else {
                    let record = ToolRecord::SystemInfo { outcome: ConsentOutcome::Denied, report: None };
                    self.files.records.push((with, record));
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
    pub(super) fn transfer_summary(
        &mut self,
        from: ParticipantId,
        id: TransferId,
    ) -> Option<TransferSummary> {
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

    /// The host: a message on a transfer channel a CSR opened.
    pub(super) async fn host_data(
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
                } else {
                    self.ask_held_again(from, id, events).await;
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
            TransferData::Bad(reason) if known => {
                tracing::warn!(%from, ?id, %reason, "unreadable transfer message");
                if let Some(h) = self.files.hosted.get_mut(&from) {
                    h.transfers.fail(id, TransferErrorCode::BadMessage);
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

    /// A held transfer (its peer connection was replaced) resumed on the new one: the
    /// person is asked again, with the same prompt; nothing moves before the yes.
    async fn ask_held_again(&mut self, from: ParticipantId, id: TransferId, events: &mpsc::Sender<Event>) {
        let Some(h) = self.files.hosted.get_mut(&from) else { return };
        if !h.held.contains(&id) || h.transfer_asks.contains_key(&id) {
            // Not held, or already asked (a second `resume`).
            return;
        }
        let Some(summary) = h.summaries.get(&id).cloned() else {
            // Never shown to the person (the manifest was not complete): it cannot go on.
            h.held.remove(&id);
            h.transfers.fail(id, TransferErrorCode::UnknownTransfer);
            return;
        };
        let request_id = self.files_ask(from, Ask::Transfer(id), FilesAsk::Transfer(summary), events).await;
        if let Some(h) = self.files.hosted.get_mut(&from) {
            h.transfer_asks.insert(id, request_id);
        }
    }

    pub(super) async fn host_download(
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

    pub(super) async fn host_upload(
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
    pub(super) fn host_transfer_refusal(
        &self,
        from: ParticipantId,
        id: TransferId,
    ) -> Option<TransferErrorCode> {
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

    pub(super) async fn send_transfer_error(
        &self,
        to: ParticipantId,
        id: TransferId,
        code: TransferErrorCode,
    ) {
        if let Some(link) = self.links.get(&to) {
            let _ = link.send_transfer_text(id, &TransferMessage::Error { code }).await;
        }
    }
}
