//! Session notes (TOOL-6, SES-10) against the real server: CSRs save them,
//! `end_session` saves them last, the report holds them; customers and
//! oversize notes are refused.

mod common;

use common::*;
use serde_json::json;
use tandem_wire::{EndReason, ErrorCode, ServerMessage};

fn unix_ms() -> u64 {
    tandem_signaling::hub::now().unix_millis()
}

#[tokio::test]
async fn csr_saves_notes_and_ends_with_final_notes_in_the_report() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    csr.expect_participants(2).await;
    let token = srv.signin("carla").await;

    let before = unix_ms();
    csr.send(json!({"v":1,"type":"save_notes","notes":"Printer jams.\n\tTray 2 roller worn."})).await;
    let saved_at = csr
        .recv_until(|m| match m {
            ServerMessage::NotesSaved { saved_at } => Some(*saved_at),
            _ => None,
        })
        .await;
    assert!((before..=unix_ms()).contains(&saved_at), "saved_at {saved_at} is the server's time now");
    let report = srv
        .report_until(&s.session_id, &token, |r| r["notes"] == "Printer jams.\n\tTray 2 roller worn.")
        .await;
    assert_eq!(report["notes_saved_at"], saved_at, "the report keeps when they were saved");
    assert!(report["ended_at"].is_null(), "saved while the session is live");
    ann.expect_nothing_pending().await; // the customer is not told about notes

    // The last chance at the end: these replace the earlier notes.
    csr.send(json!({"v":1,"type":"end_session","notes":"Solved: roller replaced. Ticket T-1 closed."})).await;
    assert!(matches!(csr.recv().await, ServerMessage::NotesSaved { .. }), "confirmed before the end");
    assert_eq!(csr.expect_session_ended().await, EndReason::EndedByCsr);
    assert_eq!(ann.expect_session_ended().await, EndReason::EndedByCsr);
    let report = srv.report_until(&s.session_id, &token, |r| !r["ended_at"].is_null()).await;
    assert_eq!(report["notes"], "Solved: roller replaced. Ticket T-1 closed.");
    assert_eq!(report["end_reason"], "ended_by_csr");
    // And in the list.
    let (_, list) = srv.get_json("/api/v1/reports", &token).await;
    assert_eq!(list["reports"][0]["notes"], "Solved: roller replaced. Ticket T-1 closed.");
}

#[tokio::test]
async fn assistant_may_save_notes_and_a_session_without_notes_reports_null() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let token = srv.signin("ana").await;
    let mut ana = srv.client().await;
    ana.send(json!({"v":1,"type":"assist","token": token,"session_number": s.number.to_digits()})).await;
    assert!(matches!(ana.recv().await, ServerMessage::Joined { .. }));
    let (_, report) = srv.get_json(&format!("/api/v1/reports/{}", s.session_id), &token).await;
    assert!(report["notes"].is_null(), "no notes yet: {report}");

    ana.send(json!({"v":1,"type":"save_notes","notes":"Assistant: checked the logs."})).await;
    ana.recv_until(|m| matches!(m, ServerMessage::NotesSaved { .. }).then_some(())).await;
    srv.report_until(&s.session_id, &token, |r| r["notes"] == "Assistant: checked the logs.").await;
    // Empty notes are allowed: they clear the text.
    csr.send(json!({"v":1,"type":"save_notes","notes":""})).await;
    csr.recv_until(|m| matches!(m, ServerMessage::NotesSaved { .. }).then_some(())).await;
    srv.report_until(&s.session_id, &token, |r| r["notes"] == "").await;
}

#[tokio::test]
async fn customers_and_oversize_notes_are_refused() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    let token = srv.signin("carla").await;

    ann.send(json!({"v":1,"type":"save_notes","notes":"I am the CSR now"})).await;
    match ann.recv().await {
        ServerMessage::Error { code, in_reply_to, .. } => {
            assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("save_notes")));
        }
        other => panic!("expected not_allowed, got {other:?}"),
    }
    // A customer cannot slip notes in through end_session either.
    ann.send(json!({"v":1,"type":"end_session","notes":"sneaky"})).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed);

    // 20 000 characters are fine; one more is a bad message, for the CSR too.
    csr.expect_participants(2).await;
    csr.send(json!({"v":1,"type":"save_notes","notes":"n".repeat(20_001)})).await;
    match csr.recv().await {
        ServerMessage::Error { code, in_reply_to, .. } => {
            assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::BadMessage, Some("save_notes")));
        }
        other => panic!("expected bad_message, got {other:?}"),
    }
    csr.send(json!({"v":1,"type":"end_session","notes":"x".repeat(20_001)})).await;
    assert_eq!(csr.expect_error().await, ErrorCode::BadMessage);
    csr.send(json!({"v":1,"type":"save_notes","notes":"é".repeat(20_000)})).await;
    csr.recv_until(|m| matches!(m, ServerMessage::NotesSaved { .. }).then_some(())).await;
    let report = srv
        .report_until(&s.session_id, &token, |r| {
            r["notes"].as_str().is_some_and(|n| n.chars().count() == 20_000)
        })
        .await;
    assert!(report["ended_at"].is_null(), "the refused end_session did not end the session");
    // Nothing the customer sent reached the report.
    assert!(!report["notes"].as_str().unwrap().contains("sneaky"));
}
