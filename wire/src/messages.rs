//! The messages: what a client sends ([`ClientMessage`]) and what the server
//! sends ([`ServerMessage`]). Both are tagged by `"type"`; the codec adds `"v"`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{ParticipantId, SessionId, SessionNumber};
use crate::text::{AuthToken, DisplayName, InviteToken, ItemName, Label, Notes, ResumeToken, Sdp};

/// A message from a client (browser, native peer, third-party client) to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A signed-in CSR starts a session and becomes its primary CSR (SES-1).
    CreateSession {
        token: AuthToken,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_type: Option<Label>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracking_code: Option<Label>,
    },
    /// A customer joins (SES-3): with the session number and a name they wait in
    /// the lobby; with the invite link's token as well they are admitted directly.
    Join {
        session_number: SessionNumber,
        name: DisplayName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite_token: Option<InviteToken>,
    },
    /// A signed-in CSR joins a running session as an assistant (SES-6).
    Assist { token: AuthToken, session_number: SessionNumber },
    /// Take a participant back on a new connection within the grace period.
    Resume { resume_token: ResumeToken },
    /// The primary CSR lets a waiting customer in.
    Admit { participant_id: ParticipantId },
    /// The primary CSR turns a waiting customer away.
    Refuse { participant_id: ParticipantId },
    /// SDP offer for one other participant of the same session (NET-1).
    Offer { to: ParticipantId, sdp: Sdp },
    /// SDP answer for one other participant of the same session.
    Answer { to: ParticipantId, sdp: Sdp },
    /// A trickled ICE candidate for one other participant of the same session.
    Candidate { to: ParticipantId, ice: IceCandidate },
    /// Leave the session (customers, assistants). The primary CSR leaving ends it.
    Leave {},
    /// End the session for everyone; primary CSR only (SES-10). `notes`, when
    /// present, are saved to the session report first (the last chance to edit them).
    EndSession {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<Notes>,
    },
    /// Save the session notes to the report (TOOL-6); CSRs only. Each save
    /// replaces the previous notes. Answered with [`ServerMessage::NotesSaved`].
    SaveNotes { notes: Notes },
    /// The candidate pair the sender's ICE agent selected for its connection
    /// with participant `with` (NET-2 visibility): shown to the session's CSRs,
    /// stored in the report, counted in `/metrics`. Send it when the selected
    /// pair changes. No reply.
    PathReport { with: ParticipantId, local: CandidateType, remote: CandidateType, protocol: PathProtocol },
    /// A consent decision or end on the sender's machine (SHR-1..8): what
    /// `with` asked of the sender (or the sender of `with`), and how it went.
    /// Sent by the side that records it (the approver for its decisions, the
    /// requester for its stops); stored in the session report with the time
    /// and both names. No reply.
    ConsentRecord {
        with: ParticipantId,
        capability: crate::channels::Capability,
        /// Who asked: `true` when `with` asked the sender, `false` when the sender asked `with`.
        incoming: bool,
        outcome: ConsentOutcome,
    },
    /// The sender reports participant `about` to the site (X-5, "End session
    /// and report" on a consent prompt): a flag stored with the session
    /// report. The sender usually leaves right after. No reply.
    ReportParticipant { about: ParticipantId },
    /// A file transfer or system information event on the sender's machine
    /// (TOOL-5, TOOL-7, ADM-2), sent by the customer's native peer, which
    /// decides and enforces them: `with` is the CSR. Stored in the session
    /// report with the time and both names. No reply.
    ToolRecord { with: ParticipantId, record: ToolRecord },
    /// Ask for the ICE server list again, with fresh TURN credentials (they
    /// expire; a client renews them before then and restarts ICE with them).
    /// Answered with [`ServerMessage::IceServers`].
    RefreshIceServers {},
    /// Application-level keepalive; the server answers [`ServerMessage::Pong`].
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<u64>,
    },
}

impl ClientMessage {
    /// Every `"type"` value a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "create_session",
        "join",
        "assist",
        "resume",
        "admit",
        "refuse",
        "offer",
        "answer",
        "candidate",
        "leave",
        "end_session",
        "save_notes",
        "path_report",
        "consent_record",
        "report_participant",
        "tool_record",
        "refresh_ice_servers",
        "ping",
    ];

    /// The `"type"` of this message, for logs and error replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::CreateSession { .. } => "create_session",
            Self::Join { .. } => "join",
            Self::Assist { .. } => "assist",
            Self::Resume { .. } => "resume",
            Self::Admit { .. } => "admit",
            Self::Refuse { .. } => "refuse",
            Self::Offer { .. } => "offer",
            Self::Answer { .. } => "answer",
            Self::Candidate { .. } => "candidate",
            Self::Leave {} => "leave",
            Self::EndSession { .. } => "end_session",
            Self::SaveNotes { .. } => "save_notes",
            Self::PathReport { .. } => "path_report",
            Self::ConsentRecord { .. } => "consent_record",
            Self::ReportParticipant { .. } => "report_participant",
            Self::ToolRecord { .. } => "tool_record",
            Self::RefreshIceServers {} => "refresh_ice_servers",
            Self::Ping { .. } => "ping",
        }
    }
}

/// What one participant relays to another through the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Offer { sdp: Sdp },
    Answer { sdp: Sdp },
    Candidate { ice: IceCandidate },
}

impl Signal {
    /// The message the addressee receives.
    pub fn deliver(self, from: ParticipantId) -> ServerMessage {
        match self {
            Self::Offer { sdp } => ServerMessage::Offer { from, sdp },
            Self::Answer { sdp } => ServerMessage::Answer { from, sdp },
            Self::Candidate { ice } => ServerMessage::Candidate { from, ice },
        }
    }
}

/// An ICE candidate in the shape of the W3C `RTCIceCandidateInit` dictionary
/// ([WebRTC §4.8.1.1](https://www.w3.org/TR/webrtc/#dom-rtcicecandidateinit)),
/// so a browser can send `candidate.toJSON()` as is. An empty `candidate`
/// means end of candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: IceText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<IceText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<IceText>,
}

/// A bounded string inside an ICE candidate (at most 2048 bytes, no control characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(type = "string")]
pub struct IceText(String);

impl IceText {
    const MAX_BYTES: usize = 2048;

    /// Parses `s`, refusing over-long values and control characters.
    pub fn parse(s: impl Into<String>) -> Result<Self, crate::TextError> {
        let s = s.into();
        if s.len() > Self::MAX_BYTES {
            return Err(crate::TextError::TooLong(Self::MAX_BYTES));
        }
        if s.chars().any(char::is_control) {
            return Err(crate::TextError::BadCharacter);
        }
        Ok(Self(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IceText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A message from the server to one client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection: who we are and the limits that apply.
    Hello {
        server: String,
        protocol: u32,
        max_message_bytes: u32,
        /// Send something (a `ping` will do) at least this often.
        keepalive_secs: u32,
        /// Optional features this server has enabled.
        #[serde(default)]
        features: Features,
        /// The organisation that runs this site, as its operator configured it.
        /// Its CSRs work for it: consent prompts name it next to a CSR's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        organisation: Option<DisplayName>,
    },
    /// Reply to `create_session`: the CSR is now the primary CSR of a new session.
    SessionCreated {
        session: SessionInfo,
        participant_id: ParticipantId,
        resume_token: ResumeToken,
        invite_token: InviteToken,
        /// The join link for customers (SES-2); it carries the invite token.
        invite_link: String,
        ice_servers: Vec<IceServer>,
    },
    /// Reply to `join` without a valid invite token: wait until the primary CSR admits or refuses.
    Lobby { session_number: SessionNumber, participant_id: ParticipantId, resume_token: ResumeToken },
    /// The participant is in the session: after `join` with an invite token,
    /// after `assist`, or when the primary CSR admits a waiting customer.
    Joined {
        session: SessionInfo,
        participant_id: ParticipantId,
        role: Role,
        resume_token: ResumeToken,
        ice_servers: Vec<IceServer>,
    },
    /// The primary CSR refused a waiting customer. The connection stays open.
    Refused {},
    /// Reply to `resume`: the participant is back, with the same id and role.
    Resumed { session: SessionInfo, participant_id: ParticipantId, role: Role, ice_servers: Vec<IceServer> },
    /// Everyone in the session, sent to every participant whenever it changes.
    /// CSRs also see customers waiting in the lobby (role `waiting`).
    Participants { participants: Vec<ParticipantInfo> },
    /// An SDP offer relayed from another participant.
    Offer { from: ParticipantId, sdp: Sdp },
    /// An SDP answer relayed from another participant.
    Answer { from: ParticipantId, sdp: Sdp },
    /// An ICE candidate relayed from another participant.
    Candidate { from: ParticipantId, ice: IceCandidate },
    /// The session is over for everyone.
    SessionEnded { reason: EndReason },
    /// Reply to `save_notes` (and to `end_session` with notes): the notes are in the report.
    NotesSaved {
        /// When they were saved, Unix milliseconds.
        saved_at: u64,
    },
    /// To the session's CSRs: the path a participant's connection with another
    /// participant takes now (from their `path_report`).
    PathReported {
        from: ParticipantId,
        with: ParticipantId,
        local: CandidateType,
        remote: CandidateType,
        protocol: PathProtocol,
    },
    /// Reply to `refresh_ice_servers`: the list with fresh TURN credentials.
    IceServers { ice_servers: Vec<IceServer> },
    /// Answer to `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<u64>,
    },
    /// A request was refused or a message could not be read.
    Error {
        code: ErrorCode,
        message: String,
        /// The `"type"` of the message this answers, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_reply_to: Option<String>,
    },
}

impl ServerMessage {
    /// Every `"type"` value the server may send.
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "session_created",
        "lobby",
        "joined",
        "refused",
        "resumed",
        "participants",
        "offer",
        "answer",
        "candidate",
        "session_ended",
        "notes_saved",
        "path_reported",
        "ice_servers",
        "pong",
        "error",
    ];

    /// An error reply with the code's standard message.
    pub fn error(code: ErrorCode, in_reply_to: Option<&str>) -> Self {
        Self::Error { code, message: code.message().to_owned(), in_reply_to: in_reply_to.map(str::to_owned) }
    }
}

/// What a [`ClientMessage::ToolRecord`] records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum ToolRecord {
    /// Advanced file transfer (TOOL-5): asked and how it went (allowed,
    /// denied, timed out), or ended (`revoked`: "End file transfer" by the
    /// customer; `stopped`: closed by the CSR).
    FileAccess { outcome: ConsentOutcome },
    /// One transfer, once it is over: what moved which way and how it ended.
    Transfer {
        direction: TransferDirection,
        /// The file or folder, as the customer was asked about it.
        item: ItemName,
        files: u32,
        bytes: u64,
        outcome: TransferOutcome,
    },
    /// System information (TOOL-7): asked and how it went; when allowed,
    /// the report that was sent (`allowed` with `report`).
    SystemInfo {
        outcome: ConsentOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        report: Option<Box<crate::channels::system_info::SystemReport>>,
    },
}

/// Which way a transfer went, seen from the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TransferDirection {
    /// From the customer's machine to the CSR.
    Download,
    /// From the CSR to the customer's machine.
    Upload,
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The customer said no (or did not answer).
    Denied,
    /// Every file arrived and its SHA-256 matched.
    Completed,
    /// One side cancelled it, or file transfer ended first.
    Cancelled,
    /// It failed (hash mismatch, disk full, refused path, ...).
    Failed,
}

/// How a consent request went (SHR-1..8), as recorded in the session report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    /// The person allowed it.
    Allowed,
    /// The person said no.
    Denied,
    /// The machine's policy refuses this capability; nobody was asked.
    DeniedByPolicy,
    /// Nobody answered within 30 s: a no.
    TimedOut,
    /// The approving side ended what it had allowed.
    Revoked,
    /// The requesting side ended its request.
    Stopped,
    /// The other participant left or reconnected.
    Gone,
}

impl ConsentOutcome {
    /// The wire name, also used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::DeniedByPolicy => "denied_by_policy",
            Self::TimedOut => "timed_out",
            Self::Revoked => "revoked",
            Self::Stopped => "stopped",
            Self::Gone => "gone",
        }
    }
}

/// An ICE candidate's type ([RFC 8445 §5.1.1](https://www.rfc-editor.org/rfc/rfc8445#section-5.1.1);
/// W3C `RTCIceCandidateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CandidateType {
    /// The peer's own address: a direct path.
    Host,
    /// Server reflexive: the peer's address as a STUN server saw it (through a NAT).
    Srflx,
    /// Peer reflexive: learnt from a connectivity check (through a NAT).
    Prflx,
    /// An address on a TURN relay: the media goes through the relay.
    Relay,
}

impl CandidateType {
    /// The wire name, also used in reports and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Srflx => "srflx",
            Self::Prflx => "prflx",
            Self::Relay => "relay",
        }
    }
}

/// The transport of the local candidate of a selected pair: `udp` or `tcp`,
/// or for a relay candidate how the peer reaches the relay (W3C
/// `RTCIceCandidateStats.relayProtocol`): `udp`, `tcp` or `tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PathProtocol {
    Udp,
    Tcp,
    Tls,
}

impl PathProtocol {
    /// The wire name, also used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// Optional features of the server, announced in `hello` so clients can offer
/// or hide them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Features {
    /// The server can send invitation e-mails (`POST /api/v1/invitations`, SES-2):
    /// the operator configured SMTP.
    #[serde(default)]
    pub email_invitations: bool,
}

/// What every participant of a session may know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct SessionInfo {
    pub session_id: SessionId,
    pub session_number: SessionNumber,
    /// The number grouped for reading out: `123 456 789`.
    pub display_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_code: Option<Label>,
}

/// One line of the participants list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub name: DisplayName,
    pub role: Role,
    /// False while the participant's connection is lost and the server waits for it to resume.
    pub connected: bool,
}

/// A participant's role in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The CSR who controls the session; the only one who can admit, refuse and end.
    PrimaryCsr,
    /// Another CSR helping; no control of the session (SES-6).
    AssistantCsr,
    /// The customer being helped.
    PrimaryCustomer,
    /// Further customers in the same session (SES-5).
    SecondaryCustomer,
    /// A customer in the lobby, not yet admitted.
    Waiting,
}

impl Role {
    /// CSRs (primary or assistant).
    pub fn is_csr(self) -> bool {
        matches!(self, Self::PrimaryCsr | Self::AssistantCsr)
    }

    /// Customers in the session (not those waiting in the lobby).
    pub fn is_customer(self) -> bool {
        matches!(self, Self::PrimaryCustomer | Self::SecondaryCustomer)
    }

    /// The wire name, also used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrimaryCsr => "primary_csr",
            Self::AssistantCsr => "assistant_csr",
            Self::PrimaryCustomer => "primary_customer",
            Self::SecondaryCustomer => "secondary_customer",
            Self::Waiting => "waiting",
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndReason {
    /// The primary CSR ended it.
    EndedByCsr,
    /// The primary CSR left.
    PrimaryCsrLeft,
    /// The primary CSR's connection was lost and did not come back within the grace period.
    PrimaryCsrTimedOut,
    /// The server is shutting down.
    ServerShutdown,
    /// The server stopped without ending the session (a crash); set in reports at the next start.
    Interrupted,
}

impl EndReason {
    /// The wire name, also used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndedByCsr => "ended_by_csr",
            Self::PrimaryCsrLeft => "primary_csr_left",
            Self::PrimaryCsrTimedOut => "primary_csr_timed_out",
            Self::ServerShutdown => "server_shutdown",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Error codes of [`ServerMessage::Error`]; `docs/protocol.md` lists when each is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is not valid JSON, or is a binary frame.
    BadJson,
    /// `"v"` is missing or not a version this server speaks.
    UnsupportedVersion,
    /// `"type"` is not a known message type.
    UnknownType,
    /// The message has a known type but a missing or invalid field (unknown fields are ignored).
    BadMessage,
    /// Too many messages on this connection; the message was dropped.
    RateLimited,
    /// Too many join attempts from this address; try again in a minute.
    JoinRateLimited,
    /// The CSR sign-in token is missing, invalid or expired.
    Unauthorized,
    /// No live session has this number, or the invite token is wrong. Deliberately one answer for both.
    SessionUnavailable,
    /// The session has no room for another participant.
    SessionFull,
    /// Your role may not do this (for example a customer ending the session).
    NotAllowed,
    /// This connection has not joined a session yet.
    NotInSession,
    /// This connection is already a participant; open another connection to join again.
    AlreadyInSession,
    /// No participant with this id is in your session and connected.
    UnknownParticipant,
    /// The resume token is unknown or its grace period is over.
    ResumeFailed,
    /// The server could not do it; try again.
    Internal,
}

impl ErrorCode {
    /// Every code, for metrics and docs.
    pub const ALL: &'static [ErrorCode] = &[
        Self::BadJson,
        Self::UnsupportedVersion,
        Self::UnknownType,
        Self::BadMessage,
        Self::RateLimited,
        Self::JoinRateLimited,
        Self::Unauthorized,
        Self::SessionUnavailable,
        Self::SessionFull,
        Self::NotAllowed,
        Self::NotInSession,
        Self::AlreadyInSession,
        Self::UnknownParticipant,
        Self::ResumeFailed,
        Self::Internal,
    ];

    /// The wire name (snake_case), also the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadJson => "bad_json",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnknownType => "unknown_type",
            Self::BadMessage => "bad_message",
            Self::RateLimited => "rate_limited",
            Self::JoinRateLimited => "join_rate_limited",
            Self::Unauthorized => "unauthorized",
            Self::SessionUnavailable => "session_unavailable",
            Self::SessionFull => "session_full",
            Self::NotAllowed => "not_allowed",
            Self::NotInSession => "not_in_session",
            Self::AlreadyInSession => "already_in_session",
            Self::UnknownParticipant => "unknown_participant",
            Self::ResumeFailed => "resume_failed",
            Self::Internal => "internal",
        }
    }

    /// The standard human-readable message for this code.
    pub fn message(self) -> &'static str {
        match self {
            Self::BadJson => "The message is not valid JSON text.",
            Self::UnsupportedVersion => "Unsupported protocol version; this server speaks \"v\": 1.",
            Self::UnknownType => "Unknown message type.",
            Self::BadMessage => "The message has a missing or invalid field.",
            Self::RateLimited => "Too many messages; this one was dropped.",
            Self::JoinRateLimited => "Too many join attempts from your address; try again in a minute.",
            Self::Unauthorized => "Sign in again: the token is missing, invalid or expired.",
            Self::SessionUnavailable => "No session with this number and invitation.",
            Self::SessionFull => "The session is full.",
            Self::NotAllowed => "Your role in this session does not allow this.",
            Self::NotInSession => "Join a session first.",
            Self::AlreadyInSession => "This connection is already in a session.",
            Self::UnknownParticipant => "No such participant in your session, or not connected.",
            Self::ResumeFailed => "Cannot resume: the token is unknown or the grace period is over.",
            Self::Internal => "Internal server error; try again.",
        }
    }
}

/// A STUN or TURN server for `RTCPeerConnection`'s `iceServers`
/// ([WebRTC §4.2.4](https://www.w3.org/TR/webrtc/#dom-rtciceserver)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}
