//! The session task: owns the signaling connection and one [`Link`] per remote
//! participant, and turns server messages, link events and user commands into
//! each other. The application talks to it over two channels.
//!
//! A participant's link may be replaced by a new peer connection while they stay
//! in the session (their offer from a new connection, or [`Command::Reconnect`]):
//! see `reconnect.rs`. Only the current link's events count (each carries its
//! [`LinkEpoch`]); what they were allowed ends and is asked again, and file
//! transfers carry on over the new connection (`docs/file-transfer.md` §5).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_wire::channels::remote_files::{
    DirEntry, ListId, RelativePath, RemotePath, Root, TransferErrorCode,
};
use tandem_wire::channels::system_info::{InfoRefusal, InfoRequestId, SystemReport};
use tandem_wire::channels::{
    Capability, ChatMessage, ConsentMessage, MediaMessage, RequestId, Sha256Hex, TransferId, label,
};
use tandem_wire::{
    ChatText, ClientMessage, EndReason, ErrorCode, IceServer, InviteToken, ParticipantId, ParticipantInfo,
    Role, Sdp, ServerMessage, SessionInfo, ToolRecord,
};
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::PeerError;
use crate::consent::{Action, ConsentBook, Policy, Scope};
use crate::control::x11::X11Injector;
use crate::control::{InputGate, Surface};
use crate::files::transfer::Progress;
use crate::link::{Incoming, Link, LinkConfig, LinkEpoch, LinkEvent, LinkEvents, Path};
use crate::media::{Media, MediaKind};
use crate::negotiation::makes_offer;
use crate::signaling::{Connection, Entry};
use crate::turn_tunnel::IceRoutes;

mod files;
mod reconnect;
mod screen;
use crate::video::x11_window::X11Windows;
use crate::video::{DisplayMode, WindowId};
pub use files::{Direction, FilesAsk, FilesConfig, TransferSummary};

/// Consent messages kept per participant while its consent channel is not open.
const MAX_PENDING_CONSENT: usize = 32;

/// How often the selected candidate pairs are checked for a change worth reporting.
const PATH_CHECK: Duration = Duration::from_secs(5);

/// How often file transfers are looked at without an event (expiry; a sender
/// waiting on a full channel whose low-water event was missed).
const FILES_TICK: Duration = Duration::from_millis(200);

/// What the application asks of the session.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Chat to everyone (empty `to`) or to the chosen participants.
    Chat { text: ChatText, to: Vec<ParticipantId> },
    /// Let a waiting customer in (primary CSR).
    Admit(ParticipantId),
    /// Turn a waiting customer away (primary CSR).
    Refuse(ParticipantId),
    /// Leave the session (the primary CSR's leave ends it).
    Leave,
    /// End the session for everyone (primary CSR only).
    End,
    /// The person at this machine answered a consent prompt. `window`: the application
    /// window they picked, for `view_application` / `control_application` (`None` otherwise).
    Decide {
        from: ParticipantId,
        request_id: RequestId,
        allowed: bool,
        window: Option<crate::video::WindowId>,
    },
    /// The person at this machine ends everything they allowed and every
    /// `share_*` they offered (the indicator's Stop): nobody sees or controls this screen.
    StopAll,
    /// Offer this machine's screen (`share_view`) or its control (`share_control`) to every
    /// customer in the session (SHR-3/4, the CSR's side); each one is asked.
    Share { capability: Capability },
    /// Ask `to` for a capability (e.g. to show them this machine's screen: `share_view`).
    RequestConsent { to: ParticipantId, capability: Capability },
    /// Report a participant to the site (X-5, "End session and report").
    Report { about: ParticipantId },
    /// As a viewer: ask `to` to encode the screen it shows us in this mode (SHR-11).
    SetDisplayMode { to: ParticipantId, mode: tandem_wire::channels::DisplayMode },
    /// As a controller: input for `to`'s screen (sent only once `to` allowed control; the
    /// control channels open on first use, and what is sent before they are open is dropped).
    Control { to: ParticipantId, message: tandem_wire::channels::ControlMessage },
    /// As a CSR: ask `to` for advanced file transfer (TOOL-5); [`Event::FilesOpened`] or [`Event::FilesClosed`].
    FilesOpen { to: ParticipantId },
    /// As a CSR: list a folder of `to`'s; [`Event::FilesListing`] pages or [`Event::FilesListFailed`].
    FilesList { to: ParticipantId, list_id: ListId, path: RemotePath },
    /// As a CSR: download a file or folder of `from`'s into the local folder `into` (its tree kept).
    FilesDownload { from: ParticipantId, id: TransferId, path: RemotePath, into: std::path::PathBuf },
    /// As a CSR: upload the local file or folder `local` into `folder` of `to`'s.
    FilesUpload {
        to: ParticipantId,
        id: TransferId,
        local: std::path::PathBuf,
        folder: RemotePath,
        overwrite: bool,
    },
    /// Cancel a transfer (either side): partial files are removed.
    FilesCancel { with: ParticipantId, id: TransferId },
    /// "End file transfer" (either side): every transfer with `with` stops.
    FilesClose { with: ParticipantId },
    /// As a CSR: drop transfer `id`'s channel as a lost connection would and carry on over
    /// a new one from the last confirmed place (`resume`): for "retry" and for tests.
    FilesInterrupt { with: ParticipantId, id: TransferId },
    /// As a CSR: ask `to` for its system information (TOOL-7); [`Event::SystemInfo`] or
    /// [`Event::SystemInfoRefused`].
    RequestSystemInfo { to: ParticipantId, request_id: InfoRequestId },
    /// Replace the peer connection to `with` by a new one, this side offering: for
    /// "retry" and for tests. What `with` was allowed ends (asked again); file transfers
    /// carry on over the new connection, each asked again on the customer's side.
    Reconnect { with: ParticipantId },
}

/// What the session tells the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Waiting in the lobby for the CSR.
    Lobby,
    /// In the session. `invite` is set for the CSR who created it.
    Joined {
        session: SessionInfo,
        me: ParticipantId,
        role: Role,
        invite: Option<(InviteToken, String)>,
    },
    /// The participants list changed.
    Participants(Vec<ParticipantInfo>),
    /// The peer connection to a participant is up (again, after an ICE restart).
    Connected(ParticipantId),
    /// The peer connection to a participant failed; an ICE restart follows.
    ConnectionFailed(ParticipantId),
    /// The path to a participant (the selected candidate pair) is now this; also reported to the server.
    Path {
        with: ParticipantId,
        path: Path,
    },
    /// The control channels to a participant are open (either side): input flows from now on.
    ControlReady(ParticipantId),
    /// The chat channel to a participant is open: chat to them is delivered from now on.
    ChatReady(ParticipantId),
    /// A chat message arrived.
    Chat {
        from: ParticipantId,
        text: String,
        private: bool,
    },
    /// Someone asks this machine's person for a capability: show the prompt. `name`
    /// is theirs as the server knows it, with the site's organisation for a CSR.
    ConsentPrompt {
        from: ParticipantId,
        name: String,
        request_id: RequestId,
        capability: Capability,
    },
    /// This machine offers its screen (`share_view`) or its control (`share_control`) to
    /// `to`: its person confirms it first (the consent window), answering with
    /// [`Command::Decide`]; `to` is asked only then. Closed like a prompt.
    ConfirmOffer {
        to: ParticipantId,
        name: String,
        request_id: RequestId,
        capability: Capability,
    },
    /// That prompt is no longer pending (answered, timed out, withdrawn).
    ConsentPromptClosed {
        from: ParticipantId,
        request_id: RequestId,
    },
    /// A consent decision or end (also sent to the server for the report).
    Consent {
        with: ParticipantId,
        request_id: RequestId,
        capability: Capability,
        incoming: bool,
        outcome: tandem_wire::ConsentOutcome,
    },
    /// The server refused a request (for example ending the session as a customer).
    Refused {
        code: ErrorCode,
        request: Option<String>,
    },
    /// Someone asks this machine's person for advanced file transfer, one
    /// transfer (name, size, direction) or system information: answer with
    /// [`Command::Decide`]; no answer in 30 s is a no. Closed by [`Event::ConsentPromptClosed`].
    FilesPrompt {
        from: ParticipantId,
        name: String,
        request_id: RequestId,
        ask: FilesAsk,
    },
    /// On the customer's machine: `with` may now browse and transfer files (`open`), or no
    /// longer (`false`: ended by either side, or by application sharing).
    FilesAccess {
        with: ParticipantId,
        open: bool,
    },
    /// On the customer's machine: a transfer the person allowed starts (progress follows as
    /// [`Event::TransferProgress`], the end as [`Event::TransferFinished`] / [`Event::TransferFailed`]).
    HostTransfer {
        with: ParticipantId,
        id: TransferId,
        summary: TransferSummary,
    },
    /// File transfer with `with` is open: these are the folders this side may browse.
    FilesOpened {
        with: ParticipantId,
        roots: Vec<Root>,
        max_transfer_bytes: u64,
    },
    /// File transfer with `with` is closed, or was refused (`denied`, `application_sharing_active`, ...).
    /// After a new peer connection to `with` (`not_open`): browsing needs a new
    /// [`Command::FilesOpen`]; the transfers carry on.
    FilesClosed {
        with: ParticipantId,
        code: TransferErrorCode,
    },
    /// One page of a folder's listing.
    FilesListing {
        with: ParticipantId,
        list_id: ListId,
        entries: Vec<DirEntry>,
        last: bool,
        unlisted: u32,
    },
    FilesListFailed {
        with: ParticipantId,
        list_id: ListId,
        code: TransferErrorCode,
    },
    /// How far a transfer is (about every 1/16 of it, at least 1 MiB apart).
    TransferProgress {
        with: ParticipantId,
        id: TransferId,
        progress: Progress,
    },
    /// A file of a transfer this side received is checked and in place, with its SHA-256.
    TransferFile {
        with: ParticipantId,
        id: TransferId,
        path: RelativePath,
        sha256: Sha256Hex,
    },
    /// A transfer is complete; `progress.sent_bytes` counts file bytes sent, resent ones again.
    TransferFinished {
        with: ParticipantId,
        id: TransferId,
        progress: Progress,
    },
    /// A transfer failed or was cancelled (`ended`); partial files were removed.
    TransferFailed {
        with: ParticipantId,
        id: TransferId,
        code: TransferErrorCode,
    },
    /// `from`'s system information, after their person allowed it.
    SystemInfo {
        from: ParticipantId,
        report: Box<SystemReport>,
    },
    SystemInfoRefused {
        from: ParticipantId,
        reason: InfoRefusal,
    },
}

/// Where remote control input goes on this machine: the injector and the shared surface.
pub struct InputTarget {
    pub injector: X11Injector,
    pub surface: Surface,
}

/// What the person at this machine decided in advance (policy) and where input may go.
#[derive(Default)]
pub struct Controls {
    pub policy: Policy,
    /// `None`: nothing to inject into (control requests are still answered, input is dropped).
    pub input: Option<InputTarget>,
    /// Control messages injected and dropped so far, readable from outside the session.
    pub counters: Arc<InputCounters>,
}

/// Running counts of remote control messages.
#[derive(Debug, Default)]
pub struct InputCounters {
    pub injected: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
}

/// How a session runs: its network settings, what it sends, what the person
/// at this machine decided in advance, and what file transfer may touch.
/// `Setup { link, media, ..Default::default() }` for the rest as defaults.
#[derive(Default)]
pub struct Setup {
    pub link: LinkConfig,
    pub media: Media,
    /// Consent policy and the input target for remote control.
    pub controls: Controls,
    /// The customer's file transfer settings (granted folders, size cap).
    pub files: FilesConfig,
}

/// Enters the session and runs until it ends, the user leaves, or the server is gone.
/// Returns why the session ended (`None` when we left).
pub async fn run(
    server: &str,
    entry: Entry,
    setup: Setup,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
) -> Result<Option<EndReason>, PeerError> {
    let Setup { link: config, media, controls, files } = setup;
    let tls = crate::tls::client_config(&config.tls_roots)?;
    let mut conn = Connection::open(server, tls.clone()).await?;
    conn.send(&entry.request()).await?;
    let mut state = State {
        me: None,
        routes: IceRoutes::default(),
        refresh_at: None,
        tls,
        links: HashMap::new(),
        last_epoch: 0,
        paths: HashMap::new(),
        names: HashMap::new(),
        roles: HashMap::new(),
        app_windows: HashMap::new(),
        windows: None,
        pending_consent: HashMap::new(),
        consent: ConsentBook::new(controls.policy),
        gate: InputGate::default(),
        input: controls.input,
        counters: controls.counters,
        files: files::Files::new(files),
        config,
        media,
    };
    let (link_tx, mut link_rx) = mpsc::unbounded_channel();
    let mut path_check = tokio::time::interval(PATH_CHECK);
    let mut files_tick = tokio::time::interval(FILES_TICK);
    let result = 'session: loop {
        let refresh_at = state.refresh_at;
        let consent_deadline = state.consent.next_deadline().map(tokio::time::Instant::from_std);
        tokio::select! {
            msg = conn.recv() => {
                let msg = match msg { Ok(m) => m, Err(e) => break Err(e) };
                match state.on_server(msg, &mut conn, &link_tx, &events).await {
                    Ok(None) => {}
                    Ok(Some(reason)) => break Ok(Some(reason)),
                    Err(e) => break Err(e),
                }
            }
            Some((epoch, event)) = link_rx.recv() => {
                if let Err(e) = state.on_link(epoch, event, &mut conn, &link_tx, &events).await {
                    break Err(e);
                }
            }
            _ = path_check.tick() => state.report_paths(&mut conn, &events).await?,
            _ = files_tick.tick() => state.files_tick(&events).await?,
            _ = sleep_until(consent_deadline), if consent_deadline.is_some() => {
                let actions = state.consent.tick(std::time::Instant::now());
                state.perform(actions, &mut conn, &events).await?;
            }
            _ = sleep_until(refresh_at), if refresh_at.is_some() => {
                state.refresh_at = None;
                conn.send(&ClientMessage::RefreshIceServers {}).await?;
            }
            cmd = commands.recv() => match cmd {
                Some(Command::Chat { text, to }) => state.chat(text, to).await,
                Some(Command::End) => conn.send(&ClientMessage::EndSession { notes: None }).await?,
                Some(Command::Admit(participant_id)) => conn.send(&ClientMessage::Admit { participant_id }).await?,
                Some(Command::Refuse(participant_id)) => conn.send(&ClientMessage::Refuse { participant_id }).await?,
                Some(Command::Decide { from, request_id, allowed, window }) => {
                    // File transfer and system information prompts are answered in files.rs.
                    if !state.files_decide(from, request_id, allowed, &events).await? {
                        let allowed = state.application_answer(from, request_id, allowed, window);
                        // The answer to this machine's own offer, confirmed here, or to a request.
                        let answered = match state.consent.confirm(from, request_id, allowed) {
                            Ok(actions) => Ok(actions),
                            Err(_) => state.consent.decide(from, request_id, allowed),
                        };
                        match answered {
                            Ok(actions) => state.perform(actions, &mut conn, &events).await?,
                            Err(e) => tracing::info!(error = %e, "a consent answer that no longer applies"),
                        }
                    }
                }
                Some(Command::StopAll) => {
                    let mut actions = state.consent.revoke_all();
                    actions.extend(state.consent.stop_shares());
                    state.perform(actions, &mut conn, &events).await?;
                    state.files_stop_all(&events).await?;
                }
                Some(Command::Share { capability }) => {
                    let customers: Vec<ParticipantId> = state
                        .roles
                        .iter()
                        .filter(|(_, role)| matches!(role, Role::PrimaryCustomer | Role::SecondaryCustomer))
                        .map(|(id, _)| *id)
                        .collect();
                    if customers.is_empty() {
                        tracing::warn!("no customer in the session to share with");
                    }
                    for to in customers {
                        let (_, actions) = state.consent.offer(to, capability, std::time::Instant::now());
                        state.perform(actions, &mut conn, &events).await?;
                    }
                }
                Some(Command::RequestConsent { to, capability }) => {
                    let (_, actions) = state.consent.request(to, capability);
                    state.perform(actions, &mut conn, &events).await?;
                }
                Some(Command::Report { about }) => conn.send(&ClientMessage::ReportParticipant { about }).await?,
                Some(Command::Control { to, message }) => state.send_control(to, message, &link_tx).await?,
                Some(Command::SetDisplayMode { to, mode }) => {
                    let sent = match state.links.get(&to) {
                        Some(link) => link.send_on(label::MEDIA, &MediaMessage::SetDisplayMode { mode }).await.unwrap_or(false),
                        None => false,
                    };
                    if !sent {
                        tracing::warn!(%to, "media channel not open; display mode not asked");
                    }
                }
                Some(Command::FilesOpen { to }) => state.files_open(to, &link_tx).await?,
                Some(Command::FilesList { to, list_id, path }) => state.files_list(to, list_id, path, &link_tx).await?,
                Some(Command::FilesDownload { from, id, path, into }) => {
                    state.files_download(from, id, path, into, &link_tx, &events).await?
                }
                Some(Command::FilesUpload { to, id, local, folder, overwrite }) => {
                    state.files_upload(to, id, local, folder, overwrite, &link_tx, &events).await?
                }
                Some(Command::FilesCancel { with, id }) => state.files_cancel(with, id, &events).await?,
                Some(Command::FilesClose { with }) => state.files_close(with, &link_tx, &events).await?,
                Some(Command::FilesInterrupt { with, id }) => state.files_interrupt(with, id, &link_tx).await?,
                Some(Command::RequestSystemInfo { to, request_id }) => {
                    state.system_info_request(to, request_id, &link_tx).await?
                }
                Some(Command::Reconnect { with }) => {
                    state.replace_link(with, true, &mut conn, &link_tx, &events).await?
                }
                Some(Command::Leave) | None => {
                    let _ = conn.send(&ClientMessage::Leave {}).await;
                    break Ok(None);
                }
            },
        }
        for (with, record) in state.files.take_records() {
            if let Err(e) = conn.send(&tool_record(with, record)).await {
                break 'session Err(e);
            }
        }
    };
    for link in state.links.values() {
        link.close().await;
    }
    result
}

/// A record for the session report, within the server's message size: a
/// system report too large to fit is recorded without its details.
fn tool_record(with: ParticipantId, record: ToolRecord) -> ClientMessage {
    let message = ClientMessage::ToolRecord { with, record };
    if tandem_wire::encode(&message).len() <= tandem_wire::MAX_MESSAGE_BYTES {
        return message;
    }
    match message {
        ClientMessage::ToolRecord { with, record: ToolRecord::SystemInfo { outcome, .. } } => {
            tracing::warn!("system information too large for the session report; recorded without it");
            ClientMessage::ToolRecord { with, record: ToolRecord::SystemInfo { outcome, report: None } }
        }
        other => other,
    }
}

struct State {
    me: Option<ParticipantId>,
    /// How the relay is reached (UDP, or TCP/TLS through a tunnel) and the ICE servers for webrtc.
    routes: IceRoutes,
    /// When to ask for fresh TURN credentials.
    refresh_at: Option<tokio::time::Instant>,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    /// One link per participant; a link replaced by a new peer connection is gone from here,
    /// and its events, tagged with its epoch, are dropped (reconnect.rs).
    links: HashMap<ParticipantId, Link>,
    /// The epoch of the link made last.
    last_epoch: u64,
    /// The last path reported for each link.
    paths: HashMap<ParticipantId, Path>,
    /// The window picked for each allowed application request (SHR-5..8).
    app_windows: HashMap<(ParticipantId, RequestId), WindowId>,
    /// This display's windows, looked at for application control (connected on first use).
    windows: Option<X11Windows>,
    /// Participants' roles (who is a customer, for `Command::Share`).
    roles: HashMap<ParticipantId, Role>,
    /// Consent messages waiting for a participant's consent channel to open.
    pending_consent: HashMap<ParticipantId, Vec<ConsentMessage>>,
    /// Participants' names as the server gave them, a CSR's with their organisation (for prompts).
    names: HashMap<ParticipantId, String>,
    /// Who may see or control this machine (the customer's decisions, enforced here).
    consent: ConsentBook,
    /// Remote control input: what passes, given `consent`.
    gate: InputGate,
    input: Option<InputTarget>,
    counters: Arc<InputCounters>,
    /// Advanced file transfer and system information, both sides (files.rs).
    files: files::Files,
    config: LinkConfig,
    media: Media,
}

impl State {
    /// Handles one server message; `Some(reason)` when the session is over.
    async fn on_server(
        &mut self,
        msg: ServerMessage,
        conn: &mut Connection,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<Option<EndReason>, PeerError> {
        match msg {
            ServerMessage::SessionCreated {
                session,
                participant_id,
                invite_token,
                invite_link,
                ice_servers,
                ..
            } => {
                self.enter(participant_id, ice_servers).await;
                let invite = Some((invite_token, invite_link));
                emit(events, Event::Joined { session, me: participant_id, role: Role::PrimaryCsr, invite })
                    .await;
            }
            ServerMessage::Joined { session, participant_id, role, ice_servers, .. }
            | ServerMessage::Resumed { session, participant_id, role, ice_servers } => {
                self.enter(participant_id, ice_servers).await;
                emit(events, Event::Joined { session, me: participant_id, role, invite: None }).await;
            }
            ServerMessage::Lobby { .. } => emit(events, Event::Lobby).await,
            ServerMessage::Refused {} => return Err(PeerError::Refused),
            ServerMessage::Participants { participants } => {
                // A CSR is named with the organisation they work for, as the server says.
                let organisation = conn.organisation();
                self.names = participants
                    .iter()
                    .map(|p| {
                        let name = match organisation {
                            Some(org) if p.role.is_csr() => format!("{} ({org})", p.name.as_str()),
                            _ => p.name.as_str().to_owned(),
                        };
                        (p.id, name)
                    })
                    .collect();
                self.roles = participants.iter().map(|p| (p.id, p.role)).collect();
                self.sync_links(&participants, conn, link_tx, events).await?;
                emit(events, Event::Participants(participants)).await;
            }
            ServerMessage::Offer { from, sdp } => {
                if self.links.get(&from).is_some_and(|l| l.offer_from_new_connection(sdp.as_str())) {
                    // The remote made a new peer connection (a reload, its own retry): ours follows.
                    self.replace_link(from, false, conn, link_tx, events).await?;
                }
                let link = self.link(from, link_tx).await?;
                if let Some(answer) = link.on_offer(sdp.as_str()).await? {
                    conn.send(&ClientMessage::Answer { to: from, sdp: to_sdp(answer)? }).await?;
                    if link.take_renegotiation() {
                        self.renegotiate(from, conn).await?;
                    }
                }
            }
            ServerMessage::Answer { from, sdp } => {
                if let Some(link) = self.links.get_mut(&from) {
                    link.accept_answer(sdp.as_str()).await?;
                    if link.take_renegotiation() {
                        self.renegotiate(from, conn).await?;
                    }
                }
            }
            ServerMessage::Candidate { from, ice } => {
                if let Some(link) = self.links.get_mut(&from) {
                    link.add_candidate(&ice).await?;
                }
            }
            ServerMessage::SessionEnded { reason } => return Ok(Some(reason)),
            ServerMessage::Error { code, message, in_reply_to } => {
                if self.me.is_none() {
                    // Refused at the door: nothing more will happen on this connection.
                    return Err(match code {
                        ErrorCode::SessionUnavailable => PeerError::SessionUnavailable,
                        _ => PeerError::Server { code, message },
                    });
                }
                emit(events, Event::Refused { code, request: in_reply_to }).await;
            }
            // Fresh TURN credentials: for new connections and for the next ICE restart of existing ones.
            ServerMessage::IceServers { ice_servers } => {
                self.set_ice_servers(ice_servers).await;
                for link in self.links.values() {
                    link.set_ice_servers(self.routes.servers(), &self.config).await;
                }
            }
            ServerMessage::Hello { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::NotesSaved { .. }
            | ServerMessage::PathReported { .. } => {}
        }
        Ok(None)
    }

    async fn enter(&mut self, me: ParticipantId, ice_servers: Vec<IceServer>) {
        self.me = Some(me);
        self.set_ice_servers(ice_servers).await;
    }

    /// Chooses how to reach the relay (probing only when the relay URL changed) and when to renew.
    async fn set_ice_servers(&mut self, ice_servers: Vec<IceServer>) {
        let previous = std::mem::take(&mut self.routes);
        self.routes = IceRoutes::choose(&ice_servers, &self.tls, Some(previous)).await;
        self.refresh_at =
            refresh_delay(&ice_servers, SystemTime::now()).map(|delay| tokio::time::Instant::now() + delay);
    }

    /// Reports each link's selected candidate pair when it is new or changed.
    async fn report_paths(
        &mut self,
        conn: &mut Connection,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        for (&with, link) in &self.links {
            let Some(path) = link.selected_path(&self.routes).await else { continue };
            if self.paths.get(&with) == Some(&path) {
                continue;
            }
            self.paths.insert(with, path);
            tracing::info!(%with, ?path, "path");
            let Path { local, remote, protocol } = path;
            conn.send(&ClientMessage::PathReport { with, local, remote, protocol }).await?;
            emit(events, Event::Path { with, path }).await;
        }
        Ok(())
    }

    /// Opens links to new admitted participants (offering where the rule says so), closes links to those gone.
    async fn sync_links(
        &mut self,
        participants: &[ParticipantInfo],
        conn: &mut Connection,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(me) = self.me else { return Ok(()) };
        let present: Vec<ParticipantId> =
            participants.iter().filter(|p| p.id != me && p.role != Role::Waiting).map(|p| p.id).collect();
        let gone: Vec<ParticipantId> =
            self.links.keys().filter(|id| !present.contains(id)).copied().collect();
        for id in gone {
            if let Some(link) = self.links.remove(&id) {
                link.close().await;
            }
            self.paths.remove(&id);
            self.pending_consent.remove(&id);
            self.files_forget(id);
            // Whatever they were allowed ends with them: a return asks again.
            let actions = self.consent.forget(id);
            self.perform(actions, conn, events).await?;
        }
        for id in present {
            if makes_offer(me, id) && !self.links.contains_key(&id) {
                let link = self.link(id, link_tx).await?;
                let offer = link.first_offer(link_tx).await?;
                conn.send(&ClientMessage::Offer { to: id, sdp: to_sdp(offer)? }).await?;
            }
        }
        Ok(())
    }

    /// The link to `remote`, created on first use.
    async fn link(&mut self, remote: ParticipantId, link_tx: &LinkEvents) -> Result<&mut Link, PeerError> {
        if !self.links.contains_key(&remote) {
            let polite = self.me.is_none_or(|me| !makes_offer(me, remote));
            let epoch = self.next_epoch();
            let (servers, config, media) = (self.routes.servers(), &self.config, &self.media);
            let link = Link::new(remote, epoch, polite, servers, config, media, link_tx.clone()).await?;
            self.links.insert(remote, link);
        }
        Ok(self.links.get_mut(&remote).expect("inserted above"))
    }

    async fn on_link(
        &mut self,
        epoch: LinkEpoch,
        event: LinkEvent,
        conn: &mut Connection,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        if !reconnect::is_current(&self.links, epoch, &event) {
            let with = event.participant();
            tracing::trace!(%with, ?epoch, "dropped: an event of a link since replaced or closed");
            return Ok(());
        }
        match event {
            LinkEvent::Candidate { to, ice } => conn.send(&ClientMessage::Candidate { to, ice }).await?,
            LinkEvent::ChannelOpen { with, label, channel } => {
                tracing::debug!(%with, label, "data channel open");
                if let Some(link) = self.links.get_mut(&with) {
                    link.channel_open(label, channel, link_tx).await?;
                    match label {
                        label::CHAT => emit(events, Event::ChatReady(with)).await,
                        label::CONTROL => emit(events, Event::ControlReady(with)).await,
                        label::CONSENT => self.flush_consent(with).await,
                        label::REMOTE_FILES | label::SYSTEM_INFO => self.files_channel_open(with).await,
                        _ => {}
                    }
                }
            }
            LinkEvent::ChannelClosed { with, label } => {
                if let Some(link) = self.links.get_mut(&with) {
                    link.channel_closed(label);
                }
            }
            LinkEvent::Message { from, message } => self.on_message(from, message, conn, events).await?,
            LinkEvent::BadMessage { from, reason } => {
                tracing::warn!(%from, %reason, "dropped a data channel message")
            }
            LinkEvent::State { with, state } => {
                tracing::debug!(%with, ?state, "peer connection state");
                match state {
                    RTCPeerConnectionState::Connected => {
                        emit(events, Event::Connected(with)).await;
                        self.report_paths(conn, events).await?;
                    }
                    RTCPeerConnectionState::Failed => {
                        emit(events, Event::ConnectionFailed(with)).await;
                        // The first offerer restarts ICE (a new path, e.g. through the relay).
                        if let (Some(me), Some(link)) = (self.me, self.links.get(&with))
                            && makes_offer(me, with)
                        {
                            tracing::info!(%with, "connection failed; restarting ICE");
                            link.restart_ice().await?;
                            self.renegotiate(with, conn).await?;
                        }
                    }
                    _ => {}
                }
            }
            LinkEvent::NegotiationNeeded { with } => self.renegotiate(with, conn).await?,
            event @ (LinkEvent::TransferOpen { .. }
            | LinkEvent::Transfer { .. }
            | LinkEvent::TransferDrained { .. }
            | LinkEvent::TransferClosed { .. }) => self.on_transfer_link(event, link_tx, events).await?,
        }
        Ok(())
    }

    /// A message on a data channel from `from`.
    async fn on_message(
        &mut self,
        from: ParticipantId,
        message: Incoming,
        conn: &mut Connection,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match message {
            Incoming::Chat(ChatMessage::Chat { text, to, .. }) => {
                emit(events, Event::Chat { from, text: text.as_str().to_owned(), private: !to.is_empty() })
                    .await;
            }
            Incoming::Consent(message) => {
                match self.consent.on_message(from, message, std::time::Instant::now()) {
                    Ok(actions) => self.perform(actions, conn, events).await?,
                    Err(e) => tracing::warn!(%from, error = %e, "consent message refused"),
                }
            }
            Incoming::Control(message) => {
                let grant = self.consent.control_scope(from);
                use std::sync::atomic::Ordering::Relaxed;
                let admitted = match grant {
                    Some(Scope::Application) if self.input.is_some() => {
                        let window = self.shared_window(from, &message);
                        self.gate.admit_to_window(from, &message, grant, window)
                    }
                    _ => {
                        let surface = self.input.as_ref().map(|i| i.surface);
                        self.gate.admit(from, &message, grant, surface)
                    }
                };
                match admitted {
                    Ok(injections) => {
                        self.counters.injected.fetch_add(1, Relaxed);
                        if let Some(input) = &self.input {
                            input.injector.inject(injections);
                        }
                    }
                    Err(reason) => {
                        self.counters.dropped.fetch_add(1, Relaxed);
                        tracing::debug!(%from, ?reason, "control input dropped");
                    }
                }
            }
            // A viewer of our screen asks for another encoding (SHR-11): applied live.
            Incoming::Media(MediaMessage::SetDisplayMode { mode }) => {
                if self.consent.view_scope(from).is_none() {
                    tracing::info!(%from, "display mode asked by someone who does not see our screen; ignored");
                    return Ok(());
                }
                let mode = match mode {
                    tandem_wire::channels::DisplayMode::Standard => DisplayMode::Standard,
                    tandem_wire::channels::DisplayMode::ScreenSampling => DisplayMode::ScreenSampling,
                };
                for feed in self.media.feeds.iter().filter(|f| f.kind() == MediaKind::Screen) {
                    feed.request_display_mode(mode);
                }
            }
            // Stream announcements: this peer shows every video by its stream id.
            Incoming::Media(_) => {}
            Incoming::RemoteFiles(message) => self.on_remote_files(from, message, events).await?,
            Incoming::SystemInfo(message) => self.on_system_info(from, message, events).await?,
        }
        Ok(())
    }

    /// Sends controller input to `to`, opening the control channels on first use.
    async fn send_control(
        &mut self,
        to: ParticipantId,
        message: tandem_wire::channels::ControlMessage,
        link_tx: &LinkEvents,
    ) -> Result<(), PeerError> {
        let Some(link) = self.links.get_mut(&to) else { return Ok(()) };
        link.open_control(link_tx).await?;
        let label = match message {
            tandem_wire::channels::ControlMessage::Motion { .. } => label::CONTROL_MOTION,
            _ => label::CONTROL,
        };
        if !link.send_on(label, &message).await.unwrap_or(false) {
            tracing::debug!(%to, "control channel not open yet; input dropped");
        }
        Ok(())
    }

    /// Carries out what the consent core decided.
    async fn perform(
        &mut self,
        actions: Vec<Action>,
        conn: &mut Connection,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        for action in actions {
            match action {
                Action::Send { to, message } => self.send_consent(to, message).await,
                Action::Prompt { from, request_id, capability } => {
                    let name = self.names.get(&from).cloned().unwrap_or_else(|| from.to_string());
                    emit(events, Event::ConsentPrompt { from, name, request_id, capability }).await;
                }
                Action::ClosePrompt { from, request_id } => {
                    emit(events, Event::ConsentPromptClosed { from, request_id }).await;
                }
                Action::Confirm { to, request_id, capability } => {
                    let name = self.names.get(&to).cloned().unwrap_or_else(|| to.to_string());
                    emit(events, Event::ConfirmOffer { to, name, request_id, capability }).await;
                }
                Action::CloseConfirm { to, request_id } => {
                    emit(events, Event::ConsentPromptClosed { from: to, request_id }).await;
                }
                Action::Record { with, request_id, capability, incoming, outcome } => {
                    self.apply_screen_grants();
                    if self.consent.control_scope(with).is_none() {
                        // Control over (or never was): let go of whatever they held down.
                        let release = self.gate.release(with);
                        if let Some(input) = &self.input {
                            input.injector.inject(release);
                        }
                    }
                    conn.send(&ClientMessage::ConsentRecord { with, capability, incoming, outcome }).await?;
                    emit(events, Event::Consent { with, request_id, capability, incoming, outcome }).await;
                    self.files_check_application_sharing(events).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends on `to`'s consent channel; until it is open (a request made while
    /// the connection comes up), the message waits, in order.
    async fn send_consent(&mut self, to: ParticipantId, message: ConsentMessage) {
        let waiting = self.pending_consent.entry(to).or_default();
        if waiting.is_empty()
            && let Some(link) = self.links.get(&to)
            && link.send_on(label::CONSENT, &message).await.unwrap_or(false)
        {
            return;
        }
        if waiting.len() >= MAX_PENDING_CONSENT {
            tracing::warn!(%to, ?message, "consent channel still not open; message dropped");
            return;
        }
        waiting.push(message);
    }

    /// The consent channel to `to` opened: what waited goes out.
    async fn flush_consent(&mut self, to: ParticipantId) {
        let Some(link) = self.links.get(&to) else { return };
        let waiting = self.pending_consent.remove(&to).unwrap_or_default();
        for (i, message) in waiting.iter().enumerate() {
            if !link.send_on(label::CONSENT, message).await.unwrap_or(false) {
                self.pending_consent.insert(to, waiting[i..].to_vec());
                return;
            }
        }
    }

    /// Sends a new offer to `with`, or remembers to once the offer in flight is answered.
    async fn renegotiate(&mut self, with: ParticipantId, conn: &mut Connection) -> Result<(), PeerError> {
        let Some(link) = self.links.get_mut(&with) else { return Ok(()) };
        if !link.has_negotiated() {
            // The first exchange is under way; it carries everything added so far or triggers another.
            link.renegotiate_later();
            return Ok(());
        }
        match link.offer().await? {
            Some(offer) => conn.send(&ClientMessage::Offer { to: with, sdp: to_sdp(offer)? }).await?,
            None => link.renegotiate_later(),
        }
        Ok(())
    }

    /// Sends a chat line on the chat channel of each addressee (everyone when `to` is empty).
    async fn chat(&self, text: ChatText, to: Vec<ParticipantId>) {
        let sent_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let message = ChatMessage::Chat { text, to: to.clone(), sent_at };
        for (id, link) in &self.links {
            if to.is_empty() || to.contains(id) {
                match link.send_on(label::CHAT, &message).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%id, "chat channel not open yet; message not sent to this participant")
                    }
                    Err(e) => tracing::warn!(%id, error = %e, "sending chat failed"),
                }
            }
        }
    }
}

/// When to ask for fresh TURN credentials: a minute before the earliest
/// expiry in the TURN REST usernames (`<expiry unix time>:<id>`), or at half
/// their remaining life when that is shorter; `None` without TURN credentials.
pub fn refresh_delay(ice_servers: &[IceServer], now: SystemTime) -> Option<Duration> {
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let expiry = ice_servers
        .iter()
        .filter_map(|s| s.username.as_deref()?.split(':').next()?.parse::<u64>().ok())
        .min()?;
    let left = expiry.saturating_sub(now);
    Some(Duration::from_secs(left.saturating_sub(60).min(left / 2).max(1)))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn to_sdp(sdp: String) -> Result<Sdp, PeerError> {
    Sdp::parse(sdp).map_err(|e| PeerError::WebRtc(format!("local SDP does not fit the protocol: {e}")))
}

async fn emit(events: &mpsc::Sender<Event>, event: Event) {
    // The application may have stopped listening; the session still runs to its end.
    let _ = events.send(event).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(username: &str) -> IceServer {
        IceServer {
            urls: vec!["turn:192.0.2.1:3478?transport=udp".into()],
            username: Some(username.into()),
            credential: Some("x".into()),
        }
    }

    #[test]
    fn credentials_are_renewed_before_they_expire() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        // Ten minutes left: at half-life, well before the last minute.
        assert_eq!(refresh_delay(&[turn("1000600:p1")], now), Some(Duration::from_secs(300)));
        // Two hours left: a minute before expiry... capped by half-life, so one hour.
        assert_eq!(refresh_delay(&[turn("1007200:p1")], now), Some(Duration::from_secs(3600)));
        // The earliest expiry counts; an expired one asks at once (after a second).
        assert_eq!(
            refresh_delay(&[turn("1007200:p1"), turn("999000:p1")], now),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn no_renewal_without_turn_credentials() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let stun = IceServer { urls: vec!["stun:192.0.2.1:3478".into()], username: None, credential: None };
        assert_eq!(refresh_delay(&[stun], now), None);
        assert_eq!(refresh_delay(&[turn("not-a-time:p1")], now), None);
    }
}
