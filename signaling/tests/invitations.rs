//! Invitation e-mails (SES-2) against the real server and a tiny fake SMTP
//! server on 127.0.0.1 that records what it is sent.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use tandem_signaling::config::{SmtpConfig, SmtpSecurity};
use tandem_wire::ServerMessage;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// One mail as the fake relay received it.
#[derive(Debug, Clone)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The DATA, headers and body, dot-unstuffed, without the final ".".
    data: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        let head = self.data.split("\r\n\r\n").next()?;
        head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
    }

    /// The body, decoded from base64 (the server sends plain text as base64).
    fn text(&self) -> String {
        assert_eq!(self.header("Content-Transfer-Encoding"), Some("base64"), "{}", self.data);
        let body: String = self.data.split_once("\r\n\r\n").unwrap().1.split_whitespace().collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap()
    }
}

/// A minimal SMTP server (RFC 5321 happy path, no TLS, no auth).
struct FakeSmtp {
    port: u16,
    mails: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSmtp {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_smtp(stream, sink.clone()));
            }
        });
        Self { port, mails, task }
    }

    fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            from: "Tandem Support <support@example.com>".into(),
            security: SmtpSecurity::None,
            ..SmtpConfig::default()
        }
    }

    fn count(&self) -> usize {
        self.mails.lock().unwrap().len()
    }

    /// Waits for the `n`th mail (1-based).
    async fn mail(&self, n: usize) -> Received {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(m) = self.mails.lock().unwrap().get(n - 1) {
                return m.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "mail {n} never arrived");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_smtp(stream: tokio::net::TcpStream, sink: Arc<Mutex<Vec<Received>>>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    let _ = w.write_all(b"220 fake.example ESMTP\r\n").await;
    let (mut from, mut rcpt) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-fake.example\r\n250 8BITMIME\r\n"
        } else if let Some(a) = upper.strip_prefix("MAIL FROM:") {
            from = cmd[cmd.len() - a.len()..].to_owned();
            rcpt.clear();
            b"250 ok\r\n"
        } else if let Some(a) = upper.strip_prefix("RCPT TO:") {
            rcpt.push(cmd[cmd.len() - a.len()..].to_owned());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            let _ = w.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            sink.lock().unwrap().push(Received { mail_from: from.clone(), rcpt_to: rcpt.clone(), data });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n" // RSET, NOOP
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

async fn post_invitation(srv: &TestServer, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(srv.http("/api/v1/invitations")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn hello_features(srv: &TestServer) -> tandem_wire::Features {
    let (mut ws, _) = tokio_tungstenite::connect_async(srv.ws_url()).await.unwrap();
    use futures_util::StreamExt as _;
    let frame = ws.next().await.unwrap().unwrap();
    match tandem_wire::decode::<ServerMessage>(frame.to_text().unwrap()).unwrap() {
        ServerMessage::Hello { features, .. } => features,
        other => panic!("expected hello, got {other:?}"),
    }
}

#[tokio::test]
async fn customer_invitation_arrives_in_french_with_the_join_link() {
    let smtp = FakeSmtp::start().await;
    let srv = TestServer::start_with(|c| c.smtp = Some(smtp.config())).await;
    assert!(hello_features(&srv).await.email_invitations, "hello announces e-mail invitations");
    let (_csr, s) = srv.csr_with_session("carla").await;
    let token = srv.signin("carla").await;

    let (status, body) = post_invitation(
        &srv,
        Some(&token),
        json!({"session_number": s.number.to_digits(), "to": "ann@example.com", "language": "fr", "kind": "customer"}),
    )
    .await;
    assert_eq!((status, body), (202, json!({"sent": true})));
    let mail = smtp.mail(1).await;
    assert_eq!(mail.mail_from, "<support@example.com>");
    assert_eq!(mail.rcpt_to, vec!["<ann@example.com>"]);
    assert_eq!(mail.header("To"), Some("ann@example.com"));
    assert_eq!(mail.header("Content-Language"), Some("fr"));
    let text = mail.text();
    let link = format!(
        "{}/join/{}#invite={}",
        srv.config.public_url(srv.addr),
        s.number.to_digits(),
        s.invite_token
    );
    assert!(text.contains(&link), "the join link with the invite token: {text}");
    assert!(text.starts_with("Bonjour,"), "written in French: {text}");
    assert!(text.contains(&s.number.to_string()), "the number, grouped: {text}");
    assert!(text.contains("carla"), "signed by the inviting CSR: {text}");
    let metrics = srv.metrics().await;
    assert!(metrics.contains("tandem_invitations_sent_total 1"), "{metrics}");
}

#[tokio::test]
async fn csr_invitation_has_number_and_site_and_unknown_languages_get_english() {
    let smtp = FakeSmtp::start().await;
    let srv = TestServer::start_with(|c| c.smtp = Some(smtp.config())).await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let token = srv.signin("carla").await;
    let site = srv.config.public_url(srv.addr);

    let (status, _) = post_invitation(
        &srv,
        Some(&token),
        json!({"session_number": s.number.to_string(), "to": "ana@example.com", "language": "sr-Latn", "kind": "csr"}),
    )
    .await;
    assert_eq!(status, 202);
    let text = smtp.mail(1).await.text();
    assert!(text.starts_with("Zdravo,"), "Serbian (Latin): {text}");
    assert!(text.contains(&s.number.to_string()) && text.contains(&site), "{text}");
    assert!(
        !text.contains(&s.invite_token),
        "a CSR assists by signing in; the customer token stays out: {text}"
    );

    let (status, _) = post_invitation(
        &srv,
        Some(&token),
        json!({"session_number": s.number.to_digits(), "to": "bob@example.com", "language": "de", "kind": "customer"}),
    )
    .await;
    assert_eq!(status, 202);
    let mail = smtp.mail(2).await;
    assert_eq!(mail.header("Content-Language"), Some("en"));
    assert!(mail.text().starts_with("Hello,"), "{}", mail.text());
}

#[tokio::test]
async fn not_configured_is_503_and_hello_says_so() {
    let srv = TestServer::start().await;
    assert!(!hello_features(&srv).await.email_invitations);
    let (_csr, s) = srv.csr_with_session("carla").await;
    let token = srv.signin("carla").await;
    let (status, body) = post_invitation(
        &srv,
        Some(&token),
        json!({"session_number": s.number.to_digits(), "to": "ann@example.com", "language": "en", "kind": "customer"}),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "email_not_configured");
    assert!(body["message"].as_str().unwrap().contains("SMTP"));
}

#[tokio::test]
async fn bad_addresses_wrong_csr_and_bad_requests_send_nothing() {
    let smtp = FakeSmtp::start().await;
    let srv = TestServer::start_with(|c| c.smtp = Some(smtp.config())).await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let carla = srv.signin("carla").await;
    let ana = srv.signin("ana").await;
    let invite = |to: &str, kind: &str| json!({"session_number": s.number.to_digits(), "to": to, "language": "en", "kind": kind});

    for to in [
        "ann@example.com\r\nBcc: eve@evil.example",
        "ann@example.com\nSubject: hi",
        "Ann <ann@example.com>",
        "ann@example.com, eve@evil.example",
        "nobody",
    ] {
        let (status, body) = post_invitation(&srv, Some(&carla), invite(to, "customer")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_address")), "{to:?}");
    }
    let (status, body) = post_invitation(&srv, Some(&carla), invite("ann@example.com", "admin")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    let (status, body) = post_invitation(
        &srv,
        Some(&carla),
        json!({"session_number": "12345", "to": "ann@example.com", "kind": "customer"}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));

    // Ana is a CSR, but not of this session.
    let (status, body) = post_invitation(&srv, Some(&ana), invite("ann@example.com", "customer")).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("not_allowed")));
    // A session that does not exist gets the same answer.
    let other = if s.number.to_digits() == "111111111" { "222222222" } else { "111111111" };
    let (status, _) = post_invitation(
        &srv,
        Some(&carla),
        json!({"session_number": other, "to": "ann@example.com", "kind": "customer"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = post_invitation(&srv, None, invite("ann@example.com", "customer")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let (status, _) =
        post_invitation(&srv, Some("forged.token"), invite("ann@example.com", "customer")).await;
    assert_eq!(status, 401);

    // Once Ana assists, she may invite; the mail that arrives is the first one.
    let mut ana_ws = srv.client().await;
    ana_ws.send(json!({"v":1,"type":"assist","token": ana,"session_number": s.number.to_digits()})).await;
    assert!(matches!(ana_ws.recv().await, ServerMessage::Joined { .. }));
    let (status, _) = post_invitation(&srv, Some(&ana), invite("ann@example.com", "customer")).await;
    assert_eq!(status, 202);
    let mail = smtp.mail(1).await;
    assert_eq!(mail.rcpt_to, vec!["<ann@example.com>"]);
    assert!(!mail.data.contains("evil.example"), "no injected header or recipient: {}", mail.data);
    assert_eq!(smtp.count(), 1, "nothing else was sent");
}

#[tokio::test]
async fn invitations_are_rate_limited_per_csr() {
    let smtp = FakeSmtp::start().await;
    let srv = TestServer::start_with(|c| {
        c.smtp = Some(smtp.config());
        c.limits.invitations_per_minute = 2;
    })
    .await;
    let (_csr, s) = srv.csr_with_session("carla").await;
    let carla = srv.signin("carla").await;
    let body = json!({"session_number": s.number.to_digits(), "to": "ann@example.com", "kind": "customer"});
    assert_eq!(post_invitation(&srv, Some(&carla), body.clone()).await.0, 202);
    assert_eq!(post_invitation(&srv, Some(&carla), body.clone()).await.0, 202);
    let (status, reply) = post_invitation(&srv, Some(&carla), body.clone()).await;
    assert_eq!((status, reply["error"].as_str()), (429, Some("rate_limited")));
    smtp.mail(2).await;
    assert_eq!(smtp.count(), 2);
    // Another CSR has their own allowance (and gets 403 here, not 429).
    let ana = srv.signin("ana").await;
    assert_eq!(post_invitation(&srv, Some(&ana), body).await.0, 403);
}
