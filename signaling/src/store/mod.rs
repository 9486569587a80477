//! Storage of CSR accounts and session reports, behind the [`Store`] trait.
//!
//! The session core never touches storage: it emits [`ReportEvent`]s, which the
//! report writer ([`crate::server`]) applies in batches. SQLite ([`sqlite`]) is
//! the embedded default; another database is another implementation of the
//! trait, chosen by the `database_url` scheme in [`open`].

pub mod sqlite;

use std::sync::Arc;

use serde::Serialize;
use tandem_wire::channels::system_info::SystemReport;
use tandem_wire::{DisplayName, SessionId};

use crate::core::{AgentId, ReportEvent, Timestamp};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("an agent named {0:?} already exists")]
    AgentExists(String),
    #[error("unsupported database URL {0:?}: only sqlite:// is built in")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// A CSR account as stored.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: u64,
}

/// A session's activity report (ADM-2), as the HTTP API returns it. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub session_id: String,
    pub session_number: String,
    pub session_type: Option<String>,
    pub tracking_code: Option<String>,
    pub started_at: u64,
    pub ended_at: Option<u64>,
    pub end_reason: Option<String>,
    /// `ended_at - started_at` in whole seconds, once ended.
    pub duration_secs: Option<u64>,
    /// Names of the CSRs who took part (primary first).
    pub csrs: Vec<String>,
    pub participants: Vec<ReportParticipant>,
    /// The CSR's session notes as last saved (TOOL-6), or `None` if never saved.
    pub notes: Option<String>,
    /// When the notes were last saved.
    pub notes_saved_at: Option<u64>,
    /// The network path of each connection, as its peers last reported it.
    pub paths: Vec<ReportPath>,
    /// Consent decisions (issue 6), in the order the server received them.
    pub consent: Vec<ReportConsent>,
    /// Whether a participant reported another (X-5, "End session and report").
    pub reported: bool,
    /// Who reported whom, and when, in order.
    pub participant_reports: Vec<ReportFlag>,
    /// Advanced file transfer asked for, allowed or not, and ended (TOOL-5), in order.
    pub file_access: Vec<ReportFileAccess>,
    /// Files transferred (TOOL-5): one entry per transfer, however it ended, in order.
    pub files_transferred: Vec<ReportTransfer>,
    /// System information asked for (TOOL-7), with the report when allowed, in order.
    pub system_info: Vec<ReportSystemInfo>,
}

/// Who a tool record is about: the customer whose machine recorded it and the CSR.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportToolParties {
    /// When the server received the record.
    pub recorded_at: u64,
    /// The customer (the participant who recorded it), and their name.
    pub from: String,
    pub from_name: String,
    /// The CSR, and their name.
    pub with: String,
    pub with_name: String,
}

/// Advanced file transfer asked for, and how it went (TOOL-5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFileAccess {
    #[serde(flatten)]
    pub parties: ReportToolParties,
    /// `allowed`, `denied`, `denied_by_policy`, `timed_out`, `revoked` ("End
    /// file transfer" by the customer), `stopped` (closed by the CSR), `gone`.
    pub outcome: String,
    /// The record as one English sentence.
    pub text: String,
}

/// One transfer, once it was over (TOOL-5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportTransfer {
    #[serde(flatten)]
    pub parties: ReportToolParties,
    /// `download` (customer to CSR) or `upload` (CSR to customer).
    pub direction: String,
    /// The file or folder as the customer was asked about it. Text, never HTML.
    pub item: String,
    pub files: u32,
    pub bytes: u64,
    /// `denied`, `completed`, `cancelled` or `failed`.
    pub outcome: String,
    /// The record as one English sentence.
    pub text: String,
}

/// System information asked for (TOOL-7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSystemInfo {
    #[serde(flatten)]
    pub parties: ReportToolParties,
    /// The customer's answer, as in [`ReportFileAccess::outcome`].
    pub outcome: String,
    /// `outcome == "allowed"`.
    pub allowed: bool,
    /// The report the customer's machine sent, when allowed; every string in it is text, never HTML.
    pub report: Option<Box<SystemReport>>,
    /// The record as one English sentence.
    pub text: String,
}

/// One consent decision, as participant `from` recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportConsent {
    /// When the server received it.
    pub recorded_at: u64,
    pub from: String,
    pub from_name: String,
    /// The other participant of the decision.
    pub with: String,
    pub with_name: String,
    /// `view_desktop`, `control_desktop`, `view_application`, `control_application`, `share_view`, `share_control`.
    pub capability: String,
    /// `incoming` (`with` asked `from`) or `outgoing` (`from` asked `with`).
    pub direction: String,
    /// `allowed`, `denied`, `denied_by_policy`, `timed_out`, `revoked`, `stopped`, `gone`.
    pub outcome: String,
    /// The decision as one English sentence.
    pub text: String,
}

/// Participant `by` reported participant `about`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFlag {
    pub by: String,
    pub by_name: String,
    pub about: String,
    pub about_name: String,
    pub reported_at: u64,
    /// "{by_name} reported {about_name}".
    pub text: String,
}

/// The path participant `from` reported for its connection with `with`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportPath {
    pub from: String,
    pub with: String,
    /// Candidate types of the selected pair: `host`, `srflx`, `prflx` or `relay`.
    pub local: String,
    pub remote: String,
    /// `udp`, `tcp` or `tls`.
    pub protocol: String,
    pub reported_at: u64,
}

/// One participant line of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportParticipant {
    pub participant_id: String,
    pub name: String,
    pub role: String,
    pub agent_id: Option<i64>,
    pub joined_at: u64,
    pub left_at: Option<u64>,
    pub leave_reason: Option<String>,
}

/// Accounts and reports.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a CSR account.
    async fn add_agent(
        &self,
        name: &DisplayName,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<AgentId, StoreError>;
    /// Looks an account up by name (case-insensitive).
    async fn find_agent(&self, name: &str) -> Result<Option<AgentRecord>, StoreError>;
    /// Every account, by name.
    async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError>;
    /// Applies report events in order, all or none.
    async fn apply(&self, events: &[ReportEvent]) -> Result<(), StoreError>;
    /// Marks sessions left open by a crash as ended with reason `interrupted`; returns how many.
    async fn close_interrupted(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// The newest reports first.
    async fn reports(&self, limit: u32) -> Result<Vec<SessionReport>, StoreError>;
    /// One report.
    async fn report(&self, id: SessionId) -> Result<Option<SessionReport>, StoreError>;
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Flushes and closes.
    async fn close(&self);
}

/// Opens the store named by `url` (`sqlite://PATH`), creating and migrating it.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
