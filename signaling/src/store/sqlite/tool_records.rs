//! The `tool_records` table (migration 0005, issue 7): file access, transfers
//! and system information as customers' machines recorded them, written from
//! [`ReportEvent::ToolRecorded`](crate::core::ReportEvent::ToolRecorded) and
//! read back into the report's `file_access`, `files_transferred` and
//! `system_info` lists. A system report is kept as JSON text and parsed back
//! into its wire type, so that the report API serves exactly what was sent.

use sqlx::Row as _;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Sqlite, Transaction};
use tandem_wire::channels::system_info::SystemReport;
use tandem_wire::{SessionId, ToolRecord};

use super::{ms, unsigned};
use crate::core::{ToolLogEntry, direction_name, transfer_outcome_name, what_name};
use crate::store::{ReportFileAccess, ReportSystemInfo, ReportToolParties, ReportTransfer, StoreError};

/// A session's tool records, sorted into the report's three lists.
#[derive(Debug, Default)]
pub(super) struct ToolLists {
    pub file_access: Vec<ReportFileAccess>,
    pub files_transferred: Vec<ReportTransfer>,
    pub system_info: Vec<ReportSystemInfo>,
}

/// Stores one record.
pub(super) async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    session_id: SessionId,
    r: &ToolLogEntry,
) -> Result<(), StoreError> {
    let (outcome, direction, item, files, bytes, report_json) = match &r.record {
        ToolRecord::FileAccess { outcome } => (outcome.as_str(), None, None, None, None, None),
        ToolRecord::Transfer { direction, item, files, bytes, outcome } => (
            transfer_outcome_name(*outcome),
            Some(direction_name(*direction)),
            Some(item.as_str()),
            Some(i64::from(*files)),
            Some(i64::try_from(*bytes).unwrap_or(i64::MAX)),
            None,
        ),
        ToolRecord::SystemInfo { outcome, report } => {
            let json = report
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("a system report did not serialize: {e}")))?;
            (outcome.as_str(), None, None, None, None, json)
        }
    };
    sqlx::query(
        "INSERT INTO tool_records (session_id, seq, recorded_at, from_participant, from_name, with_participant, \
         with_name, what, outcome, direction, item, files, bytes, report_json, text) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(session_id.to_string())
    .bind(i64::from(r.seq))
    .bind(ms(r.at))
    .bind(r.from.to_string())
    .bind(r.from_name.as_str())
    .bind(r.with.to_string())
    .bind(r.with_name.as_str())
    .bind(what_name(&r.record))
    .bind(outcome)
    .bind(direction)
    .bind(item)
    .bind(files)
    .bind(bytes)
    .bind(report_json)
    .bind(r.text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A session's records, in the order the server received them.
pub(super) async fn load(pool: &SqlitePool, session_id: &str) -> Result<ToolLists, StoreError> {
    let rows = sqlx::query(
        "SELECT recorded_at, from_participant, from_name, with_participant, with_name, what, outcome, direction, \
         item, files, bytes, report_json, text FROM tool_records WHERE session_id = ? ORDER BY seq",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await?;
    let mut lists = ToolLists::default();
    for row in &rows {
        let what: String = row.get("what");
        let (outcome, text): (String, String) = (row.get("outcome"), row.get("text"));
        match what.as_str() {
            "file_access" => {
                lists.file_access.push(ReportFileAccess { parties: parties(row), outcome, text })
            }
            "transfer" => lists.files_transferred.push(ReportTransfer {
                parties: parties(row),
                direction: row.get::<Option<String>, _>("direction").unwrap_or_default(),
                item: row.get::<Option<String>, _>("item").unwrap_or_default(),
                files: row.get::<Option<i64>, _>("files").map_or(0, |f| u32::try_from(f).unwrap_or(0)),
                bytes: row.get::<Option<i64>, _>("bytes").map_or(0, unsigned),
                outcome,
                text,
            }),
            "system_info" => {
                let report = row
                    .get::<Option<String>, _>("report_json")
                    .map(|json| serde_json::from_str::<SystemReport>(&json))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("a stored system report does not parse: {e}")))?
                    .map(Box::new);
                let allowed = outcome == "allowed";
                lists.system_info.push(ReportSystemInfo {
                    parties: parties(row),
                    outcome,
                    allowed,
                    report,
                    text,
                });
            }
            other => return Err(StoreError::Corrupt(format!("unknown tool record kind {other:?}"))),
        }
    }
    Ok(lists)
}

fn parties(row: &SqliteRow) -> ReportToolParties {
    ReportToolParties {
        recorded_at: unsigned(row.get("recorded_at")),
        from: row.get("from_participant"),
        from_name: row.get("from_name"),
        with: row.get("with_participant"),
        with_name: row.get("with_name"),
    }
}

#[cfg(test)]
mod tests {
    use tandem_wire::channels::remote_files::Capped;
    use tandem_wire::channels::system_info::{InfoText, MemoryInfo};
    use tandem_wire::{
        ConsentOutcome, DisplayName, ItemName, ParticipantId, SessionNumber, TransferDirection,
        TransferOutcome,
    };

    use super::super::SqliteStore;
    use crate::core::{ReportEvent, Timestamp};
    use crate::store::Store as _;

    use super::*;

    const HOSTILE_HOST: &str = "<img src=x onerror=alert(1)>";

    #[tokio::test]
    async fn tool_records_are_in_the_report_in_order_and_the_system_report_comes_back_as_sent() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let s = SqliteStore::open(&url).await.unwrap();
        let sid = SessionId::from_raw(9);
        let (csr, ann) = (ParticipantId::from_raw(1), ParticipantId::from_raw(2));
        let report = SystemReport {
            collected_at: 5,
            host_name: Some(InfoText::parse(HOSTILE_HOST).unwrap()),
            os_name: Some(InfoText::parse("Debian GNU/Linux").unwrap()),
            os_version: None,
            kernel_version: None,
            architecture: None,
            uptime_seconds: None,
            cpu: None,
            memory: MemoryInfo { total_bytes: 1 << 33, ..MemoryInfo::default() },
            disks: Capped::default(),
            displays: Capped::default(),
            interfaces: Capped::default(),
        };
        let entry = |seq, record| ToolLogEntry {
            seq,
            at: Timestamp::from_unix_millis(2_000 + u64::from(seq)),
            from: ann,
            from_name: DisplayName::parse("Ann").unwrap(),
            with: csr,
            with_name: DisplayName::parse("Carla").unwrap(),
            record,
        };
        let records = [
            ToolRecord::FileAccess { outcome: ConsentOutcome::Allowed },
            ToolRecord::Transfer {
                direction: TransferDirection::Download,
                item: ItemName::parse("report.pdf").unwrap(),
                files: 1,
                bytes: u64::MAX, // more than SQLite's INTEGER holds: stored as its largest
                outcome: TransferOutcome::Completed,
            },
            ToolRecord::SystemInfo {
                outcome: ConsentOutcome::Allowed,
                report: Some(Box::new(report.clone())),
            },
            ToolRecord::SystemInfo { outcome: ConsentOutcome::Denied, report: None },
            ToolRecord::FileAccess { outcome: ConsentOutcome::Revoked },
        ];
        let mut events = vec![ReportEvent::SessionStarted {
            session_id: sid,
            session_number: SessionNumber::new(333_333_333).unwrap(),
            session_type: None,
            tracking_code: None,
            at: Timestamp::from_unix_millis(1_000),
        }];
        events.extend(
            records
                .into_iter()
                .zip(0..)
                .map(|(r, seq)| ReportEvent::ToolRecorded { session_id: sid, record: entry(seq, r) }),
        );
        s.apply(&events).await.unwrap();

        let r = s.report(sid).await.unwrap().unwrap();
        let access: Vec<_> =
            r.file_access.iter().map(|a| (a.parties.recorded_at, a.outcome.as_str())).collect();
        assert_eq!(access, [(2_000, "allowed"), (2_004, "revoked")]);
        assert_eq!(
            r.file_access[0].text,
            "Carla asked for advanced file transfer on Ann's computer: allowed by Ann"
        );
        let t = &r.files_transferred[0];
        assert_eq!(r.files_transferred.len(), 1);
        assert_eq!(
            (t.direction.as_str(), t.item.as_str(), t.files, t.bytes, t.outcome.as_str()),
            ("download", "report.pdf", 1, i64::MAX as u64, "completed")
        );
        assert_eq!(
            (t.parties.from.as_str(), t.parties.from_name.as_str(), t.parties.with_name.as_str()),
            ("0000000000000002", "Ann", "Carla")
        );
        let infos: Vec<_> =
            r.system_info.iter().map(|i| (i.outcome.as_str(), i.allowed, i.report.is_some())).collect();
        assert_eq!(infos, [("allowed", true, true), ("denied", false, false)]);
        assert_eq!(r.system_info[0].report.as_deref(), Some(&report), "the report comes back as sent");

        // In the JSON the API serves, the host name is a JSON string with the same characters.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["system_info"][0]["report"]["host_name"], HOSTILE_HOST);
        assert_eq!(json["system_info"][0]["with_name"], "Carla", "the parties are flattened: {json}");
        assert_eq!(json["files_transferred"][0]["recorded_at"], 2_001);
        assert_eq!(json["system_info"][1]["report"], serde_json::Value::Null);
    }
}
