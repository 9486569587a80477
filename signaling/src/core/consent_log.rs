//! What a session's report records of consent (issue 6, SHR-1..8) and of
//! "End session and report" (X-5).
//!
//! Peers decide consent between themselves (`peer`'s consent core, the web
//! client's prompts); the side that records a decision tells the server with
//! `consent_record`, and a participant who reports another sends
//! `report_participant`. The server does not judge the decisions: it checks
//! that the sender is an admitted participant (the [`Registry`](super::Registry)),
//! that the other participant is or was admitted to the same session and that
//! the session's cap is not reached ([`Session::record_consent`],
//! [`Session::report_participant`]), and stamps the record with its own clock
//! and the names it knows.
//!
//! ```text
//! consent_record / report_participant --Registry (sender admitted?)--> Session (other known? cap?)
//!     --ReportEvent::ConsentRecorded / ParticipantReported--> report writer --> store --> GET /api/v1/reports
//! ```

use std::collections::{HashSet, VecDeque};

use tandem_wire::channels::Capability;
use tandem_wire::{ConsentOutcome, DisplayName, ErrorCode, ParticipantId, Role, ServerMessage};

use super::session::Session;
use super::tool_log::{MAX_SYSTEM_REPORTS, MAX_TOOL_RECORDS};
use super::{ConnId, Output, ReportEvent, Timestamp};

/// Most consent records one session's report holds; beyond it `consent_record`
/// is refused, so a client cannot grow the database without bound.
pub const MAX_CONSENT_RECORDS: u32 = 1_000;

/// Most participant reports (X-5) one session holds; each (reporter, reported)
/// pair counts once.
pub const MAX_PARTICIPANT_REPORTS: usize = 100;

/// How many admitted participants who have left a session are remembered, so
/// that a decision recorded after someone left (outcome `gone`) or a report
/// about them still finds their name. The oldest are forgotten first.
const DEPARTED_KEPT: usize = 64;

/// Who asked for a capability, seen from the participant who records the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentDirection {
    /// The other participant asked the sender (the sender is the approving side).
    Incoming,
    /// The sender asked the other participant (the sender is the requesting side).
    Outgoing,
}

impl ConsentDirection {
    /// The wire's `incoming` flag: `true` when the other participant asked the sender.
    pub fn from_incoming(incoming: bool) -> Self {
        if incoming { Self::Incoming } else { Self::Outgoing }
    }

    /// The name stored in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

/// One consent decision as the report keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    /// Position in the session's consent log, from 0, in the order the server received them.
    pub seq: u32,
    /// When the server received it (the server's clock, not the sender's).
    pub at: Timestamp,
    /// The participant who recorded it, and their name.
    pub from: ParticipantId,
    pub from_name: DisplayName,
    /// The other participant of the decision, and their name.
    pub with: ParticipantId,
    pub with_name: DisplayName,
    pub capability: Capability,
    pub direction: ConsentDirection,
    pub outcome: ConsentOutcome,
}

impl ConsentRecord {
    /// The decision in one English sentence, for people reading the report,
    /// e.g. "Carla asked to control Ann's desktop: allowed by Ann (recorded by Ann)".
    pub fn text(&self) -> String {
        let (requester, approver) = match self.direction {
            ConsentDirection::Incoming => (&self.with_name, &self.from_name),
            ConsentDirection::Outgoing => (&self.from_name, &self.with_name),
        };
        let (r, a) = (requester.as_str(), approver.as_str());
        let what = match self.capability {
            Capability::ViewDesktop => format!("view {a}'s desktop"),
            Capability::ControlDesktop => format!("control {a}'s desktop"),
            Capability::ViewApplication => format!("view one application of {a}'s"),
            Capability::ControlApplication => format!("control one application of {a}'s"),
            Capability::ShareView => format!("show their own screen to {a}"),
            Capability::ShareControl => format!("let {a} control their own screen"),
        };
        let how = outcome_text(self.outcome, r, a);
        format!("{r} asked to {what}: {how} (recorded by {})", self.from_name.as_str())
    }
}

/// How a request by `requester` to `approver` went, as report sentences say
/// it: "allowed by Ann", "stopped by Carla", ...
pub(super) fn outcome_text(outcome: ConsentOutcome, requester: &str, approver: &str) -> String {
    let (r, a) = (requester, approver);
    match outcome {
        ConsentOutcome::Allowed => format!("allowed by {a}"),
        ConsentOutcome::Denied => format!("denied by {a}"),
        ConsentOutcome::DeniedByPolicy => format!("denied by the policy of {a}'s machine"),
        ConsentOutcome::TimedOut => format!("no answer from {a} within 30 s (denied)"),
        ConsentOutcome::Revoked => format!("revoked by {a}"),
        ConsentOutcome::Stopped => format!("stopped by {r}"),
        ConsentOutcome::Gone => "ended: a participant left or reconnected".to_owned(),
    }
}

/// Participant `by` reported participant `about` to the site (X-5).
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantReport {
    /// When the server received it.
    pub at: Timestamp,
    pub by: ParticipantId,
    pub by_name: DisplayName,
    pub about: ParticipantId,
    pub about_name: DisplayName,
}

impl ParticipantReport {
    /// The report in one English sentence, e.g. "Ann reported Carla".
    pub fn text(&self) -> String {
        format!("{} reported {}", self.by_name.as_str(), self.about_name.as_str())
    }
}

/// A session's bookkeeping for these records.
#[derive(Debug, Default)]
pub(super) struct ConsentLog {
    /// Admitted participants who have left, with the role they had, oldest
    /// first (at most [`DEPARTED_KEPT`]).
    departed: VecDeque<(ParticipantId, DisplayName, Role)>,
    /// Consent records emitted so far (the next one's `seq`).
    consent_records: u32,
    /// (reporter, reported) pairs already reported.
    reports: HashSet<(ParticipantId, ParticipantId)>,
}

impl ConsentLog {
    /// Remembers an admitted participant who left the session.
    pub fn remember_departed(&mut self, id: ParticipantId, name: DisplayName, role: Role) {
        if self.departed.len() == DEPARTED_KEPT {
            self.departed.pop_front();
        }
        self.departed.push_back((id, name, role));
    }

    /// The name and last role of an admitted participant who left, if still remembered.
    pub fn departed(&self, id: ParticipantId) -> Option<(&DisplayName, Role)> {
        self.departed.iter().rev().find(|(d, _, _)| *d == id).map(|(_, name, role)| (name, *role))
    }

    /// Consent records emitted so far.
    pub fn consent_records(&self) -> u32 {
        self.consent_records
    }

    /// Participant reports emitted so far.
    pub fn participant_reports(&self) -> usize {
        self.reports.len()
    }
}

/// Why a record (a consent decision, a participant report, or a tool record
/// of [`tool_log`](super::tool_log)) was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LogRefusal {
    /// The other participant is the sender, someone waiting in the lobby, or
    /// was never admitted to this session (or left long ago).
    UnknownParticipant,
    /// The session's report holds [`MAX_CONSENT_RECORDS`] consent records.
    ConsentLogFull,
    /// The session holds [`MAX_PARTICIPANT_REPORTS`] participant reports.
    ReportsFull,
    /// A `tool_record` from a CSR: tools run on, and are recorded by, the customer's machine.
    NotACustomer,
    /// The session's report holds [`MAX_TOOL_RECORDS`] tool records.
    ToolLogFull,
    /// The session's report holds [`MAX_SYSTEM_REPORTS`] system reports.
    SystemReportsFull,
}

impl LogRefusal {
    /// The error reply to a refused `kind` request: `unknown_participant`, or
    /// `not_allowed` with a message saying why (the sender's role, or a
    /// session cap reached).
    pub fn reply(self, conn: ConnId, kind: &'static str) -> Output {
        let full = |what: String| {
            format!("This session's report already holds the most {what} it may; this one was not stored.")
        };
        let message = match self {
            Self::UnknownParticipant => {
                return Output::Send {
                    conn,
                    msg: ServerMessage::error(ErrorCode::UnknownParticipant, Some(kind)),
                };
            }
            Self::NotACustomer => "Only a customer records file transfers and system information: \
                                   they happen on the customer's machine."
                .to_owned(),
            Self::ConsentLogFull => full(format!("consent records ({MAX_CONSENT_RECORDS})")),
            Self::ReportsFull => full(format!("participant reports ({MAX_PARTICIPANT_REPORTS})")),
            Self::ToolLogFull => full(format!("tool records ({MAX_TOOL_RECORDS})")),
            Self::SystemReportsFull => full(format!("system information reports ({MAX_SYSTEM_REPORTS})")),
        };
        let msg =
            ServerMessage::Error { code: ErrorCode::NotAllowed, message, in_reply_to: Some(kind.to_owned()) };
        Output::Send { conn, msg }
    }
}

impl Session {
    /// Takes `from`'s consent decision with `with` into the report; `from` is
    /// an admitted participant of this session (the caller checked).
    pub fn record_consent(
        &mut self,
        from: ParticipantId,
        with: ParticipantId,
        capability: Capability,
        direction: ConsentDirection,
        outcome: ConsentOutcome,
        at: Timestamp,
    ) -> Result<ReportEvent, LogRefusal> {
        let (from_name, with_name) = self.names_of_pair(from, with)?;
        let seq = self.consent_log.consent_records;
        if seq >= MAX_CONSENT_RECORDS {
            return Err(LogRefusal::ConsentLogFull);
        }
        self.consent_log.consent_records += 1;
        let record =
            ConsentRecord { seq, at, from, from_name, with, with_name, capability, direction, outcome };
        Ok(ReportEvent::ConsentRecorded { session_id: self.id, record })
    }

    /// Flags the session: `by` reports `about`. `None` when `by` already
    /// reported `about` (the first report stands); `by` is an admitted
    /// participant of this session (the caller checked).
    pub fn report_participant(
        &mut self,
        by: ParticipantId,
        about: ParticipantId,
        at: Timestamp,
    ) -> Result<Option<ReportEvent>, LogRefusal> {
        let (by_name, about_name) = self.names_of_pair(by, about)?;
        if self.consent_log.reports.contains(&(by, about)) {
            return Ok(None);
        }
        if self.consent_log.reports.len() >= MAX_PARTICIPANT_REPORTS {
            return Err(LogRefusal::ReportsFull);
        }
        self.consent_log.reports.insert((by, about));
        let report = ParticipantReport { at, by, by_name, about, about_name };
        Ok(Some(ReportEvent::ParticipantReported { session_id: self.id, report }))
    }

    /// The names of `me` and of `other`, who must be another participant that
    /// is (or was, see [`DEPARTED_KEPT`]) admitted to this session.
    fn names_of_pair(
        &self,
        me: ParticipantId,
        other: ParticipantId,
    ) -> Result<(DisplayName, DisplayName), LogRefusal> {
        let my_name = self.get(me).map(|p| p.name.clone()).ok_or(LogRefusal::UnknownParticipant)?;
        if other == me {
            return Err(LogRefusal::UnknownParticipant);
        }
        let other_name = match self.get(other) {
            Some(p) if p.role == Role::Waiting => None,
            Some(p) => Some(p.name.clone()),
            None => self.consent_log.departed(other).map(|(name, _)| name.clone()),
        };
        Ok((my_name, other_name.ok_or(LogRefusal::UnknownParticipant)?))
    }
}
