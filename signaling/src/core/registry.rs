//! [`Registry`]: every live session, and the transitions between their states.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _};
use subtle::ConstantTimeEq as _;
use tandem_wire::{
    DisplayName, EndReason, ErrorCode, IceServer, InviteToken, Label, Notes, ParticipantId, ResumeToken,
    Role, ServerMessage, SessionId, SessionNumber, Signal,
};

use super::consent_log::{ConsentLog, MAX_CONSENT_RECORDS, MAX_PARTICIPANT_REPORTS};
use super::session::{Participant, Session};
use super::tool_log::{MAX_SYSTEM_REPORTS, MAX_TOOL_RECORDS, ToolLog};
use super::{Agent, AgentId, ConnId, Input, LeaveReason, Output, Path, ReportEvent, Request, Timestamp};

/// Settings of the session core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// How long a participant whose connection dropped is kept for a resume.
    pub grace: Duration,
    /// Most participants in one session, counting CSRs and the lobby.
    pub max_participants: usize,
    /// The site's address; invite links are `{public_url}/join/{number}#invite={token}`.
    pub public_url: String,
    /// STUN/TURN servers handed to every participant as they are (static credentials).
    pub ice_servers: Vec<IceServer>,
    /// STUN/TURN servers with a credential minted per participant (NET-2),
    /// handed out after `ice_servers` on `session_created`, `joined` and `resumed`.
    pub turn: Option<tandem_turn_config::TurnConfig>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            max_participants: 16,
            public_url: "http://127.0.0.1:8080".into(),
            ice_servers: Vec::new(),
            turn: None,
        }
    }
}

/// The ICE servers for participant `pid` at `now`: the static ones, then the
/// TURN servers with a credential minted for `pid` (username `<expiry>:<pid>`).
fn ice_servers_for(config: &CoreConfig, pid: ParticipantId, now: Timestamp) -> Vec<IceServer> {
    let mut list = config.ice_servers.clone();
    if let Some(turn) = &config.turn {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(now.unix_millis());
        list.extend(turn.ice_servers(&pid.to_string(), at).into_iter().map(|e| IceServer {
            urls: e.urls,
            username: e.username,
            credential: e.credential,
        }));
    }
    list
}

/// What an invitation e-mail may say about a session; see [`Registry::invitation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationDetails {
    pub session_number: SessionNumber,
    /// The customer's join link, invite token included.
    pub invite_link: String,
    /// The site's address, without a trailing slash (where CSRs sign in to assist).
    pub site_url: String,
}

/// All live sessions. See the [module docs](super) for how the shell drives it.
pub struct Registry {
    config: CoreConfig,
    /// A CSPRNG (seeded from the OS by the shell; from a fixed seed in tests).
    rng: StdRng,
    sessions: HashMap<SessionNumber, Session>,
    /// Which session each participant is in.
    by_participant: HashMap<ParticipantId, SessionNumber>,
    /// Which participant each bound connection is.
    by_conn: HashMap<ConnId, ParticipantId>,
    /// Resume tokens of participants still in a session.
    by_resume_token: HashMap<ResumeToken, ParticipantId>,
    /// Grace-period deadlines of disconnected participants, soonest first.
    deadlines: BTreeSet<(Timestamp, ParticipantId)>,
}

type Outputs = Vec<Output>;

impl Registry {
    /// An empty registry.
    pub fn new(config: CoreConfig, rng: StdRng) -> Self {
        Self {
            config,
            rng,
            sessions: HashMap::new(),
            by_participant: HashMap::new(),
            by_conn: HashMap::new(),
            by_resume_token: HashMap::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// Acts on one input at time `now`.
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Outputs {
        let mut out = Vec::new();
        match input {
            Input::Request { conn, request } => {
                let kind = request.type_name();
                if let Err(code) = self.request(conn, request, now, &mut out) {
                    out.push(Output::Send { conn, msg: ServerMessage::error(code, Some(kind)) });
                }
            }
            Input::Disconnected { conn } => self.disconnected(conn, now, &mut out),
            Input::Shutdown => {
                let numbers: Vec<_> = self.sessions.keys().copied().collect();
                for n in numbers {
                    self.end_session(n, EndReason::ServerShutdown, now, &mut out);
                }
            }
        }
        out
    }

    /// When [`Registry::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Expires every grace period that ended at or before `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Outputs {
        let mut out = Vec::new();
        while let Some(&(deadline, pid)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(&number) = self.by_participant.get(&pid) else {
                continue;
            };
            let Some(role) = self.sessions.get(&number).and_then(|s| s.get(pid)).map(|p| p.role) else {
                continue;
            };
            if role == Role::PrimaryCsr {
                self.end_session(number, EndReason::PrimaryCsrTimedOut, now, &mut out);
            } else {
                self.remove_participant(number, pid, LeaveReason::TimedOut, now, &mut out);
                self.broadcast_change_of(number, role, &mut out);
            }
        }
        out
    }

    /// What an invitation e-mail about session `number` may contain (SES-2),
    /// if `agent` is one of its CSRs (primary or assistant) right now; `None`
    /// otherwise, whether or not the session exists.
    pub fn invitation(&self, agent: AgentId, number: SessionNumber) -> Option<InvitationDetails> {
        let session = self.sessions.get(&number)?;
        session.participants.iter().find(|p| p.role.is_csr() && p.agent == Some(agent))?;
        Some(InvitationDetails {
            session_number: number,
            invite_link: self.invite_link(number, &session.invite_token),
            site_url: self.config.public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Live sessions by path kind, in the order of [`PathKind::ALL`].
    pub fn sessions_by_path(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for s in self.sessions.values() {
            counts[s.path_kind() as usize] += 1;
        }
        counts
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of participants in live sessions, the lobby included.
    pub fn participant_count(&self) -> usize {
        self.by_participant.len()
    }

    /// Panics if the indexes disagree with the sessions. For tests and fuzzing:
    /// every state the core can reach must pass.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        let mut participants = 0;
        for (number, session) in &self.sessions {
            assert_eq!(session.number, *number);
            for p in &session.participants {
                participants += 1;
                assert_eq!(self.by_participant.get(&p.id), Some(number), "participant index");
                assert_eq!(self.by_resume_token.get(&p.resume_token), Some(&p.id), "resume index");
                match (p.conn, p.grace_deadline) {
                    (Some(c), None) => assert_eq!(self.by_conn.get(&c), Some(&p.id), "connection index"),
                    (None, Some(d)) => assert!(self.deadlines.contains(&(d, p.id)), "deadline index"),
                    other => panic!("connected xor in grace, got {other:?}"),
                }
            }
            let primaries = session.participants.iter().filter(|p| p.role == Role::PrimaryCsr).count();
            assert_eq!(primaries, 1, "exactly one primary CSR");
            assert!(session.participants.iter().filter(|p| p.role == Role::PrimaryCustomer).count() <= 1);
            assert!(session.participants.len() <= self.config.max_participants);
            assert!(session.consent_log.consent_records() <= MAX_CONSENT_RECORDS, "consent cap");
            assert!(session.consent_log.participant_reports() <= MAX_PARTICIPANT_REPORTS, "report cap");
            assert!(session.tool_log.records() <= MAX_TOOL_RECORDS, "tool record cap");
            assert!(session.tool_log.system_reports() <= MAX_SYSTEM_REPORTS, "system report cap");
        }
        assert_eq!(self.by_participant.len(), participants);
        assert_eq!(self.by_resume_token.len(), participants);
        assert_eq!(self.by_conn.len() + self.deadlines.len(), participants);
    }

    fn request(
        &mut self,
        conn: ConnId,
        request: Request,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        match request {
            Request::CreateSession { agent, session_type, tracking_code } => {
                self.create_session(conn, agent, session_type, tracking_code, now, out)
            }
            Request::Join { session_number, name, invite_token } => {
                self.join(conn, session_number, name, invite_token, now, out)
            }
            Request::Assist { agent, session_number } => self.assist(conn, agent, session_number, now, out),
            Request::Resume { resume_token } => self.resume(conn, &resume_token, now, out),
            Request::Admit { participant_id } => self.admit(conn, participant_id, now, out),
            Request::Refuse { participant_id } => self.refuse(conn, participant_id, out),
            Request::Relay { to, signal } => self.relay(conn, to, signal, out),
            Request::Leave => self.leave(conn, now, out),
            Request::EndSession { notes } => {
                let (number, pid, role) = self.caller(conn)?;
                if role != Role::PrimaryCsr {
                    return Err(ErrorCode::NotAllowed);
                }
                if let Some(notes) = notes {
                    self.save_notes(conn, number, pid, notes, now, out);
                }
                self.end_session(number, EndReason::EndedByCsr, now, out);
                Ok(())
            }
            Request::PathReport { with, path } => self.path_report(conn, with, path, now, out),
            Request::ConsentRecord { with, capability, direction, outcome } => {
                let (session, from) = self.admitted_caller(conn)?;
                match session.record_consent(from, with, capability, direction, outcome, now) {
                    Ok(event) => out.push(Output::Report(event)),
                    Err(refusal) => out.push(refusal.reply(conn, "consent_record")),
                }
                Ok(())
            }
            Request::ReportParticipant { about } => {
                let (session, by) = self.admitted_caller(conn)?;
                match session.report_participant(by, about, now) {
                    Ok(event) => out.extend(event.map(Output::Report)),
                    Err(refusal) => out.push(refusal.reply(conn, "report_participant")),
                }
                Ok(())
            }
            Request::ToolRecord { with, record } => {
                let (session, from) = self.admitted_caller(conn)?;
                match session.record_tool(from, with, record, now) {
                    Ok(event) => out.push(Output::Report(event)),
                    Err(refusal) => out.push(refusal.reply(conn, "tool_record")),
                }
                Ok(())
            }
            Request::RefreshIceServers => {
                let (_, pid) = self.admitted_caller(conn)?;
                let ice_servers = ice_servers_for(&self.config, pid, now);
                out.push(Output::Send { conn, msg: ServerMessage::IceServers { ice_servers } });
                Ok(())
            }
            Request::SaveNotes { notes } => {
                let (number, pid, role) = self.caller(conn)?;
                if !role.is_csr() {
                    return Err(ErrorCode::NotAllowed);
                }
                self.save_notes(conn, number, pid, notes, now, out);
                Ok(())
            }
        }
    }

    fn create_session(
        &mut self,
        conn: ConnId,
        agent: Agent,
        session_type: Option<Label>,
        tracking_code: Option<Label>,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        self.ensure_unbound(conn)?;
        let number = self.fresh_session_number()?;
        let session = Session {
            id: SessionId::from_raw(self.rng.random()),
            number,
            session_type,
            tracking_code,
            invite_token: self.fresh_invite_token(),
            participants: Vec::new(),
            paths: HashMap::new(),
            consent_log: ConsentLog::default(),
            tool_log: ToolLog::default(),
        };
        let session_id = session.id;
        let invite_token = session.invite_token.clone();
        out.push(Output::Report(ReportEvent::SessionStarted {
            session_id,
            session_number: number,
            session_type: session.session_type.clone(),
            tracking_code: session.tracking_code.clone(),
            at: now,
        }));
        self.sessions.insert(number, session);
        let (pid, resume_token) =
            self.add_participant(number, conn, agent.name, Role::PrimaryCsr, Some(agent.id), now, out);
        let session = &self.sessions[&number];
        let invite_link = self.invite_link(number, &invite_token);
        out.push(Output::Send {
            conn,
            msg: ServerMessage::SessionCreated {
                session: session.info(),
                participant_id: pid,
                resume_token,
                invite_token,
                invite_link,
                ice_servers: ice_servers_for(&self.config, pid, now),
            },
        });
        self.broadcast_participants(number, out);
        Ok(())
    }

    fn join(
        &mut self,
        conn: ConnId,
        number: SessionNumber,
        name: DisplayName,
        invite_token: Option<InviteToken>,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        self.ensure_unbound(conn)?;
        let session = self.sessions.get(&number).ok_or(ErrorCode::SessionUnavailable)?;
        let invited = match &invite_token {
            // Constant-time: the comparison must not tell how much of a guess was right.
            Some(t) => bool::from(t.as_str().as_bytes().ct_eq(session.invite_token.as_str().as_bytes())),
            None => false,
        };
        if invite_token.is_some() && !invited {
            // Same answer as an unknown session: a wrong token tells nothing.
            return Err(ErrorCode::SessionUnavailable);
        }
        self.ensure_room(session)?;
        if invited {
            let role = session.role_for_new_customer();
            let (pid, resume_token) = self.add_participant(number, conn, name, role, None, now, out);
            self.send_joined(number, pid, resume_token, now, out);
        } else {
            let (pid, resume_token) = self.add_participant(number, conn, name, Role::Waiting, None, now, out);
            out.push(Output::Send {
                conn,
                msg: ServerMessage::Lobby { session_number: number, participant_id: pid, resume_token },
            });
            self.broadcast_lobby(number, out);
            return Ok(());
        }
        self.broadcast_participants(number, out);
        Ok(())
    }

    fn assist(
        &mut self,
        conn: ConnId,
        agent: Agent,
        number: SessionNumber,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        self.ensure_unbound(conn)?;
        let session = self.sessions.get(&number).ok_or(ErrorCode::SessionUnavailable)?;
        self.ensure_room(session)?;
        let (pid, resume_token) =
            self.add_participant(number, conn, agent.name, Role::AssistantCsr, Some(agent.id), now, out);
        self.send_joined(number, pid, resume_token, now, out);
        self.broadcast_participants(number, out);
        Ok(())
    }

    fn resume(
        &mut self,
        conn: ConnId,
        token: &ResumeToken,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        self.ensure_unbound(conn)?;
        let &pid = self.by_resume_token.get(token).ok_or(ErrorCode::ResumeFailed)?;
        let number = self.by_participant[&pid];
        let session = self.sessions.get_mut(&number).ok_or(ErrorCode::ResumeFailed)?;
        let p = session.get_mut(pid).ok_or(ErrorCode::ResumeFailed)?;
        if let Some(old) = p.conn.replace(conn) {
            // The old connection is not dead yet as far as we know: the newer one wins.
            self.by_conn.remove(&old);
            out.push(Output::Close { conn: old, code: tandem_wire::close_code::REPLACED });
        }
        if let Some(deadline) = p.grace_deadline.take() {
            self.deadlines.remove(&(deadline, pid));
        }
        let role = p.role;
        let resume_token = p.resume_token.clone();
        self.by_conn.insert(conn, pid);
        let msg = if role == Role::Waiting {
            // Still in the lobby: it learns no more about the session than `join` told it.
            ServerMessage::Lobby { session_number: number, participant_id: pid, resume_token }
        } else {
            ServerMessage::Resumed {
                session: session.info(),
                participant_id: pid,
                role,
                ice_servers: ice_servers_for(&self.config, pid, now),
            }
        };
        out.push(Output::Send { conn, msg });
        self.broadcast_change_of(number, role, out);
        Ok(())
    }

    fn admit(
        &mut self,
        conn: ConnId,
        target: ParticipantId,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        let (number, _, role) = self.caller(conn)?;
        if role != Role::PrimaryCsr {
            return Err(ErrorCode::NotAllowed);
        }
        let session = self.sessions.get_mut(&number).ok_or(ErrorCode::Internal)?;
        let new_role = session.role_for_new_customer();
        let p = session
            .get_mut(target)
            .filter(|p| p.role == Role::Waiting)
            .ok_or(ErrorCode::UnknownParticipant)?;
        p.role = new_role;
        let (name, resume_token) = (p.name.clone(), p.resume_token.clone());
        out.push(Output::Report(ReportEvent::ParticipantJoined {
            session_id: session.id,
            participant_id: target,
            name,
            role: new_role,
            agent_id: None,
            at: now,
        }));
        self.send_joined(number, target, resume_token, now, out);
        self.broadcast_participants(number, out);
        Ok(())
    }

    fn refuse(&mut self, conn: ConnId, target: ParticipantId, out: &mut Outputs) -> Result<(), ErrorCode> {
        let (number, _, role) = self.caller(conn)?;
        if role != Role::PrimaryCsr {
            return Err(ErrorCode::NotAllowed);
        }
        let session = self.sessions.get_mut(&number).ok_or(ErrorCode::Internal)?;
        if session.get(target).map(|p| p.role) != Some(Role::Waiting) {
            return Err(ErrorCode::UnknownParticipant);
        }
        let p = session.remove(target).ok_or(ErrorCode::Internal)?;
        self.forget(&p);
        if let Some(c) = p.conn {
            out.push(Output::Send { conn: c, msg: ServerMessage::Refused {} });
        }
        self.broadcast_lobby(number, out);
        Ok(())
    }

    fn relay(
        &mut self,
        conn: ConnId,
        to: ParticipantId,
        signal: Signal,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        let (session, from) = self.admitted_caller(conn)?;
        // Only to someone else in the same session, admitted and connected; any
        // other case gets the same answer, so ids of other sessions stay secret.
        let target = session
            .get(to)
            .filter(|p| p.id != from && p.role != Role::Waiting)
            .and_then(|p| p.conn)
            .ok_or(ErrorCode::UnknownParticipant)?;
        out.push(Output::Send { conn: target, msg: signal.deliver(from) });
        Ok(())
    }

    fn leave(&mut self, conn: ConnId, now: Timestamp, out: &mut Outputs) -> Result<(), ErrorCode> {
        let (number, pid, role) = self.caller(conn)?;
        if role == Role::PrimaryCsr {
            self.end_session(number, EndReason::PrimaryCsrLeft, now, out);
        } else {
            self.remove_participant(number, pid, LeaveReason::Left, now, out);
            self.broadcast_change_of(number, role, out);
        }
        Ok(())
    }

    fn disconnected(&mut self, conn: ConnId, now: Timestamp, out: &mut Outputs) {
        let Some(pid) = self.by_conn.remove(&conn) else {
            return;
        };
        let number = self.by_participant[&pid];
        let deadline = now.after(self.config.grace);
        let Some(p) = self.sessions.get_mut(&number).and_then(|s| s.get_mut(pid)) else { return };
        p.conn = None;
        p.grace_deadline = Some(deadline);
        let role = p.role;
        self.deadlines.insert((deadline, pid));
        self.broadcast_change_of(number, role, out);
    }

    /// A participant's selected path towards another: kept (latest per pair),
    /// reported, and shown to the session's connected CSRs when it changed.
    fn path_report(
        &mut self,
        conn: ConnId,
        with: ParticipantId,
        path: Path,
        now: Timestamp,
        out: &mut Outputs,
    ) -> Result<(), ErrorCode> {
        let (session, from) = self.admitted_caller(conn)?;
        // Same rule as relaying: another admitted participant of the same session.
        if with == from || session.get(with).is_none_or(|p| p.role == Role::Waiting) {
            return Err(ErrorCode::UnknownParticipant);
        }
        if session.paths.insert((from, with), path) == Some(path) {
            return Ok(()); // unchanged: nothing new to show or store
        }
        out.push(Output::Report(ReportEvent::PathReported {
            session_id: session.id,
            from,
            with,
            path,
            at: now,
        }));
        for p in session.participants.iter().filter(|p| p.role.is_csr()) {
            if let Some(c) = p.conn {
                out.push(Output::Send {
                    conn: c,
                    msg: ServerMessage::PathReported {
                        from,
                        with,
                        local: path.local,
                        remote: path.remote,
                        protocol: path.protocol,
                    },
                });
            }
        }
        Ok(())
    }

    /// Records the notes in the report and confirms to the CSR who saved them.
    fn save_notes(
        &self,
        conn: ConnId,
        number: SessionNumber,
        by: ParticipantId,
        notes: Notes,
        now: Timestamp,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get(&number) else { return };
        out.push(Output::Report(ReportEvent::NotesSaved { session_id: session.id, by, notes, at: now }));
        out.push(Output::Send { conn, msg: ServerMessage::NotesSaved { saved_at: now.unix_millis() } });
    }

    fn end_session(&mut self, number: SessionNumber, reason: EndReason, now: Timestamp, out: &mut Outputs) {
        let Some(session) = self.sessions.remove(&number) else {
            return;
        };
        for p in &session.participants {
            self.forget(p);
            if let Some(conn) = p.conn {
                out.push(Output::Send { conn, msg: ServerMessage::SessionEnded { reason } });
            }
            if p.role != Role::Waiting {
                out.push(Output::Report(ReportEvent::ParticipantLeft {
                    session_id: session.id,
                    participant_id: p.id,
                    reason: LeaveReason::SessionEnded,
                    at: now,
                }));
            }
        }
        out.push(Output::Report(ReportEvent::SessionEnded { session_id: session.id, reason, at: now }));
    }

    // ---- helpers -------------------------------------------------------------

    /// `{public_url}/join/{number}#invite={token}`: the token sits in the
    /// fragment, which browsers never send to a server.
    fn invite_link(&self, number: SessionNumber, token: &InviteToken) -> String {
        format!(
            "{}/join/{}#invite={}",
            self.config.public_url.trim_end_matches('/'),
            number.to_digits(),
            token.as_str()
        )
    }

    /// The caller's session, participant id and role.
    fn caller(&self, conn: ConnId) -> Result<(SessionNumber, ParticipantId, Role), ErrorCode> {
        let &pid = self.by_conn.get(&conn).ok_or(ErrorCode::NotInSession)?;
        let &number = self.by_participant.get(&pid).ok_or(ErrorCode::NotInSession)?;
        let role = self
            .sessions
            .get(&number)
            .and_then(|s| s.get(pid))
            .map(|p| p.role)
            .ok_or(ErrorCode::NotInSession)?;
        Ok((number, pid, role))
    }

    /// The caller's live session and participant id, if the caller is admitted
    /// (`not_allowed` from the lobby).
    fn admitted_caller(&mut self, conn: ConnId) -> Result<(&mut Session, ParticipantId), ErrorCode> {
        let (number, pid, role) = self.caller(conn)?;
        if role == Role::Waiting {
            return Err(ErrorCode::NotAllowed);
        }
        Ok((self.sessions.get_mut(&number).ok_or(ErrorCode::Internal)?, pid))
    }

    fn ensure_unbound(&self, conn: ConnId) -> Result<(), ErrorCode> {
        if self.by_conn.contains_key(&conn) { Err(ErrorCode::AlreadyInSession) } else { Ok(()) }
    }

    fn ensure_room(&self, session: &Session) -> Result<(), ErrorCode> {
        if session.participants.len() >= self.config.max_participants {
            Err(ErrorCode::SessionFull)
        } else {
            Ok(())
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_participant(
        &mut self,
        number: SessionNumber,
        conn: ConnId,
        name: DisplayName,
        role: Role,
        agent: Option<AgentId>,
        now: Timestamp,
        out: &mut Outputs,
    ) -> (ParticipantId, ResumeToken) {
        let pid = loop {
            let candidate = ParticipantId::from_raw(self.rng.random());
            if !self.by_participant.contains_key(&candidate) {
                break candidate;
            }
        };
        let resume_token = self.fresh_resume_token();
        let session = self.sessions.get_mut(&number).expect("callers pass a live session number");
        if role != Role::Waiting {
            out.push(Output::Report(ReportEvent::ParticipantJoined {
                session_id: session.id,
                participant_id: pid,
                name: name.clone(),
                role,
                agent_id: agent,
                at: now,
            }));
        }
        session.participants.push(Participant {
            id: pid,
            name,
            role,
            agent,
            resume_token: resume_token.clone(),
            conn: Some(conn),
            grace_deadline: None,
        });
        self.by_participant.insert(pid, number);
        self.by_conn.insert(conn, pid);
        self.by_resume_token.insert(resume_token.clone(), pid);
        (pid, resume_token)
    }

    fn remove_participant(
        &mut self,
        number: SessionNumber,
        pid: ParticipantId,
        reason: LeaveReason,
        now: Timestamp,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get_mut(&number) else {
            return;
        };
        let Some(p) = session.remove(pid) else { return };
        if p.role != Role::Waiting {
            out.push(Output::Report(ReportEvent::ParticipantLeft {
                session_id: session.id,
                participant_id: pid,
                reason,
                at: now,
            }));
        }
        if p.role == Role::PrimaryCustomer {
            session.promote_customer_if_needed();
        }
        self.forget(&p);
    }

    /// Drops every index entry of a participant that is no longer in a session.
    fn forget(&mut self, p: &Participant) {
        self.by_participant.remove(&p.id);
        self.by_resume_token.remove(&p.resume_token);
        if let Some(c) = p.conn {
            self.by_conn.remove(&c);
        }
        if let Some(d) = p.grace_deadline {
            self.deadlines.remove(&(d, p.id));
        }
    }

    fn send_joined(
        &self,
        number: SessionNumber,
        pid: ParticipantId,
        resume_token: ResumeToken,
        now: Timestamp,
        out: &mut Outputs,
    ) {
        let session = &self.sessions[&number];
        let Some(p) = session.get(pid) else { return };
        if let Some(conn) = p.conn {
            out.push(Output::Send {
                conn,
                msg: ServerMessage::Joined {
                    session: session.info(),
                    participant_id: pid,
                    role: p.role,
                    resume_token,
                    ice_servers: ice_servers_for(&self.config, pid, now),
                },
            });
        }
    }

    /// Sends the participants list to everyone connected in the session (waiting customers get none).
    fn broadcast_participants(&self, number: SessionNumber, out: &mut Outputs) {
        self.broadcast_list(number, |_| true, out);
    }

    /// A change only the lobby saw: only CSRs' lists change.
    fn broadcast_lobby(&self, number: SessionNumber, out: &mut Outputs) {
        self.broadcast_list(number, Role::is_csr, out);
    }

    /// A change to a participant with `role`: everyone's list, or only CSRs' for the lobby.
    fn broadcast_change_of(&self, number: SessionNumber, role: Role, out: &mut Outputs) {
        if role == Role::Waiting {
            self.broadcast_lobby(number, out);
        } else {
            self.broadcast_participants(number, out);
        }
    }

    /// Sends the list to every connected, admitted participant whose role passes `audience`.
    fn broadcast_list(&self, number: SessionNumber, audience: fn(Role) -> bool, out: &mut Outputs) {
        let Some(session) = self.sessions.get(&number) else {
            return;
        };
        for p in &session.participants {
            if let Some(conn) = p.conn.filter(|_| p.role != Role::Waiting && audience(p.role)) {
                out.push(Output::Send {
                    conn,
                    msg: ServerMessage::Participants { participants: session.participant_list(p.role) },
                });
            }
        }
    }

    fn fresh_session_number(&mut self) -> Result<SessionNumber, ErrorCode> {
        // With at most millions of live sessions among 900 million numbers a
        // collision is rare; 64 misses in a row means something is badly wrong.
        for _ in 0..64 {
            let n = self.rng.random_range(SessionNumber::MIN..=SessionNumber::MAX);
            let n = SessionNumber::new(n).map_err(|_| ErrorCode::Internal)?;
            if !self.sessions.contains_key(&n) {
                return Ok(n);
            }
        }
        Err(ErrorCode::Internal)
    }

    fn fresh_invite_token(&mut self) -> InviteToken {
        // 22 base64url characters always satisfy the token types' bounds and charset.
        InviteToken::parse(self.fresh_secret()).expect("22 base64url characters form a valid token")
    }

    fn fresh_resume_token(&mut self) -> ResumeToken {
        ResumeToken::parse(self.fresh_secret()).expect("22 base64url characters form a valid token")
    }

    /// 128 random bits, base64url without padding (22 characters).
    fn fresh_secret(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
