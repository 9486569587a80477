//! Hostile input against the real server: every malformed or abusive message
//! gets its documented error or close code, and a bystander session on the
//! same server keeps relaying throughout.

mod common;

use common::*;
use serde_json::json;
use tandem_wire::{ErrorCode, ServerMessage, close_code};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// A session that must keep working while others misbehave.
struct Bystanders {
    csr: Client,
    customer: Client,
    customer_id: tandem_wire::ParticipantId,
    round: u32,
}

impl Bystanders {
    async fn new(srv: &TestServer) -> Self {
        let (mut csr, s) = srv.csr_with_session("ana").await;
        let (mut customer, customer_id) = srv.invited_customer(&s, "Bea").await;
        csr.expect_participants(2).await;
        customer.expect_participants(2).await;
        Self { csr, customer, customer_id, round: 0 }
    }

    /// An offer still goes through, intact, and nothing else arrives.
    async fn still_working(&mut self, after: &str) {
        self.round += 1;
        let body = sdp(&format!("bystander-{}", self.round));
        self.csr.send(json!({"v":1,"type":"offer","to": self.customer_id,"sdp": body})).await;
        match self.customer.recv().await {
            ServerMessage::Offer { sdp: got, .. } => assert_eq!(got.as_str(), body, "after {after}"),
            other => panic!("bystander session broken after {after}: {other:?}"),
        }
        self.csr.expect_nothing_pending().await;
    }
}

/// Sends `text` on a fresh connection and returns the error code of the reply.
async fn error_for(srv: &TestServer, text: &str) -> ErrorCode {
    let mut c = srv.client().await;
    c.send_text(text).await;
    c.expect_error().await
}

#[tokio::test]
async fn hostile_messages_get_documented_errors_and_others_keep_working() {
    let srv = TestServer::start_with(|c| c.auth.token_ttl_secs = 2).await;
    let mut by = Bystanders::new(&srv).await;
    let (mut csr, s) = srv.csr_with_session("carla").await;
    let (mut ann, ann_id) = srv.invited_customer(&s, "Ann").await;
    csr.expect_participants(2).await;
    ann.expect_participants(2).await;
    let early_token = srv.signin("carla").await;

    let long_name = "n".repeat(65);
    let huge_sdp = "a".repeat(60_001);
    let cases: Vec<(&str, String, ErrorCode)> = vec![
        ("bad JSON", "{\"v\":1,".into(), ErrorCode::BadJson),
        ("JSON array", "[1,2,3]".into(), ErrorCode::BadJson),
        ("JSON string", "\"hello\"".into(), ErrorCode::BadJson),
        ("missing version", r#"{"type":"ping"}"#.into(), ErrorCode::UnsupportedVersion),
        ("wrong version", r#"{"v":2,"type":"ping"}"#.into(), ErrorCode::UnsupportedVersion),
        ("version as string", r#"{"v":"1","type":"ping"}"#.into(), ErrorCode::UnsupportedVersion),
        ("unknown type", r#"{"v":1,"type":"format_disk"}"#.into(), ErrorCode::UnknownType),
        ("server-only type", r#"{"v":1,"type":"session_ended","reason":"ended_by_csr"}"#.into(), ErrorCode::UnknownType),
        ("type not a string", r#"{"v":1,"type":["join"]}"#.into(), ErrorCode::BadMessage),
        ("short session number", r#"{"v":1,"type":"join","session_number":"12345678","name":"x"}"#.into(), ErrorCode::BadMessage),
        ("name too long", format!(r#"{{"v":1,"type":"join","session_number":"123456789","name":"{long_name}"}}"#), ErrorCode::BadMessage),
        ("control character in name", r#"{"v":1,"type":"join","session_number":"123456789","name":"a\u0007b"}"#.into(), ErrorCode::BadMessage),
        ("empty name", r#"{"v":1,"type":"join","session_number":"123456789","name":"   "}"#.into(), ErrorCode::BadMessage),
        ("malformed participant id", r#"{"v":1,"type":"offer","to":"../../etc","sdp":"v=0"}"#.into(), ErrorCode::BadMessage),
        ("SDP over its limit", format!(r#"{{"v":1,"type":"offer","to":"0000000000000001","sdp":"{huge_sdp}"}}"#), ErrorCode::BadMessage),
        ("garbage sign-in token", r#"{"v":1,"type":"create_session","token":"not-a-token"}"#.into(), ErrorCode::Unauthorized),
        ("forged sign-in token", r#"{"v":1,"type":"create_session","token":"MQoxCjk5OTk5OTk5OTk5OTk5CmV2ZQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#.into(), ErrorCode::Unauthorized),
        ("admit outside a session", format!(r#"{{"v":1,"type":"admit","participant_id":"{ann_id}"}}"#), ErrorCode::NotInSession),
        ("relay outside a session", format!(r#"{{"v":1,"type":"offer","to":"{ann_id}","sdp":"v=0"}}"#), ErrorCode::NotInSession),
        ("unknown resume token", r#"{"v":1,"type":"resume","resume_token":"AAAAAAAAAAAAAAAAAAAAAA"}"#.into(), ErrorCode::ResumeFailed),
    ];
    let count = cases.len();
    for (what, text, code) in cases {
        assert_eq!(error_for(&srv, &text).await, code, "{what}");
        by.still_working(what).await;
    }

    // A binary frame.
    let mut c = srv.client().await;
    c.ws.send_binary(vec![0xff, 0x00, 0x13]).await;
    assert_eq!(c.expect_error().await, ErrorCode::BadJson, "binary frame");
    by.still_working("binary frame").await;

    // Relay into another session: refused, nothing delivered there.
    csr.send(json!({"v":1,"type":"offer","to": by.customer_id,"sdp": sdp("intruder")})).await;
    assert_eq!(csr.expect_error().await, ErrorCode::UnknownParticipant, "relay to another session");
    by.customer.expect_nothing_pending().await;
    by.still_working("cross-session relay").await;

    // A customer may not end the session; may not admit.
    ann.send(json!({"v":1,"type":"end_session"})).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed, "customer ends");
    ann.send(json!({"v":1,"type":"admit","participant_id": ann_id})).await;
    assert_eq!(ann.expect_error().await, ErrorCode::NotAllowed, "customer admits");
    // Joining twice on one connection.
    ann.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Ann"})).await;
    assert_eq!(ann.expect_error().await, ErrorCode::AlreadyInSession, "second join");
    by.still_working("role violations").await;

    // No such session and wrong invite token: the very same bytes.
    let other_number = if s.number.get() == 999_999_999 { "999999998" } else { "999999999" };
    let mut a = srv.client().await;
    a.send(json!({"v":1,"type":"join","session_number": other_number,"name":"Eve","invite_token":"AAAAAAAAAAAAAAAAAAAAAA"})).await;
    let unknown = a.recv_text().await;
    let mut b = srv.client().await;
    b.send(json!({"v":1,"type":"join","session_number": s.number.to_digits(),"name":"Eve","invite_token":"AAAAAAAAAAAAAAAAAAAAAA"})).await;
    let wrong_token = b.recv_text().await;
    assert_eq!(unknown, wrong_token, "unknown session and wrong token must be indistinguishable");
    assert!(unknown.contains("\"session_unavailable\""), "{unknown}");
    by.still_working("session probing").await;

    // An expired sign-in token (lifetime 2 s in this server): poll until refused.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let mut c = srv.client().await;
        c.send(json!({"v":1,"type":"create_session","token": early_token})).await;
        match c.recv().await {
            ServerMessage::Error { code: ErrorCode::Unauthorized, .. } => break,
            ServerMessage::SessionCreated { .. } => {
                assert!(tokio::time::Instant::now() < deadline, "token never expired");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    by.still_working("expired token").await;

    // Over the size limit: close 1009, both just over 64 KiB and far over.
    for size in [65 * 1024, 2 * 1024 * 1024] {
        let mut c = srv.client().await;
        let pad = "x".repeat(size);
        c.send_text(&format!(r#"{{"v":1,"type":"ping","pad":"{pad}"}}"#)).await;
        assert_eq!(c.expect_close().await, close_code::MESSAGE_TOO_BIG, "{size} bytes");
        by.still_working("oversize message").await;
    }

    // A bad Origin is refused at the upgrade with 403.
    let mut req = srv.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("bad origin must get 403, got {:?}", other.map(|_| ())),
    }
    // While the site's own origin is accepted.
    let mut req = srv.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Origin", format!("http://{}", srv.addr).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok(), "own origin");
    by.still_working("bad origin").await;

    // Join flood from one address: over 30 a minute is refused, and stays refused.
    let mut flooder = srv.client().await;
    let mut limited_at = None;
    for i in 0..40 {
        flooder.send(json!({"v":1,"type":"join","session_number":"999999999","name":"Flood"})).await;
        if flooder.expect_error().await == ErrorCode::JoinRateLimited {
            limited_at = Some(i);
            break;
        }
    }
    let limited_at = limited_at.expect("join attempts are rate-limited");
    assert!(limited_at <= 30, "at most 30 join attempts a minute (limited after {limited_at})");
    flooder.send(json!({"v":1,"type":"join","session_number":"999999999","name":"Flood"})).await;
    assert_eq!(flooder.expect_error().await, ErrorCode::JoinRateLimited);
    by.still_working("join flood").await;

    // Message flood on one connection: rate_limited replies, then close 1008.
    let mut spammer = srv.client().await;
    let ping = r#"{"v":1,"type":"ping"}"#;
    for _ in 0..1000 {
        futures_util::SinkExt::feed(&mut spammer.ws, Message::Text(ping.into())).await.unwrap();
    }
    futures_util::SinkExt::flush(&mut spammer.ws).await.unwrap();
    let mut rate_limited = 0;
    let code = loop {
        match tokio::time::timeout(DEADLINE, futures_util::StreamExt::next(&mut spammer.ws)).await.unwrap() {
            Some(Ok(Message::Text(t))) => {
                if t.contains("\"rate_limited\"") {
                    rate_limited += 1;
                }
            }
            Some(Ok(Message::Close(Some(f)))) => break u16::from(f.code),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert!(rate_limited > 0, "rate_limited errors come first");
    assert_eq!(code, close_code::POLICY_VIOLATION, "a persistent flood is closed with 1008");
    by.still_working("message flood").await;

    // Everything above is counted by reason.
    let m = srv.metrics().await;
    for reason in [
        "bad_json",
        "unsupported_version",
        "unknown_type",
        "bad_message",
        "unauthorized",
        "join_rate_limited",
        "rate_limited",
        "message_too_large",
        "bad_origin",
    ] {
        assert!(
            m.contains(&format!("tandem_messages_rejected_total{{reason=\"{reason}\"}}")),
            "no metric for {reason}:\n{m}"
        );
    }
    assert!(count + 12 >= 20, "at least 20 hostile cases");
}

/// Helper so that a test can send raw binary frames.
trait SendBinary {
    async fn send_binary(&mut self, bytes: Vec<u8>);
}

impl SendBinary
    for tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
{
    async fn send_binary(&mut self, bytes: Vec<u8>) {
        futures_util::SinkExt::send(self, Message::Binary(bytes.into())).await.unwrap();
    }
}
