//! The session task: owns the signaling connection and one [`Link`] per remote
//! participant, and turns server messages, link events and user commands into
//! each other. The application talks to it over two channels.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tandem_wire::channels::ChatMessage;
use tandem_wire::{
    ChatText, ClientMessage, EndReason, ErrorCode, IceServer, InviteToken, ParticipantId, ParticipantInfo,
    Role, Sdp, ServerMessage, SessionInfo,
};
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::PeerError;
use crate::link::{Link, LinkConfig, LinkEvent};
use crate::media::Media;
use crate::negotiation::makes_offer;
use crate::signaling::{Connection, Entry};

/// What the application asks of the session.
#[derive(Debug)]
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
}

/// What the session tells the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Waiting in the lobby for the CSR.
    Lobby,
    /// In the session. `invite` is set for the CSR who created it.
    Joined { session: SessionInfo, me: ParticipantId, role: Role, invite: Option<(InviteToken, String)> },
    /// The participants list changed.
    Participants(Vec<ParticipantInfo>),
    /// The peer connection to a participant is up (again, after an ICE restart).
    Connected(ParticipantId),
    /// The peer connection to a participant failed; an ICE restart follows.
    ConnectionFailed(ParticipantId),
    /// The chat channel to a participant is open: chat to them is delivered from now on.
    ChatReady(ParticipantId),
    /// A chat message arrived.
    Chat { from: ParticipantId, text: String, private: bool },
    /// The server refused a request (for example ending the session as a customer).
    Refused { code: ErrorCode, request: Option<String> },
}

/// Enters the session and runs until it ends, the user leaves, or the server is gone.
/// Returns why the session ended (`None` when we left).
pub async fn run(
    server: &str,
    entry: Entry,
    config: LinkConfig,
    media: Media,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
) -> Result<Option<EndReason>, PeerError> {
    let mut conn = Connection::open(server).await?;
    conn.send(&entry.request()).await?;
    let mut state = State { me: None, ice_servers: Vec::new(), links: HashMap::new(), config, media };
    let (link_tx, mut link_rx) = mpsc::unbounded_channel();
    let result = loop {
        tokio::select! {
            msg = conn.recv() => {
                let msg = match msg { Ok(m) => m, Err(e) => break Err(e) };
                match state.on_server(msg, &mut conn, &link_tx, &events).await {
                    Ok(None) => {}
                    Ok(Some(reason)) => break Ok(Some(reason)),
                    Err(e) => break Err(e),
                }
            }
            Some(event) = link_rx.recv() => {
                if let Err(e) = state.on_link(event, &mut conn, &events).await {
                    break Err(e);
                }
            }
            cmd = commands.recv() => match cmd {
                Some(Command::Chat { text, to }) => state.chat(text, to).await,
                Some(Command::End) => conn.send(&ClientMessage::EndSession { notes: None }).await?,
                Some(Command::Admit(participant_id)) => conn.send(&ClientMessage::Admit { participant_id }).await?,
                Some(Command::Refuse(participant_id)) => conn.send(&ClientMessage::Refuse { participant_id }).await?,
                Some(Command::Leave) | None => {
                    let _ = conn.send(&ClientMessage::Leave {}).await;
                    break Ok(None);
                }
            },
        }
    };
    for link in state.links.values() {
        link.close().await;
    }
    result
}

struct State {
    me: Option<ParticipantId>,
    ice_servers: Vec<IceServer>,
    links: HashMap<ParticipantId, Link>,
    config: LinkConfig,
    media: Media,
}

impl State {
    /// Handles one server message; `Some(reason)` when the session is over.
    async fn on_server(
        &mut self,
        msg: ServerMessage,
        conn: &mut Connection,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
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
                self.enter(participant_id, ice_servers);
                let invite = Some((invite_token, invite_link));
                emit(events, Event::Joined { session, me: participant_id, role: Role::PrimaryCsr, invite })
                    .await;
            }
            ServerMessage::Joined { session, participant_id, role, ice_servers, .. }
            | ServerMessage::Resumed { session, participant_id, role, ice_servers } => {
                self.enter(participant_id, ice_servers);
                emit(events, Event::Joined { session, me: participant_id, role, invite: None }).await;
            }
            ServerMessage::Lobby { .. } => emit(events, Event::Lobby).await,
            ServerMessage::Refused {} => return Err(PeerError::Refused),
            ServerMessage::Participants { participants } => {
                self.sync_links(&participants, conn, link_tx).await?;
                emit(events, Event::Participants(participants)).await;
            }
            ServerMessage::Offer { from, sdp } => {
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
            // Fresh TURN credentials: new connections use them (existing ones keep theirs until an ICE restart).
            ServerMessage::IceServers { ice_servers } => self.ice_servers = ice_servers,
            ServerMessage::Hello { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::NotesSaved { .. }
            | ServerMessage::PathReported { .. } => {}
        }
        Ok(None)
    }

    fn enter(&mut self, me: ParticipantId, ice_servers: Vec<IceServer>) {
        self.me = Some(me);
        self.ice_servers = ice_servers;
    }

    /// Opens links to new admitted participants (offering where the rule says so), closes links to those gone.
    async fn sync_links(
        &mut self,
        participants: &[ParticipantInfo],
        conn: &mut Connection,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
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
    async fn link(
        &mut self,
        remote: ParticipantId,
        link_tx: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<&mut Link, PeerError> {
        if !self.links.contains_key(&remote) {
            let polite = self.me.is_none_or(|me| !makes_offer(me, remote));
            let link =
                Link::new(remote, polite, &self.ice_servers, &self.config, &self.media, link_tx.clone())
                    .await?;
            self.links.insert(remote, link);
        }
        Ok(self.links.get_mut(&remote).expect("inserted above"))
    }

    async fn on_link(
        &mut self,
        event: LinkEvent,
        conn: &mut Connection,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        match event {
            LinkEvent::Candidate { to, ice } => conn.send(&ClientMessage::Candidate { to, ice }).await?,
            LinkEvent::ChatOpen { with, channel } => {
                if let Some(link) = self.links.get_mut(&with) {
                    link.set_chat(channel);
                    emit(events, Event::ChatReady(with)).await;
                }
            }
            LinkEvent::Chat { from, message: ChatMessage::Chat { text, to, .. } } => {
                emit(events, Event::Chat { from, text: text.as_str().to_owned(), private: !to.is_empty() })
                    .await;
            }
            LinkEvent::BadMessage { from, reason } => {
                tracing::warn!(%from, %reason, "dropped a data channel message")
            }
            LinkEvent::State { with, state } => {
                tracing::debug!(%with, ?state, "peer connection state");
                match state {
                    RTCPeerConnectionState::Connected => emit(events, Event::Connected(with)).await,
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
        }
        Ok(())
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
                match link.send_chat(&message).await {
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

fn to_sdp(sdp: String) -> Result<Sdp, PeerError> {
    Sdp::parse(sdp).map_err(|e| PeerError::WebRtc(format!("local SDP does not fit the protocol: {e}")))
}

async fn emit(events: &mpsc::Sender<Event>, event: Event) {
    // The application may have stopped listening; the session still runs to its end.
    let _ = events.send(event).await;
}
