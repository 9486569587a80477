//! Path visibility (NET-2) against the real server: a peer reports its
//! selected candidate pair, the session's CSRs see it, the report keeps it,
//! `/metrics` counts the session by path.

mod common;

use common::*;
use serde_json::json;
use tandem_wire::{CandidateType, ErrorCode, PathProtocol, ServerMessage};

#[tokio::test]
async fn a_relayed_path_is_shown_to_csrs_stored_and_counted() {
    let srv = TestServer::start().await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    csr.expect_participants(2).await;
    let metrics = srv.metrics().await;
    assert!(metrics.contains("tandem_live_sessions_by_path{path=\"unknown\"} 1"), "{metrics}");

    ann.send(
        json!({"v":1,"type":"path_report","with": s.pid,"local":"relay","remote":"srflx","protocol":"tls"}),
    )
    .await;
    let shown = csr
        .recv_until(|m| match m {
            ServerMessage::PathReported { from, with, local, remote, protocol } => {
                Some((*from, *with, *local, *remote, *protocol))
            }
            _ => None,
        })
        .await;
    assert_eq!(shown, (ann_id, s.pid, CandidateType::Relay, CandidateType::Srflx, PathProtocol::Tls));
    ann.expect_nothing_pending().await; // no reply, nothing for customers

    let token = srv.signin("carla").await;
    let report = srv
        .report_until(&s.session_id, &token, |r| r["paths"].as_array().is_some_and(|p| !p.is_empty()))
        .await;
    let p = &report["paths"][0];
    assert_eq!(
        (
            p["from"].as_str(),
            p["with"].as_str(),
            p["local"].as_str(),
            p["remote"].as_str(),
            p["protocol"].as_str()
        ),
        (
            Some(ann_id.to_string().as_str()),
            Some(s.pid.to_string().as_str()),
            Some("relay"),
            Some("srflx"),
            Some("tls")
        )
    );
    let metrics = srv.metrics().await;
    assert!(metrics.contains("tandem_live_sessions_by_path{path=\"relay\"} 1"), "{metrics}");
    assert!(metrics.contains("tandem_live_sessions_by_path{path=\"unknown\"} 0"), "{metrics}");

    // The CSR's own report of a direct path does not make the session less relayed.
    csr.send(
        json!({"v":1,"type":"path_report","with": ann_id,"local":"host","remote":"host","protocol":"udp"}),
    )
    .await;
    csr.recv_until(|m| {
        matches!(m, ServerMessage::PathReported { local: CandidateType::Host, .. }).then_some(())
    })
    .await;
    assert!(srv.metrics().await.contains("tandem_live_sessions_by_path{path=\"relay\"} 1"));
}

#[tokio::test]
async fn bad_path_reports_are_refused() {
    let srv = TestServer::start().await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    ann.expect_participants(2).await;
    ann.send(
        json!({"v":1,"type":"path_report","with": ann_id,"local":"host","remote":"host","protocol":"udp"}),
    )
    .await;
    assert_eq!(ann.expect_error().await, ErrorCode::UnknownParticipant);
    ann.send(json!({"v":1,"type":"path_report","with": s.pid,"local":"carrier-pigeon","remote":"host","protocol":"udp"}))
        .await;
    assert_eq!(ann.expect_error().await, ErrorCode::BadMessage);
    ann.send(
        json!({"v":1,"type":"path_report","with": s.pid,"local":"host","remote":"host","protocol":"sctp"}),
    )
    .await;
    assert_eq!(ann.expect_error().await, ErrorCode::BadMessage);
}
