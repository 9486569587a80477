//! The CSR's side of file transfer: its commands and what comes back on its transfers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use tandem_wire::ParticipantId;
use tandem_wire::channels::remote_files::{
    ListId, RelativePath, RemoteFilesMessage, RemotePath, RootId, TransferErrorCode, TransferMessage,
};
use tandem_wire::channels::system_info::{InfoRequestId, SystemInfoMessage};
use tandem_wire::channels::{TransferId, label};
use tokio::sync::mpsc;

use super::super::{Event, State, emit};
use super::*;
use crate::PeerError;
use crate::files::disk::{self, DiskSink};
use crate::files::sandbox::{Resolver, Roots};
use crate::files::transfer::{Receiver, ReceiverConfig, Sender, Transfer, Transfers};
use crate::link::{LinkEvents, TransferData};

impl State {
    // -----------------------------------------------------------------------
    // the CSR's commands

    /// Asks `to` for advanced file transfer (`open`); the answer is [`Event::FilesOpened`] or [`Event::FilesClosed`].
    pub(in crate::session) async fn files_open(
        &mut self,
        to: ParticipantId,
        link_tx: &LinkEvents,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Files(RemoteFilesMessage::Open {}), link_tx).await
    }

    /// Lists a folder of `to`'s.
    pub(in crate::session) async fn files_list(
        &mut self,
        to: ParticipantId,
        list_id: ListId,
        path: RemotePath,
        link_tx: &LinkEvents,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Files(RemoteFilesMessage::List { list_id, path }), link_tx).await
    }

    /// "End file transfer": as the CSR, `close` goes to `with`; as the host,
    /// everything of `with`'s ends (`closed {ended}`).
    pub(in crate::session) async fn files_close(
        &mut self,
        with: ParticipantId,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        if self.files.hosted.get(&with).is_some_and(Hosted::in_use) {
            let ended_by = tandem_wire::ConsentOutcome::Revoked;
            return self.host_close(with, TransferErrorCode::Ended, ended_by, events).await;
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
    pub(in crate::session) async fn system_info_request(
        &mut self,
        to: ParticipantId,
        request_id: InfoRequestId,
        link_tx: &LinkEvents,
    ) -> Result<(), PeerError> {
        self.send_files(to, Outgoing::Info(SystemInfoMessage::Request { request_id }), link_tx).await
    }

    /// Downloads `path` of `from`'s into the local folder `into` as transfer `id`.
    pub(in crate::session) async fn files_download(
        &mut self,
        from: ParticipantId,
        id: TransferId,
        path: RemotePath,
        into: PathBuf,
        link_tx: &LinkEvents,
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
    pub(in crate::session) async fn files_upload(
        &mut self,
        to: ParticipantId,
        id: TransferId,
        local: PathBuf,
        folder: RemotePath,
        overwrite: bool,
        link_tx: &LinkEvents,
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
    pub(in crate::session) async fn files_cancel(
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
    pub(in crate::session) async fn files_interrupt(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        link_tx: &LinkEvents,
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

    pub(super) async fn client_start(
        &mut self,
        with: ParticipantId,
        id: TransferId,
        transfer: Transfer,
        first: TransferMessage,
        link_tx: &LinkEvents,
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

    pub(super) async fn client_failed(
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
    pub(super) async fn send_files(
        &mut self,
        to: ParticipantId,
        message: Outgoing,
        link_tx: &LinkEvents,
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
    pub(in crate::session) async fn files_channel_open(&mut self, with: ParticipantId) {
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

    /// The CSR: a message on one of its transfers.
    pub(super) async fn client_data(
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
            TransferData::Bad(reason) => {
                tracing::warn!(%from, ?id, %reason, "unreadable transfer message");
                remote.transfers.fail(id, TransferErrorCode::BadMessage);
            }
        }
        self.pump(Side::Client, from, id, events).await
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
