//! The embedded SQLite store: one file in the data directory, WAL mode,
//! migrations applied at start. File transfer and system information records
//! (issue 7) have their queries in [`tool_records`].

mod tool_records;

use std::str::FromStr as _;

use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tandem_wire::{DisplayName, EndReason, SessionId};

use super::{
    AgentRecord, ReportConsent, ReportFlag, ReportParticipant, ReportPath, SessionReport, Store, StoreError,
};
use crate::core::{AgentId, ReportEvent, Timestamp};

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and runs migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.unix_millis()).unwrap_or(i64::MAX)
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn add_agent(
        &self,
        name: &DisplayName,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<AgentId, StoreError> {
        let r =
            sqlx::query("INSERT INTO agents (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING id")
                .bind(name.as_str())
                .bind(password_hash)
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await;
        match r {
            Ok(row) => Ok(AgentId(row.get(0))),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::AgentExists(name.as_str().into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn find_agent(&self, name: &str) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query("SELECT id, name, password_hash, created_at FROM agents WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| agent_from_row(&r)))
    }

    async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, password_hash, created_at FROM agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(agent_from_row).collect())
    }

    async fn apply(&self, events: &[ReportEvent]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in events {
            match e {
                ReportEvent::SessionStarted {
                    session_id,
                    session_number,
                    session_type,
                    tracking_code,
                    at,
                } => {
                    sqlx::query(
                        "INSERT INTO sessions (session_id, session_number, session_type, tracking_code, started_at) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(session_id.to_string())
                    .bind(session_number.to_digits())
                    .bind(session_type.as_ref().map(|l| l.as_str()))
                    .bind(tracking_code.as_ref().map(|l| l.as_str()))
                    .bind(ms(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::ParticipantJoined { session_id, participant_id, name, role, agent_id, at } => {
                    sqlx::query(
                        "INSERT INTO participants (session_id, participant_id, name, role, agent_id, joined_at) \
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(session_id.to_string())
                    .bind(participant_id.to_string())
                    .bind(name.as_str())
                    .bind(role.as_str())
                    .bind(agent_id.map(|a| a.0))
                    .bind(ms(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::ParticipantLeft { session_id, participant_id, reason, at } => {
                    sqlx::query(
                        "UPDATE participants SET left_at = ?, leave_reason = ? \
                         WHERE session_id = ? AND participant_id = ? AND left_at IS NULL",
                    )
                    .bind(ms(*at))
                    .bind(reason.as_str())
                    .bind(session_id.to_string())
                    .bind(participant_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::PathReported { session_id, from, with, path, at } => {
                    sqlx::query(
                        "INSERT INTO paths (session_id, from_participant, with_participant, local_candidate, \
                         remote_candidate, protocol, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (session_id, from_participant, with_participant) DO UPDATE SET \
                         local_candidate = excluded.local_candidate, remote_candidate = excluded.remote_candidate, \
                         protocol = excluded.protocol, reported_at = excluded.reported_at",
                    )
                    .bind(session_id.to_string())
                    .bind(from.to_string())
                    .bind(with.to_string())
                    .bind(path.local.as_str())
                    .bind(path.remote.as_str())
                    .bind(path.protocol.as_str())
                    .bind(ms(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::ConsentRecorded { session_id, record: r } => {
                    sqlx::query(
                        "INSERT INTO consent_records (session_id, seq, recorded_at, from_participant, from_name, \
                         with_participant, with_name, capability, direction, outcome, text) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(session_id.to_string())
                    .bind(i64::from(r.seq))
                    .bind(ms(r.at))
                    .bind(r.from.to_string())
                    .bind(r.from_name.as_str())
                    .bind(r.with.to_string())
                    .bind(r.with_name.as_str())
                    .bind(r.capability.as_str())
                    .bind(r.direction.as_str())
                    .bind(r.outcome.as_str())
                    .bind(r.text())
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::ParticipantReported { session_id, report: r } => {
                    sqlx::query(
                        "INSERT INTO participant_reports (session_id, by_participant, by_name, about_participant, \
                         about_name, reported_at, text) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (session_id, by_participant, about_participant) DO NOTHING",
                    )
                    .bind(session_id.to_string())
                    .bind(r.by.to_string())
                    .bind(r.by_name.as_str())
                    .bind(r.about.to_string())
                    .bind(r.about_name.as_str())
                    .bind(ms(r.at))
                    .bind(r.text())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE sessions SET reported = 1 WHERE session_id = ?")
                        .bind(session_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                ReportEvent::ToolRecorded { session_id, record } => {
                    tool_records::insert(&mut tx, *session_id, record).await?;
                }
                ReportEvent::NotesSaved { session_id, by, notes, at } => {
                    sqlx::query(
                        "UPDATE sessions SET notes = ?, notes_saved_at = ?, notes_saved_by = ? WHERE session_id = ?",
                    )
                    .bind(notes.as_str())
                    .bind(ms(*at))
                    .bind(by.to_string())
                    .bind(session_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                ReportEvent::SessionEnded { session_id, reason, at } => {
                    sqlx::query("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE session_id = ?")
                        .bind(ms(*at))
                        .bind(reason.as_str())
                        .bind(session_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn close_interrupted(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE participants SET left_at = ?, leave_reason = 'session_ended' WHERE left_at IS NULL \
             AND session_id IN (SELECT session_id FROM sessions WHERE ended_at IS NULL)",
        )
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL")
            .bind(ms(now))
            .bind(EndReason::Interrupted.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn reports(&self, limit: u32) -> Result<Vec<SessionReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, session_number, session_type, tracking_code, started_at, ended_at, end_reason, \
             notes, notes_saved_at, reported \
             FROM sessions ORDER BY started_at DESC, session_id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut reports = Vec::with_capacity(rows.len());
        for row in &rows {
            reports.push(self.report_from_row(row).await?);
        }
        Ok(reports)
    }

    async fn report(&self, id: SessionId) -> Result<Option<SessionReport>, StoreError> {
        let row = sqlx::query(
            "SELECT session_id, session_number, session_type, tracking_code, started_at, ended_at, end_reason, \
             notes, notes_saved_at, reported \
             FROM sessions WHERE session_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.report_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl SqliteStore {
    async fn report_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> Result<SessionReport, StoreError> {
        let session_id: String = row.get("session_id");
        let people = sqlx::query(
            "SELECT participant_id, name, role, agent_id, joined_at, left_at, leave_reason \
             FROM participants WHERE session_id = ? ORDER BY joined_at, rowid",
        )
        .bind(&session_id)
        .fetch_all(&self.pool)
        .await?;
        let participants: Vec<ReportParticipant> = people
            .iter()
            .map(|p| ReportParticipant {
                participant_id: p.get("participant_id"),
                name: p.get("name"),
                role: p.get("role"),
                agent_id: p.get("agent_id"),
                joined_at: unsigned(p.get("joined_at")),
                left_at: p.get::<Option<i64>, _>("left_at").map(unsigned),
                leave_reason: p.get("leave_reason"),
            })
            .collect();
        let paths = sqlx::query(
            "SELECT from_participant, with_participant, local_candidate, remote_candidate, protocol, reported_at \
             FROM paths WHERE session_id = ? ORDER BY reported_at, rowid",
        )
        .bind(&session_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|p| ReportPath {
            from: p.get("from_participant"),
            with: p.get("with_participant"),
            local: p.get("local_candidate"),
            remote: p.get("remote_candidate"),
            protocol: p.get("protocol"),
            reported_at: unsigned(p.get("reported_at")),
        })
        .collect();
        let consent = sqlx::query(
            "SELECT recorded_at, from_participant, from_name, with_participant, with_name, capability, direction, \
             outcome, text FROM consent_records WHERE session_id = ? ORDER BY seq",
        )
        .bind(&session_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|c| ReportConsent {
            recorded_at: unsigned(c.get("recorded_at")),
            from: c.get("from_participant"),
            from_name: c.get("from_name"),
            with: c.get("with_participant"),
            with_name: c.get("with_name"),
            capability: c.get("capability"),
            direction: c.get("direction"),
            outcome: c.get("outcome"),
            text: c.get("text"),
        })
        .collect();
        let participant_reports = sqlx::query(
            "SELECT by_participant, by_name, about_participant, about_name, reported_at, text \
             FROM participant_reports WHERE session_id = ? ORDER BY reported_at, rowid",
        )
        .bind(&session_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|f| ReportFlag {
            by: f.get("by_participant"),
            by_name: f.get("by_name"),
            about: f.get("about_participant"),
            about_name: f.get("about_name"),
            reported_at: unsigned(f.get("reported_at")),
            text: f.get("text"),
        })
        .collect();
        let tools = tool_records::load(&self.pool, &session_id).await?;
        let mut csrs: Vec<&ReportParticipant> =
            participants.iter().filter(|p| p.role.ends_with("_csr")).collect();
        csrs.sort_by_key(|p| p.role != "primary_csr");
        let started_at = unsigned(row.get("started_at"));
        let ended_at = row.get::<Option<i64>, _>("ended_at").map(unsigned);
        Ok(SessionReport {
            csrs: csrs.iter().map(|p| p.name.clone()).collect(),
            session_id,
            session_number: row.get("session_number"),
            session_type: row.get("session_type"),
            tracking_code: row.get("tracking_code"),
            started_at,
            ended_at,
            end_reason: row.get("end_reason"),
            duration_secs: ended_at.map(|e| e.saturating_sub(started_at) / 1000),
            participants,
            notes: row.get("notes"),
            notes_saved_at: row.get::<Option<i64>, _>("notes_saved_at").map(unsigned),
            paths,
            consent,
            reported: row.get::<i64, _>("reported") != 0,
            participant_reports,
            file_access: tools.file_access,
            files_transferred: tools.files_transferred,
            system_info: tools.system_info,
        })
    }
}

fn agent_from_row(r: &sqlx::sqlite::SqliteRow) -> AgentRecord {
    AgentRecord {
        id: AgentId(r.get("id")),
        name: r.get("name"),
        password_hash: r.get("password_hash"),
        created_at: unsigned(r.get("created_at")),
    }
}

#[cfg(test)]
mod tests {
    use tandem_wire::{ParticipantId, Role, SessionNumber};

    use super::*;
    use crate::core::LeaveReason;

    async fn temp_store(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap()
    }

    #[tokio::test]
    async fn agents_are_unique_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let s = temp_store(&dir).await;
        let t = Timestamp::from_unix_millis(5);
        let id = s.add_agent(&DisplayName::parse("Carla").unwrap(), "$hash", t).await.unwrap();
        assert!(matches!(
            s.add_agent(&DisplayName::parse("carla").unwrap(), "$h", t).await,
            Err(StoreError::AgentExists(_))
        ));
        let found = s.find_agent("CARLA").await.unwrap().unwrap();
        assert_eq!((found.id, found.password_hash.as_str()), (id, "$hash"));
        assert!(s.find_agent("nobody").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn report_events_build_a_report_that_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let sid = SessionId::from_raw(77);
        let (csr, ann) = (ParticipantId::from_raw(1), ParticipantId::from_raw(2));
        let at = Timestamp::from_unix_millis;
        {
            let s = temp_store(&dir).await;
            s.apply(&[
                ReportEvent::SessionStarted {
                    session_id: sid,
                    session_number: SessionNumber::new(123_456_789).unwrap(),
                    session_type: Some(tandem_wire::Label::parse("Billing").unwrap()),
                    tracking_code: None,
                    at: at(1_000),
                },
                ReportEvent::ParticipantJoined {
                    session_id: sid,
                    participant_id: csr,
                    name: DisplayName::parse("Carla").unwrap(),
                    role: Role::PrimaryCsr,
                    agent_id: None,
                    at: at(1_000),
                },
                ReportEvent::ParticipantJoined {
                    session_id: sid,
                    participant_id: ann,
                    name: DisplayName::parse("Ann").unwrap(),
                    role: Role::PrimaryCustomer,
                    agent_id: None,
                    at: at(2_000),
                },
                ReportEvent::ParticipantLeft {
                    session_id: sid,
                    participant_id: ann,
                    reason: LeaveReason::Left,
                    at: at(3_000),
                },
                ReportEvent::NotesSaved {
                    session_id: sid,
                    by: csr,
                    notes: tandem_wire::Notes::parse("first draft").unwrap(),
                    at: at(30_000),
                },
                ReportEvent::NotesSaved {
                    session_id: sid,
                    by: csr,
                    notes: tandem_wire::Notes::parse("Line 1\nLine 2").unwrap(),
                    at: at(60_000),
                },
                ReportEvent::SessionEnded { session_id: sid, reason: EndReason::EndedByCsr, at: at(61_000) },
            ])
            .await
            .unwrap();
            s.close().await;
        }
        let s = temp_store(&dir).await;
        let r = s.report(sid).await.unwrap().unwrap();
        assert_eq!(r.session_number, "123456789");
        assert_eq!(r.session_type.as_deref(), Some("Billing"));
        assert_eq!((r.started_at, r.ended_at, r.duration_secs), (1_000, Some(61_000), Some(60)));
        assert_eq!(r.end_reason.as_deref(), Some("ended_by_csr"));
        assert_eq!(r.csrs, vec!["Carla"]);
        assert_eq!(r.notes.as_deref(), Some("Line 1\nLine 2"), "the latest save wins");
        assert_eq!(r.notes_saved_at, Some(60_000));
        assert_eq!(r.participants.len(), 2);
        assert_eq!(r.participants[1].left_at, Some(3_000));
        assert_eq!(r.participants[1].leave_reason.as_deref(), Some("left"));
        assert_eq!(r.participants[0].leave_reason, None, "events not sent are not invented");
        assert_eq!(s.reports(10).await.unwrap(), vec![r]);
    }

    #[tokio::test]
    async fn consent_records_and_participant_reports_are_in_the_report() {
        use crate::core::{ConsentDirection, ConsentRecord, ParticipantReport};
        use tandem_wire::ConsentOutcome;
        use tandem_wire::channels::Capability;

        let dir = tempfile::tempdir().unwrap();
        let s = temp_store(&dir).await;
        let sid = SessionId::from_raw(5);
        let (csr, ann) = (ParticipantId::from_raw(1), ParticipantId::from_raw(2));
        let at = Timestamp::from_unix_millis;
        let record = |seq, outcome| ConsentRecord {
            seq,
            at: at(2_000), // the same millisecond: `seq` keeps the order
            from: ann,
            from_name: DisplayName::parse("Ann").unwrap(),
            with: csr,
            with_name: DisplayName::parse("Carla").unwrap(),
            capability: Capability::ControlDesktop,
            direction: ConsentDirection::Incoming,
            outcome,
        };
        let flag = |t| ParticipantReport {
            at: at(t),
            by: ann,
            by_name: DisplayName::parse("Ann").unwrap(),
            about: csr,
            about_name: DisplayName::parse("Carla").unwrap(),
        };
        s.apply(&[ReportEvent::SessionStarted {
            session_id: sid,
            session_number: SessionNumber::new(222_222_222).unwrap(),
            session_type: None,
            tracking_code: None,
            at: at(1_000),
        }])
        .await
        .unwrap();
        let r = s.report(sid).await.unwrap().unwrap();
        assert_eq!((r.consent.len(), r.reported, r.participant_reports.len()), (0, false, 0));

        s.apply(&[
            ReportEvent::ConsentRecorded { session_id: sid, record: record(0, ConsentOutcome::Allowed) },
            ReportEvent::ConsentRecorded { session_id: sid, record: record(1, ConsentOutcome::Revoked) },
            ReportEvent::ParticipantReported { session_id: sid, report: flag(3_000) },
        ])
        .await
        .unwrap();
        // A repeated report of the same pair (the core sends none, a retry might) keeps the first.
        s.apply(&[ReportEvent::ParticipantReported { session_id: sid, report: flag(4_000) }]).await.unwrap();
        let r = s.report(sid).await.unwrap().unwrap();
        let outcomes: Vec<_> = r.consent.iter().map(|c| c.outcome.as_str()).collect();
        assert_eq!(outcomes, ["allowed", "revoked"]);
        let c = &r.consent[1];
        assert_eq!(
            (c.recorded_at, c.from.as_str(), c.from_name.as_str(), c.with_name.as_str()),
            (2_000, "0000000000000002", "Ann", "Carla")
        );
        assert_eq!((c.capability.as_str(), c.direction.as_str()), ("control_desktop", "incoming"));
        assert_eq!(c.text, "Carla asked to control Ann's desktop: revoked by Ann (recorded by Ann)");
        assert!(r.reported);
        assert_eq!(r.participant_reports.len(), 1);
        let f = &r.participant_reports[0];
        assert_eq!(
            (f.by.as_str(), f.about.as_str(), f.reported_at, f.text.as_str()),
            ("0000000000000002", "0000000000000001", 3_000, "Ann reported Carla")
        );
    }

    #[tokio::test]
    async fn sessions_open_at_a_crash_are_closed_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let s = temp_store(&dir).await;
        let sid = SessionId::from_raw(1);
        s.apply(&[ReportEvent::SessionStarted {
            session_id: sid,
            session_number: SessionNumber::new(111_111_111).unwrap(),
            session_type: None,
            tracking_code: None,
            at: Timestamp::from_unix_millis(10),
        }])
        .await
        .unwrap();
        assert_eq!(s.close_interrupted(Timestamp::from_unix_millis(20)).await.unwrap(), 1);
        let r = s.report(sid).await.unwrap().unwrap();
        assert_eq!(r.end_reason.as_deref(), Some("interrupted"));
        assert_eq!(s.close_interrupted(Timestamp::from_unix_millis(30)).await.unwrap(), 0);
    }
}
