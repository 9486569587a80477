//! The session core: a pure state machine that owns every live session.
//!
//! No sockets, no clock reads, no spawning, no locks. The shell ([`crate::hub`])
//! feeds it [`Input`]s with the current [`Timestamp`] and carries out the
//! [`Output`]s it returns: messages to connections, connections to close, and
//! report events for storage. Grace-period expiry is driven by
//! [`Registry::poll_timeout`] and [`Registry::handle_timeout`].
//!
//! Participants' own records go the same way: a `path_report`, a
//! `consent_record`, a `report_participant` or a `tool_record` is checked
//! against the session (an admitted sender, another participant of the same
//! session, a per-session cap) and becomes a [`ReportEvent`] that the report
//! writer stores ([`consent_log`] for the middle two, [`tool_log`] for file
//! transfer and system information records).
//!
//! ```text
//! connection task --Input--> Registry::handle(input, now) --Vec<Output>--> hub --> connections / report writer
//! ```

mod consent_log;
#[cfg(test)]
mod consent_log_tests;
mod registry;
mod session;
#[cfg(test)]
mod tests;
mod time;
mod tool_log;
#[cfg(test)]
mod tool_log_tests;

pub use consent_log::{
    ConsentDirection, ConsentRecord, MAX_CONSENT_RECORDS, MAX_PARTICIPANT_REPORTS, ParticipantReport,
};
pub use registry::{CoreConfig, InvitationDetails, Registry};
pub use time::Timestamp;
pub use tool_log::{
    MAX_SYSTEM_REPORTS, MAX_TOOL_RECORDS, TRANSFER_DIRECTIONS, TRANSFER_OUTCOMES, ToolLogEntry,
    direction_name, transfer_outcome_name, what_name,
};

use tandem_wire::channels::Capability;
use tandem_wire::{
    AuthToken, CandidateType, ClientMessage, ConsentOutcome, DisplayName, EndReason, ErrorCode, InviteToken,
    Label, Notes, ParticipantId, PathProtocol, ResumeToken, Role, ServerMessage, SessionId, SessionNumber,
    Signal, ToolRecord,
};

/// One WebSocket connection, numbered by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A CSR account's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub i64);

/// A signed-in CSR, as the shell verified them from their sign-in token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: DisplayName,
}

/// Something that happened, for the core to act on.
#[derive(Debug, Clone)]
pub enum Input {
    /// A request from a connection, already decoded and, for CSRs, authenticated.
    Request { conn: ConnId, request: Request },
    /// The connection is gone (closed, errored or timed out).
    Disconnected { conn: ConnId },
    /// The server is shutting down: end every session.
    Shutdown,
}

/// A client request in the form the core acts on: tokens already verified.
#[derive(Debug, Clone)]
pub enum Request {
    CreateSession {
        agent: Agent,
        session_type: Option<Label>,
        tracking_code: Option<Label>,
    },
    Join {
        session_number: SessionNumber,
        name: DisplayName,
        invite_token: Option<InviteToken>,
    },
    Assist {
        agent: Agent,
        session_number: SessionNumber,
    },
    Resume {
        resume_token: ResumeToken,
    },
    Admit {
        participant_id: ParticipantId,
    },
    Refuse {
        participant_id: ParticipantId,
    },
    Relay {
        to: ParticipantId,
        signal: Signal,
    },
    Leave,
    /// End the session; with notes, they are saved first (SES-10).
    EndSession {
        notes: Option<Notes>,
    },
    /// Save the session notes to the report (TOOL-6).
    SaveNotes {
        notes: Notes,
    },
    /// The selected candidate pair towards participant `with`.
    PathReport {
        with: ParticipantId,
        path: Path,
    },
    /// A consent decision between the sender and participant `with`, for the report (issue 6).
    ConsentRecord {
        with: ParticipantId,
        capability: Capability,
        direction: ConsentDirection,
        outcome: ConsentOutcome,
    },
    /// The sender reports participant `about` to the site (X-5): the session's report flag.
    ReportParticipant {
        about: ParticipantId,
    },
    /// A file transfer or system information event on the sender's (a
    /// customer's) machine, with CSR `with`, for the report (issue 7).
    ToolRecord {
        with: ParticipantId,
        record: ToolRecord,
    },
    /// The ICE server list again, with fresh TURN credentials.
    RefreshIceServers,
}

/// A selected ICE candidate pair, as a peer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    pub local: CandidateType,
    pub remote: CandidateType,
    pub protocol: PathProtocol,
}

impl Path {
    /// The kind of path, for metrics: through a relay, through NAT (reflexive), or direct.
    pub fn kind(self) -> PathKind {
        use CandidateType::*;
        match (self.local, self.remote) {
            (Relay, _) | (_, Relay) => PathKind::Relay,
            (Srflx | Prflx, _) | (_, Srflx | Prflx) => PathKind::Reflexive,
            (Host, Host) => PathKind::Host,
        }
    }
}

/// How a session's media travels: the most indirect path any of its
/// connections reported, or `Unknown` before any report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathKind {
    Unknown,
    Host,
    Reflexive,
    Relay,
}

impl PathKind {
    pub const ALL: [PathKind; 4] = [Self::Unknown, Self::Host, Self::Reflexive, Self::Relay];

    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Host => "host",
            Self::Reflexive => "srflx",
            Self::Relay => "relay",
        }
    }
}

impl Request {
    /// The core's form of a decoded client message. `Ok(None)` for `ping`, which
    /// the connection answers itself. CSR requests carry a sign-in token, which
    /// `verify` turns into the [`Agent`] it stands for (or refuses).
    pub fn from_client(
        msg: ClientMessage,
        verify: impl FnOnce(&AuthToken) -> Option<Agent>,
    ) -> Result<Option<Self>, ErrorCode> {
        let request = match msg {
            ClientMessage::Ping { .. } => return Ok(None),
            ClientMessage::CreateSession { token, session_type, tracking_code } => {
                let agent = verify(&token).ok_or(ErrorCode::Unauthorized)?;
                Self::CreateSession { agent, session_type, tracking_code }
            }
            ClientMessage::Assist { token, session_number } => {
                let agent = verify(&token).ok_or(ErrorCode::Unauthorized)?;
                Self::Assist { agent, session_number }
            }
            ClientMessage::Join { session_number, name, invite_token } => {
                Self::Join { session_number, name, invite_token }
            }
            ClientMessage::Resume { resume_token } => Self::Resume { resume_token },
            ClientMessage::Admit { participant_id } => Self::Admit { participant_id },
            ClientMessage::Refuse { participant_id } => Self::Refuse { participant_id },
            ClientMessage::Offer { to, sdp } => Self::Relay { to, signal: Signal::Offer { sdp } },
            ClientMessage::Answer { to, sdp } => Self::Relay { to, signal: Signal::Answer { sdp } },
            ClientMessage::Candidate { to, ice } => Self::Relay { to, signal: Signal::Candidate { ice } },
            ClientMessage::Leave {} => Self::Leave,
            ClientMessage::EndSession { notes } => Self::EndSession { notes },
            ClientMessage::SaveNotes { notes } => Self::SaveNotes { notes },
            ClientMessage::RefreshIceServers {} => Self::RefreshIceServers,
            ClientMessage::PathReport { with, local, remote, protocol } => {
                Self::PathReport { with, path: Path { local, remote, protocol } }
            }
            ClientMessage::ConsentRecord { with, capability, incoming, outcome } => Self::ConsentRecord {
                with,
                capability,
                direction: ConsentDirection::from_incoming(incoming),
                outcome,
            },
            ClientMessage::ReportParticipant { about } => Self::ReportParticipant { about },
            ClientMessage::ToolRecord { with, record } => {
                // A report is sent only once the customer allowed it: one that
                // comes with any other outcome is not stored.
                if let ToolRecord::SystemInfo { outcome, report: Some(_) } = &record
                    && *outcome != ConsentOutcome::Allowed
                {
                    return Err(ErrorCode::BadMessage);
                }
                Self::ToolRecord { with, record }
            }
        };
        Ok(Some(request))
    }

    /// The wire `"type"` of the request, for error replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::CreateSession { .. } => "create_session",
            Self::Join { .. } => "join",
            Self::Assist { .. } => "assist",
            Self::Resume { .. } => "resume",
            Self::Admit { .. } => "admit",
            Self::Refuse { .. } => "refuse",
            Self::Relay { signal, .. } => match signal {
                Signal::Offer { .. } => "offer",
                Signal::Answer { .. } => "answer",
                Signal::Candidate { .. } => "candidate",
            },
            Self::Leave => "leave",
            Self::EndSession { .. } => "end_session",
            Self::SaveNotes { .. } => "save_notes",
            Self::PathReport { .. } => "path_report",
            Self::ConsentRecord { .. } => "consent_record",
            Self::ReportParticipant { .. } => "report_participant",
            Self::ToolRecord { .. } => "tool_record",
            Self::RefreshIceServers => "refresh_ice_servers",
        }
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this message on this connection.
    Send { conn: ConnId, msg: ServerMessage },
    /// Close this connection with this WebSocket close code.
    Close { conn: ConnId, code: u16 },
    /// Store this in the session reports.
    Report(ReportEvent),
}

/// A fact for the session's activity report (ADM-2).
#[derive(Debug, Clone, PartialEq)]
pub enum ReportEvent {
    SessionStarted {
        session_id: SessionId,
        session_number: SessionNumber,
        session_type: Option<Label>,
        tracking_code: Option<Label>,
        at: Timestamp,
    },
    /// A participant entered the session (admitted customers, CSRs; not lobby waits).
    ParticipantJoined {
        session_id: SessionId,
        participant_id: ParticipantId,
        name: DisplayName,
        role: Role,
        agent_id: Option<AgentId>,
        at: Timestamp,
    },
    ParticipantLeft {
        session_id: SessionId,
        participant_id: ParticipantId,
        reason: LeaveReason,
        at: Timestamp,
    },
    SessionEnded {
        session_id: SessionId,
        reason: EndReason,
        at: Timestamp,
    },
    /// Participant `from` reported the path of its connection with `with` (latest per pair).
    PathReported {
        session_id: SessionId,
        from: ParticipantId,
        with: ParticipantId,
        path: Path,
        at: Timestamp,
    },
    /// A participant recorded a consent decision (issue 6); the report lists them in order.
    ConsentRecorded {
        session_id: SessionId,
        record: ConsentRecord,
    },
    /// A participant reported another to the site (X-5): the session is flagged.
    ParticipantReported {
        session_id: SessionId,
        report: ParticipantReport,
    },
    /// A customer's machine recorded file access, a transfer or system
    /// information (issue 7); the report lists them in order.
    ToolRecorded {
        session_id: SessionId,
        record: ToolLogEntry,
    },
    /// A CSR saved the session notes; they replace earlier ones (TOOL-6).
    NotesSaved {
        session_id: SessionId,
        /// The CSR who saved them.
        by: ParticipantId,
        notes: Notes,
        at: Timestamp,
    },
}

/// Why a participant left, as reports record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// They left.
    Left,
    /// Their connection was lost and did not come back within the grace period.
    TimedOut,
    /// The session ended while they were in it.
    SessionEnded,
}

impl LeaveReason {
    /// The name stored in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::TimedOut => "timed_out",
            Self::SessionEnded => "session_ended",
        }
    }
}
