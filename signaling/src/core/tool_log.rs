//! What a session's report records of advanced file transfer (TOOL-5) and
//! system information (TOOL-7): issue 7, ADM-2.
//!
//! Both tools run on the customer's machine: its native peer asks the
//! customer, enforces the answer and moves the files or collects the report
//! over data channels the server never sees. It tells the server what
//! happened with `tool_record`, the way consent decisions arrive with
//! `consent_record` ([`consent_log`](super::consent_log)). The server does not
//! judge the record: it checks that the sender is an admitted **customer**
//! (the [`Registry`](super::Registry) checks "admitted",
//! [`Session::record_tool`] the role), that `with` is a CSR who is or was in
//! the same session and that the session's caps are not reached, and stamps
//! the record with its own clock and the names it knows.
//!
//! ```text
//! tool_record --Registry (sender admitted?)--> Session (customer? with a CSR? caps?)
//!     --ReportEvent::ToolRecorded--> report writer --> store --> GET /api/v1/reports
//!                                \--> hub: tandem_file_transfers_total, tandem_file_transfer_bytes_total
//! ```

use tandem_wire::{
    ConsentOutcome, DisplayName, ParticipantId, ToolRecord, TransferDirection, TransferOutcome,
};

use super::consent_log::{LogRefusal, outcome_text};
use super::session::Session;
use super::{ReportEvent, Timestamp};

/// Most tool records (file access, transfers, system information) one
/// session's report holds; beyond it `tool_record` is refused, so that a
/// client cannot grow the database without bound.
pub const MAX_TOOL_RECORDS: u32 = 1_000;

/// Most system information records **with a report** one session holds (a
/// report may take tens of kilobytes); `system_info` records without one
/// still count towards [`MAX_TOOL_RECORDS`] only.
pub const MAX_SYSTEM_REPORTS: u32 = 20;

/// One tool record as the report keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolLogEntry {
    /// Position in the session's tool log, from 0, in the order the server received them.
    pub seq: u32,
    /// When the server received it (the server's clock, not the sender's).
    pub at: Timestamp,
    /// The customer whose machine it happened on (the sender), and their name.
    pub from: ParticipantId,
    pub from_name: DisplayName,
    /// The CSR it happened with, and their name.
    pub with: ParticipantId,
    pub with_name: DisplayName,
    pub record: ToolRecord,
}

impl ToolLogEntry {
    /// The record in one English sentence, for people reading the report,
    /// e.g. "Download of “report.pdf” from Ann's computer by Carla (1 file,
    /// 52428800 bytes): completed". Names and items are text, never markup.
    pub fn text(&self) -> String {
        let (csr, customer) = (self.with_name.as_str(), self.from_name.as_str());
        match &self.record {
            ToolRecord::FileAccess { outcome } => format!(
                "{csr} asked for advanced file transfer on {customer}'s computer: {}",
                outcome_text(*outcome, csr, customer)
            ),
            ToolRecord::Transfer { direction, item, files, bytes, outcome } => {
                let (what, way) = match direction {
                    TransferDirection::Download => {
                        ("Download", format!("from {customer}'s computer by {csr}"))
                    }
                    TransferDirection::Upload => ("Upload", format!("to {customer}'s computer by {csr}")),
                };
                let files = if *files == 1 { "1 file".to_owned() } else { format!("{files} files") };
                let how = match outcome {
                    TransferOutcome::Denied => format!("denied by {customer}"),
                    TransferOutcome::Completed => "completed".to_owned(),
                    TransferOutcome::Cancelled => "cancelled".to_owned(),
                    TransferOutcome::Failed => "failed".to_owned(),
                };
                format!("{what} of “{}” {way} ({files}, {bytes} bytes): {how}", item.as_str())
            }
            ToolRecord::SystemInfo { outcome, report } => {
                let sent = match (outcome, report) {
                    (ConsentOutcome::Allowed, Some(_)) => ", report received",
                    (ConsentOutcome::Allowed, None) => ", no report",
                    _ => "",
                };
                format!(
                    "{csr} asked for system information about {customer}'s computer: {}{sent}",
                    outcome_text(*outcome, csr, customer)
                )
            }
        }
    }

    /// The transfer's direction, outcome and bytes, if this records a transfer.
    pub fn transfer(&self) -> Option<(TransferDirection, TransferOutcome, u64)> {
        match &self.record {
            ToolRecord::Transfer { direction, outcome, bytes, .. } => Some((*direction, *outcome, *bytes)),
            _ => None,
        }
    }
}

/// The name of a transfer direction in reports and metrics (as on the wire).
pub fn direction_name(d: TransferDirection) -> &'static str {
    match d {
        TransferDirection::Download => "download",
        TransferDirection::Upload => "upload",
    }
}

/// The name of a transfer outcome in reports and metrics (as on the wire).
pub fn transfer_outcome_name(o: TransferOutcome) -> &'static str {
    match o {
        TransferOutcome::Denied => "denied",
        TransferOutcome::Completed => "completed",
        TransferOutcome::Cancelled => "cancelled",
        TransferOutcome::Failed => "failed",
    }
}

/// Every direction and every transfer outcome, for metrics that exist from start-up.
pub const TRANSFER_DIRECTIONS: [TransferDirection; 2] =
    [TransferDirection::Download, TransferDirection::Upload];
pub const TRANSFER_OUTCOMES: [TransferOutcome; 4] = [
    TransferOutcome::Denied,
    TransferOutcome::Completed,
    TransferOutcome::Cancelled,
    TransferOutcome::Failed,
];

/// The wire's `what`: `file_access`, `transfer` or `system_info`.
pub fn what_name(record: &ToolRecord) -> &'static str {
    match record {
        ToolRecord::FileAccess { .. } => "file_access",
        ToolRecord::Transfer { .. } => "transfer",
        ToolRecord::SystemInfo { .. } => "system_info",
    }
}

/// A session's bookkeeping for tool records.
#[derive(Debug, Default)]
pub(super) struct ToolLog {
    /// Records emitted so far (the next one's `seq`).
    records: u32,
    /// Records emitted so far that carry a system report.
    system_reports: u32,
}

impl ToolLog {
    /// Records emitted so far.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Records emitted so far that carry a system report.
    pub fn system_reports(&self) -> u32 {
        self.system_reports
    }
}

impl Session {
    /// Takes customer `from`'s record of a tool used with CSR `with` into the
    /// report; `from` is an admitted participant of this session (the caller
    /// checked). Refused when `from` is not a customer, `with` is not a CSR
    /// who is or was in the session, or a cap is reached.
    pub fn record_tool(
        &mut self,
        from: ParticipantId,
        with: ParticipantId,
        record: ToolRecord,
        at: Timestamp,
    ) -> Result<ReportEvent, LogRefusal> {
        let sender = self.get(from).ok_or(LogRefusal::UnknownParticipant)?;
        if !sender.role.is_customer() {
            return Err(LogRefusal::NotACustomer);
        }
        let from_name = sender.name.clone();
        let with_name = self.csr_name(with).ok_or(LogRefusal::UnknownParticipant)?;
        let seq = self.tool_log.records;
        if seq >= MAX_TOOL_RECORDS {
            return Err(LogRefusal::ToolLogFull);
        }
        let has_report = matches!(record, ToolRecord::SystemInfo { report: Some(_), .. });
        if has_report && self.tool_log.system_reports >= MAX_SYSTEM_REPORTS {
            return Err(LogRefusal::SystemReportsFull);
        }
        self.tool_log.records += 1;
        self.tool_log.system_reports += u32::from(has_report);
        let record = ToolLogEntry { seq, at, from, from_name, with, with_name, record };
        Ok(ReportEvent::ToolRecorded { session_id: self.id, record })
    }

    /// The name of `id` if it is a CSR who is in this session or left it
    /// recently (see the consent log's departed list).
    fn csr_name(&self, id: ParticipantId) -> Option<DisplayName> {
        match self.get(id) {
            Some(p) => p.role.is_csr().then(|| p.name.clone()),
            None => {
                self.consent_log.departed(id).filter(|(_, role)| role.is_csr()).map(|(name, _)| name.clone())
            }
        }
    }
}
