//! Consent records and "End session and report" (issue 6, X-5) against the
//! real server: a customer records its decisions and reports the CSR over the
//! WebSocket; the session report lists the decisions in order, as text, and
//! carries the flag; bad records get typed errors and are not stored.

mod common;

use common::*;
use serde_json::{Value, json};
use tandem_wire::{ErrorCode, ServerMessage};

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

fn consent_len(r: &Value) -> usize {
    r["consent"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_customers_decisions_and_report_are_in_the_session_report_in_order() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    csr.expect_participants(2).await;
    let token = srv.signin("carla").await;
    let (_, report) = srv.get_json(&format!("/api/v1/reports/{}", s.session_id), &token).await;
    assert_eq!((consent_len(&report), &report["reported"]), (0, &json!(false)), "{report}");

    let before = unix_ms();
    // The CSR asked to control Ann's desktop: Ann allowed it, then revoked it, then reported the CSR.
    for outcome in ["allowed", "revoked"] {
        ann.send(json!({"v":1,"type":"consent_record","with": s.pid,"capability":"control_desktop",
                        "incoming": true,"outcome": outcome}))
            .await;
    }
    ann.send(json!({"v":1,"type":"report_participant","about": s.pid})).await;
    ann.expect_nothing_pending().await; // no reply to any of the three
    let after = unix_ms();

    let report =
        srv.report_until(&s.session_id, &token, |r| consent_len(r) == 2 && r["reported"] == true).await;
    let consent = report["consent"].as_array().unwrap();
    let texts: Vec<_> = consent.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "carla asked to control Ann's desktop: allowed by Ann (recorded by Ann)",
            "carla asked to control Ann's desktop: revoked by Ann (recorded by Ann)",
        ]
    );
    let (ann_hex, csr_hex) = (ann_id.to_string(), s.pid.to_string());
    for (c, outcome) in consent.iter().zip(["allowed", "revoked"]) {
        assert_eq!(c["outcome"], outcome);
        assert_eq!((c["from"].as_str(), c["from_name"].as_str()), (Some(ann_hex.as_str()), Some("Ann")));
        assert_eq!((c["with"].as_str(), c["with_name"].as_str()), (Some(csr_hex.as_str()), Some("carla")));
        assert_eq!(
            (c["capability"].as_str(), c["direction"].as_str()),
            (Some("control_desktop"), Some("incoming"))
        );
        let at = c["recorded_at"].as_u64().unwrap();
        assert!((before..=after).contains(&at), "recorded_at {at} is the server's time of receipt");
    }
    assert!(consent[0]["recorded_at"].as_u64() <= consent[1]["recorded_at"].as_u64());

    let flags = report["participant_reports"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{report}");
    assert_eq!(
        (flags[0]["by"].as_str(), flags[0]["about"].as_str(), flags[0]["text"].as_str()),
        (Some(ann_hex.as_str()), Some(csr_hex.as_str()), Some("Ann reported carla"))
    );
    let at = flags[0]["reported_at"].as_u64().unwrap();
    assert!((before..=after).contains(&at));

    // The customer leaves after reporting; the report keeps everything, in the list too.
    ann.send(json!({"v":1,"type":"leave"})).await;
    csr.expect_participants(1).await;
    let (_, list) = srv.get_json("/api/v1/reports", &token).await;
    let listed = &list["reports"][0];
    assert_eq!((consent_len(listed), &listed["reported"]), (2, &json!(true)), "{listed}");
    let metrics = srv.metrics().await;
    assert!(metrics.contains("tandem_participant_reports_total 1"), "{metrics}");
}

#[tokio::test]
async fn bad_records_get_typed_errors_and_are_not_stored() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    let token = srv.signin("carla").await;
    let record = |with: &str| {
        json!({"v":1,"type":"consent_record","with": with,"capability":"view_desktop",
               "incoming": true,"outcome":"allowed"})
    };

    // `with` must be another admitted participant of the same session.
    let (_, other) = srv.csr_with_session("ana").await;
    for with in [ann_id.to_string(), "00000000deadbeef".to_owned(), other.pid.to_string()] {
        ann.send(record(&with)).await;
        let (code, _, in_reply_to) = error_reply(&mut ann).await;
        assert_eq!(
            (code, in_reply_to.as_deref()),
            (ErrorCode::UnknownParticipant, Some("consent_record")),
            "{with}"
        );
    }
    ann.send(json!({"v":1,"type":"report_participant","about": ann_id})).await;
    let (code, _, in_reply_to) = error_reply(&mut ann).await;
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::UnknownParticipant, Some("report_participant")));
    // Values outside the closed sets are bad messages.
    ann.send(json!({"v":1,"type":"consent_record","with": s.pid,"capability":"read_mind",
                    "incoming": true,"outcome":"allowed"}))
        .await;
    assert_eq!(ann.expect_error().await, ErrorCode::BadMessage);
    ann.send(json!({"v":1,"type":"consent_record","with": s.pid,"capability":"view_desktop",
                    "incoming": "yes","outcome":"allowed"}))
        .await;
    assert_eq!(ann.expect_error().await, ErrorCode::BadMessage);

    // A customer waiting in the lobby may record nothing, and the CSR may not record about them.
    let mut wendy = srv.client().await;
    wendy.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Wendy"})).await;
    let wendy_id = match wendy.recv().await {
        ServerMessage::Lobby { participant_id, .. } => participant_id,
        other => panic!("expected lobby, got {other:?}"),
    };
    wendy.send(record(&s.pid.to_string())).await;
    assert_eq!(wendy.expect_error().await, ErrorCode::NotAllowed);
    wendy.send(json!({"v":1,"type":"report_participant","about": s.pid})).await;
    assert_eq!(wendy.expect_error().await, ErrorCode::NotAllowed);
    csr.expect_participants(3).await; // Wendy in the lobby
    csr.send(record(&wendy_id.to_string())).await;
    assert_eq!(csr.expect_error().await, ErrorCode::UnknownParticipant);

    // One good record, so that the report has caught up when it shows.
    ann.send(record(&s.pid.to_string())).await;
    let report = srv.report_until(&s.session_id, &token, |r| consent_len(r) >= 1).await;
    assert_eq!(consent_len(&report), 1, "only the good record: {report}");
    assert_eq!(report["reported"], false, "no report was taken: {report}");
    assert_eq!(report["participant_reports"], json!([]));
}

#[tokio::test]
async fn a_session_stores_at_most_a_thousand_consent_records() {
    // 1001 records go through at once.
    let srv = TestServer::without_rate_limit().await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    let token = srv.signin("carla").await;
    let record = json!({"v":1,"type":"consent_record","with": s.pid,"capability":"view_desktop",
                        "incoming": true,"outcome":"denied"});
    for _ in 0..1000 {
        ann.send(record.clone()).await;
    }
    ann.expect_nothing_pending().await; // all 1000 taken without a word
    ann.send(record.clone()).await;
    let (code, message, in_reply_to) = error_reply(&mut ann).await;
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("consent_record")));
    assert!(message.contains("1000"), "the message says why: {message}");

    let report = srv.report_until(&s.session_id, &token, |r| consent_len(r) >= 1000).await;
    assert_eq!(consent_len(&report), 1000);
    // Still refused later: the cap does not reset.
    ann.send(record).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed);
}
