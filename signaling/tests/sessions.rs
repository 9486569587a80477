//! Session flows against the real server: create, lobby, invite, assist,
//! relay, end, grace period, resume, restart.

mod common;

use common::*;
use serde_json::json;
use tandem_wire::{EndReason, ErrorCode, Role, ServerMessage, close_code};

#[tokio::test]
async fn customer_waits_in_lobby_and_is_admitted_or_refused() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    assert_eq!(s.number.to_string().len(), 11, "shown as 123 456 789");

    // Join by number (with spaces, as read out on the phone) → lobby.
    let mut ann = srv.client().await;
    ann.send(json!({"v":1,"type":"join","session_number": s.number.to_string(),"name":"Ann"})).await;
    let ann_id = match ann.recv().await {
        ServerMessage::Lobby { participant_id, session_number, .. } => {
            assert_eq!(session_number, s.number);
            participant_id
        }
        other => panic!("expected lobby, got {other:?}"),
    };
    let list = csr.expect_participants(2).await;
    assert_eq!(list[1], (ann_id, Role::Waiting, true), "the CSR sees Ann waiting");
    ann.expect_nothing_pending().await;

    csr.send(json!({"v":1,"type":"admit","participant_id": ann_id})).await;
    match ann.recv().await {
        ServerMessage::Joined { participant_id, role, session, .. } => {
            assert_eq!((participant_id, role), (ann_id, Role::PrimaryCustomer));
            assert_eq!(session.session_type.unwrap().as_str(), "Billing");
        }
        other => panic!("expected joined, got {other:?}"),
    }
    assert_eq!(ann.expect_participants(2).await[1], (ann_id, Role::PrimaryCustomer, true));

    // A second customer is refused.
    let mut bob = srv.client().await;
    bob.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Bob"})).await;
    let bob_id = match bob.recv().await {
        ServerMessage::Lobby { participant_id, .. } => participant_id,
        other => panic!("expected lobby, got {other:?}"),
    };
    csr.expect_participants(3).await;
    csr.send(json!({"v":1,"type":"refuse","participant_id": bob_id})).await;
    assert_eq!(bob.recv().await, ServerMessage::Refused {});
    assert_eq!(csr.expect_participants(2).await.len(), 2);
    // Bob may not relay anything: he is in no session.
    bob.send(json!({"v":1,"type":"offer","to": ann_id, "sdp": sdp("x")})).await;
    assert_eq!(bob.expect_error().await, ErrorCode::NotInSession);
    ann.expect_nothing_pending().await;
}

#[tokio::test]
async fn invite_token_admits_directly_and_assistant_joins_without_control() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    assert_eq!(ann.expect_participants(2).await[1], (ann_id, Role::PrimaryCustomer, true));
    csr.expect_participants(2).await;

    let token = srv.signin("ana").await;
    let mut ana = srv.client().await;
    ana.send(json!({"v":1,"type":"assist","token": token,"session_number": s.number.to_digits()})).await;
    let ana_id = match ana.recv().await {
        ServerMessage::Joined { participant_id, role: Role::AssistantCsr, .. } => participant_id,
        other => panic!("expected joined as assistant, got {other:?}"),
    };
    let list = csr.expect_participants(3).await;
    assert_eq!(list[2], (ana_id, Role::AssistantCsr, true));
    ana.expect_participants(3).await;

    // Neither the assistant nor the customer can end the session.
    ana.send(json!({"v":1,"type":"end_session"})).await;
    assert_eq!(ana.expect_error().await, ErrorCode::NotAllowed);
    ann.expect_participants(3).await;
    ann.send(json!({"v":1,"type":"end_session"})).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed);

    // The primary CSR can.
    csr.send(json!({"v":1,"type":"end_session"})).await;
    for c in [&mut csr, &mut ann, &mut ana] {
        let reason = c.expect_session_ended().await;
        assert_eq!(reason, EndReason::EndedByCsr);
    }
}

#[tokio::test]
async fn signals_reach_only_their_addressee() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    let (mut bob, bob_id) = srv.invited_customer(&s, "Bob").await;
    let (mut other_csr, other) = srv.csr_with_session("ana").await;
    let (mut zed, zed_id) = srv.invited_customer(&other, "Zed").await;
    for c in [&mut csr, &mut ann] {
        c.expect_participants(3).await;
    }
    bob.expect_participants(3).await;
    other_csr.expect_participants(2).await;
    zed.expect_participants(2).await;

    csr.send(json!({"v":1,"type":"offer","to": ann_id,"sdp": sdp("offer-1")})).await;
    match ann.recv().await {
        ServerMessage::Offer { from, sdp: got } => {
            assert_eq!(from, s.pid);
            assert_eq!(got.as_str(), sdp("offer-1"));
        }
        other => panic!("expected offer, got {other:?}"),
    }
    ann.send(json!({"v":1,"type":"answer","to": s.pid,"sdp": sdp("answer-1")})).await;
    assert!(matches!(csr.recv().await, ServerMessage::Answer { from, .. } if from == ann_id));
    let ice = json!({"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0});
    ann.send(json!({"v":1,"type":"candidate","to": s.pid,"ice": ice})).await;
    match csr.recv().await {
        ServerMessage::Candidate { from, ice: got } => {
            assert_eq!(from, ann_id);
            assert_eq!(got.candidate.as_str(), "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host");
            assert_eq!(got.sdp_m_line_index, Some(0));
        }
        other => panic!("expected candidate, got {other:?}"),
    }
    // Across sessions: refused, and nothing arrives.
    csr.send(json!({"v":1,"type":"offer","to": zed_id,"sdp": sdp("stray")})).await;
    assert_eq!(csr.expect_error().await, ErrorCode::UnknownParticipant);
    // The third participant and the other session saw none of it.
    for c in [&mut bob, &mut other_csr, &mut zed] {
        c.expect_nothing_pending().await;
    }
    let _ = bob_id;
}

#[tokio::test]
async fn primary_csr_dropping_ends_the_session_after_the_grace_period() {
    let srv = TestServer::start_with(|c| c.session.grace_secs = 1).await;
    let (csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    csr.drop_connection().await;
    let list = ann.expect_participants(2).await;
    assert_eq!(list[0], (s.pid, Role::PrimaryCsr, false), "shown as disconnected during the grace period");
    let reason = ann.expect_session_ended().await;
    assert_eq!(reason, EndReason::PrimaryCsrTimedOut);
    let token = srv.signin("carla").await;
    let (status, report) = srv.get_json(&format!("/api/v1/reports/{}", s.session_id), &token).await;
    assert_eq!(status, 200);
    // The report is written by the report writer just after; poll until it is there.
    let mut report = report;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while report["end_reason"].is_null() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        report = srv.get_json(&format!("/api/v1/reports/{}", s.session_id), &token).await.1;
    }
    assert_eq!(report["end_reason"], "primary_csr_timed_out");
}

#[tokio::test]
async fn resume_within_the_grace_period_keeps_the_participant() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let mut ann = srv.client().await;
    ann.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Ann","invite_token": s.invite_token}))
        .await;
    let (ann_id, token) = match ann.recv().await {
        ServerMessage::Joined { participant_id, resume_token, .. } => (participant_id, resume_token),
        other => panic!("expected joined, got {other:?}"),
    };
    csr.expect_participants(2).await;
    ann.drop_connection().await;
    assert_eq!(csr.expect_participants(2).await[1], (ann_id, Role::PrimaryCustomer, false));

    let mut back = srv.client().await;
    back.send(json!({"v":1,"type":"resume","resume_token": token.as_str()})).await;
    match back.recv().await {
        ServerMessage::Resumed { participant_id, role, session, .. } => {
            assert_eq!((participant_id, role), (ann_id, Role::PrimaryCustomer));
            assert_eq!(session.session_number, s.number);
        }
        other => panic!("expected resumed, got {other:?}"),
    }
    assert_eq!(csr.expect_participants(2).await[1], (ann_id, Role::PrimaryCustomer, true));
    csr.send(json!({"v":1,"type":"offer","to": ann_id,"sdp": sdp("after-resume")})).await;
    back.recv_until(|m| matches!(m, ServerMessage::Offer { .. }).then_some(())).await;

    // Resuming again from a third connection replaces the second one (close 4001).
    let mut third = srv.client().await;
    third.send(json!({"v":1,"type":"resume","resume_token": token.as_str()})).await;
    assert!(matches!(third.recv().await, ServerMessage::Resumed { .. }));
    assert_eq!(back.expect_close().await, close_code::REPLACED);
}

#[tokio::test]
async fn reports_survive_a_restart_and_shutdown_tells_clients() {
    let mut srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, _) = srv.invited_customer(&s, "Ann").await;
    csr.expect_participants(2).await;
    ann.send(json!({"v":1,"type":"leave"})).await;
    csr.expect_participants(1).await;
    csr.send(json!({"v":1,"type":"end_session"})).await;
    csr.recv_until(|m| matches!(m, ServerMessage::SessionEnded { .. }).then_some(())).await;

    // A second session is live when the server stops.
    let (mut live_csr, live) = srv.csr_with_session("ana").await;
    let (mut live_ann, _) = srv.invited_customer(&live, "Lou").await;
    live_csr.expect_participants(2).await;
    srv.shutdown().await;
    for c in [&mut live_csr, &mut live_ann] {
        let reason = c.expect_session_ended().await;
        assert_eq!(reason, EndReason::ServerShutdown);
        assert_eq!(c.expect_close().await, close_code::GOING_AWAY);
    }

    // Start again on the same data directory.
    let TestServer { dir, config, .. } = srv;
    let srv = TestServer::start_in(dir, config).await;
    let token = srv.signin("carla").await;
    let (status, body) = srv.get_json("/api/v1/reports", &token).await;
    assert_eq!(status, 200);
    let reports = body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    let ended =
        reports.iter().find(|r| r["session_id"] == s.session_id.as_str()).expect("first session's report");
    assert_eq!(ended["session_number"], s.number.to_digits());
    assert_eq!(ended["session_type"], "Billing");
    assert_eq!(ended["tracking_code"], "T-1");
    assert_eq!(ended["end_reason"], "ended_by_csr");
    assert_eq!(ended["csrs"], json!(["carla"]));
    let people = ended["participants"].as_array().unwrap();
    assert_eq!(people.len(), 2);
    assert_eq!(people[1]["name"], "Ann");
    assert_eq!(people[1]["leave_reason"], "left");
    assert!(people[1]["left_at"].as_u64().unwrap() >= people[1]["joined_at"].as_u64().unwrap());
    let stopped = reports.iter().find(|r| r["session_id"] == live.session_id.as_str()).unwrap();
    assert_eq!(stopped["end_reason"], "server_shutdown");
    assert_eq!(stopped["participants"][1]["leave_reason"], "session_ended");
}

#[tokio::test]
async fn metrics_and_health_reflect_live_sessions() {
    let srv = TestServer::start().await;
    let health = reqwest::get(srv.http("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    csr.expect_participants(2).await;
    ann.expect_participants(2).await;
    csr.send(json!({"v":1,"type":"offer","to": ann_id,"sdp": sdp("m")})).await;
    ann.recv_until(|m| matches!(m, ServerMessage::Offer { .. }).then_some(())).await;
    csr.send_text("garbage").await;
    assert_eq!(csr.expect_error().await, ErrorCode::BadJson);
    let m = srv.metrics().await;
    for line in [
        "tandem_live_sessions 1",
        "tandem_live_participants 2",
        "tandem_websocket_connections 2",
        "tandem_messages_relayed_total 1",
        "tandem_messages_rejected_total{reason=\"bad_json\"} 1",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line:?} in\n{m}");
    }
}
