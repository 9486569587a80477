//! File transfer and system information records (issue 7, TOOL-5, TOOL-7,
//! ADM-2) against the real server: a customer's machine records file access,
//! transfers and a system report over the WebSocket; the session report lists
//! them with both names and the server's times, the report's strings byte for
//! byte as text; `/metrics` counts the transfers; a CSR's record, a record
//! about someone not in the session and records past the session's bound
//! get typed errors and are not stored.

mod common;

use common::*;
use serde_json::{Value, json};
use tandem_wire::{ErrorCode, ServerMessage};

const HOSTILE_HOST: &str = "<img src=x onerror=alert(1)>";

fn unix_ms() -> u64 {
    tandem_signaling::hub::now().unix_millis()
}

/// The next error sent to `c`: code, message and `in_reply_to`.
async fn error_reply(c: &mut Client) -> (ErrorCode, String, Option<String>) {
    match c.recv().await {
        ServerMessage::Error { code, message, in_reply_to } => (code, message, in_reply_to),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn len(r: &Value, list: &str) -> usize {
    r[list].as_array().map_or(0, Vec::len)
}

/// A system report as the customer's native peer sends it (every field in
/// its canonical form, so that it must come back identical).
fn system_report(host: &str) -> Value {
    json!({
        "collected_at": 1_795_277_000_000_u64,
        "host_name": host,
        "os_name": "Debian GNU/Linux",
        "os_version": "12 (bookworm)",
        "kernel_version": "6.1.0-18-amd64",
        "architecture": "x86_64",
        "uptime_seconds": 86_400,
        "cpu": {"brand": "AMD Ryzen 7 5800U", "logical_cores": 16, "physical_cores": 8},
        "memory": {"total_bytes": 16_000_000_000_u64, "available_bytes": 9_000_000_000_u64,
                   "swap_total_bytes": 0, "swap_free_bytes": 0},
        "disks": [{"mount_point": "/home/</script>", "file_system": "ext4", "kind": "ssd",
                   "removable": false, "total_bytes": 500_000_000_000_u64, "available_bytes": 1}],
        "displays": [{"width": 1920, "height": 1080}],
        "interfaces": [{"name": "wlan0", "addresses": [{"address": "192.168.1.20", "prefix": 24}]}]
    })
}

fn tool_record(with: impl serde::Serialize, record: Value) -> Value {
    json!({"v": 1, "type": "tool_record", "with": with, "record": record})
}

#[tokio::test]
async fn file_access_transfers_and_system_information_are_in_the_session_report() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    csr.expect_participants(2).await;
    let token = srv.signin("carla").await;
    let (_, report) = srv.get_json(&format!("/api/v1/reports/{}", s.session_id), &token).await;
    for list in ["file_access", "files_transferred", "system_info"] {
        assert_eq!(report[list], json!([]), "{list} starts empty: {report}");
    }

    let before = unix_ms();
    let records = [
        json!({"what": "file_access", "outcome": "allowed"}),
        json!({"what": "transfer", "direction": "download", "item": "Reports/2026 <Q3> & co.pdf", "files": 1,
               "bytes": 52_428_800, "outcome": "completed"}),
        json!({"what": "transfer", "direction": "upload", "item": "fix.sh", "files": 1, "bytes": 0,
               "outcome": "denied"}),
        json!({"what": "system_info", "outcome": "allowed", "report": system_report(HOSTILE_HOST)}),
    ];
    for record in &records {
        ann.send(tool_record(s.pid, record.clone())).await;
    }
    ann.expect_nothing_pending().await; // no reply to any of them
    let after = unix_ms();

    let report = srv
        .report_until(&s.session_id, &token, |r| {
            len(r, "file_access") == 1 && len(r, "files_transferred") == 2 && len(r, "system_info") == 1
        })
        .await;
    let (ann_hex, csr_hex) = (ann_id.to_string(), s.pid.to_string());
    let entries = [
        &report["file_access"][0],
        &report["files_transferred"][0],
        &report["files_transferred"][1],
        &report["system_info"][0],
    ];
    let mut last = 0;
    for e in entries {
        assert_eq!(
            (e["from"].as_str(), e["from_name"].as_str()),
            (Some(ann_hex.as_str()), Some("Ann")),
            "{e}"
        );
        assert_eq!(
            (e["with"].as_str(), e["with_name"].as_str()),
            (Some(csr_hex.as_str()), Some("carla")),
            "{e}"
        );
        let at = e["recorded_at"].as_u64().unwrap();
        assert!((before..=after).contains(&at), "recorded_at {at} is the server's time of receipt");
        assert!(at >= last, "in the order sent");
        last = at;
    }

    assert_eq!(report["file_access"][0]["outcome"], "allowed");
    assert_eq!(
        report["file_access"][0]["text"],
        "carla asked for advanced file transfer on Ann's computer: allowed by Ann"
    );
    let transfers: Vec<_> = report["files_transferred"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["direction"].as_str().unwrap(),
                t["item"].as_str().unwrap(),
                t["files"].as_u64().unwrap(),
                t["bytes"].as_u64().unwrap(),
                t["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        transfers,
        [
            ("download", "Reports/2026 <Q3> & co.pdf", 1, 52_428_800, "completed"),
            ("upload", "fix.sh", 1, 0, "denied"),
        ]
    );
    assert_eq!(
        report["files_transferred"][1]["text"],
        "Upload of “fix.sh” to Ann's computer by carla (1 file, 0 bytes): denied by Ann"
    );
    let info = &report["system_info"][0];
    assert_eq!((&info["outcome"], &info["allowed"]), (&json!("allowed"), &json!(true)));
    assert_eq!(info["report"], system_report(HOSTILE_HOST), "the report comes back exactly as sent");
    assert_eq!(info["report"]["host_name"].as_str(), Some(HOSTILE_HOST));

    // The raw body: JSON text, the host name's characters as they were, not HTML-escaped nor markup.
    let r = reqwest::Client::new()
        .get(srv.http(&format!("/api/v1/reports/{}", s.session_id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let body = r.text().await.unwrap();
    assert!(body.contains(r#""host_name":"<img src=x onerror=alert(1)>""#), "{body}");
    assert!(!body.contains("&lt;"), "not HTML-escaped: {body}");

    // The list of reports carries them too.
    let (_, list) = srv.get_json("/api/v1/reports", &token).await;
    assert_eq!(list["reports"][0]["system_info"], report["system_info"]);

    let metrics = srv.metrics().await;
    for line in [
        r#"tandem_file_transfers_total{direction="download",outcome="completed"} 1"#,
        r#"tandem_file_transfers_total{direction="upload",outcome="denied"} 1"#,
        r#"tandem_file_transfers_total{direction="upload",outcome="completed"} 0"#,
        r#"tandem_file_transfer_bytes_total{direction="download"} 52428800"#,
        r#"tandem_file_transfer_bytes_total{direction="upload"} 0"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn only_a_customer_records_and_only_about_a_csr_of_its_session() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    let (mut bob, bob_id) = srv.invited_customer(&s, "Bob").await;
    bob.expect_participants(3).await;
    ann.expect_participants(3).await;
    csr.expect_participants(3).await;
    let token = srv.signin("carla").await;
    let access = json!({"what": "file_access", "outcome": "allowed"});

    // The CSR: tools run on the customer's machine, which records them.
    csr.send(tool_record(ann_id, access.clone())).await;
    let (code, message, in_reply_to) = error_reply(&mut csr).await;
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("tool_record")));
    assert!(message.contains("Only a customer"), "{message}");

    // About someone not a CSR of this session.
    let (_, other) = srv.csr_with_session("ana").await;
    for with in [ann_id.to_string(), bob_id.to_string(), "00000000deadbeef".to_owned(), other.pid.to_string()]
    {
        ann.send(tool_record(&with, access.clone())).await;
        let (code, _, in_reply_to) = error_reply(&mut ann).await;
        assert_eq!(
            (code, in_reply_to.as_deref()),
            (ErrorCode::UnknownParticipant, Some("tool_record")),
            "{with}"
        );
    }
    // A report without the customer's yes; values outside the closed sets; an empty item.
    for record in [
        json!({"what": "system_info", "outcome": "denied", "report": system_report("pc")}),
        json!({"what": "transfer", "direction": "sideways", "item": "a", "files": 1, "bytes": 1,
               "outcome": "completed"}),
        json!({"what": "transfer", "direction": "upload", "item": "", "files": 1, "bytes": 1,
               "outcome": "completed"}),
        json!({"what": "file_access", "outcome": "maybe"}),
        json!({"what": "screenshot", "outcome": "allowed"}),
    ] {
        ann.send(tool_record(s.pid, record.clone())).await;
        let (code, _, in_reply_to) = error_reply(&mut ann).await;
        assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::BadMessage, Some("tool_record")), "{record}");
    }
    // A customer waiting in the lobby records nothing.
    let mut wendy = srv.client().await;
    wendy.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Wendy"})).await;
    assert!(matches!(wendy.recv().await, ServerMessage::Lobby { .. }));
    wendy.send(tool_record(s.pid, access.clone())).await;
    assert_eq!(wendy.expect_error().await, ErrorCode::NotAllowed);

    // One good record from the secondary customer, so that the report has caught up when it shows.
    bob.send(tool_record(s.pid, access)).await;
    let report = srv.report_until(&s.session_id, &token, |r| len(r, "file_access") >= 1).await;
    assert_eq!(len(&report, "file_access"), 1, "only the good record: {report}");
    assert_eq!(report["file_access"][0]["from_name"], "Bob");
    assert_eq!((len(&report, "files_transferred"), len(&report, "system_info")), (0, 0), "{report}");
}

#[tokio::test]
async fn a_session_stores_at_most_1000_tool_records_and_20_system_reports() {
    // 1001 records go through at once.
    let srv = TestServer::without_rate_limit().await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    let token = srv.signin("carla").await;
    let info = tool_record(
        s.pid,
        json!({"what": "system_info", "outcome": "allowed", "report": system_report("pc")}),
    );
    for _ in 0..20 {
        ann.send(info.clone()).await;
    }
    ann.expect_nothing_pending().await;
    ann.send(info.clone()).await;
    let (code, message, in_reply_to) = error_reply(&mut ann).await;
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("tool_record")));
    assert!(message.contains("system information reports (20)"), "the message says why: {message}");

    let transfer = tool_record(
        s.pid,
        json!({"what": "transfer", "direction": "download", "item": "log.txt", "files": 1, "bytes": 10,
               "outcome": "completed"}),
    );
    for _ in 20..1000 {
        ann.send(transfer.clone()).await;
    }
    ann.expect_nothing_pending().await; // all 1000 taken without a word
    ann.send(transfer.clone()).await;
    let (code, message, _) = error_reply(&mut ann).await;
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("tool records (1000)"), "the message says why: {message}");

    let report = srv.report_until(&s.session_id, &token, |r| len(r, "files_transferred") >= 980).await;
    assert_eq!((len(&report, "files_transferred"), len(&report, "system_info")), (980, 20));
    // Still refused later: the bound does not reset.
    ann.send(transfer).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed);
    let metrics = srv.metrics().await;
    for line in [
        r#"tandem_file_transfers_total{direction="download",outcome="completed"} 980"#,
        r#"tandem_file_transfer_bytes_total{direction="download"} 9800"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "refused records are not counted: {line} in\n{metrics}");
    }
}
