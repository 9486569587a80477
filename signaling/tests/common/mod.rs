//! Shared harness for tests against the real server on 127.0.0.1 port 0 with
//! real WebSocket clients (tokio-tungstenite) and HTTP (reqwest).
#![allow(dead_code)] // each test file uses a different part of the harness

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tandem_signaling::config::Config;
use tandem_signaling::server::{self, RunningServer};
use tandem_wire::{ParticipantId, ServerMessage, SessionNumber};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);
pub const PASSWORD: &str = "correct horse battery";

/// A server with its own data directory and two CSR accounts, `carla` and `ana`.
pub struct TestServer {
    pub running: Option<RunningServer>,
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: Config,
}

pub fn test_config(dir: &std::path::Path) -> Config {
    Config { listen: "127.0.0.1:0".parse().unwrap(), data_dir: dir.to_path_buf(), ..Config::default() }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose per-connection rate limit lets thousands of messages through at once
    /// (for tests of per-session bounds).
    pub async fn without_rate_limit() -> Self {
        Self::start_with(|c| {
            c.limits.messages_per_sec = 100_000;
            c.limits.message_burst = 100_000;
        })
        .await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        tweak(&mut config);
        let store = tandem_signaling::store::open(&config.database_url()).await.unwrap();
        let hash = tandem_signaling::auth::hash_password(PASSWORD).unwrap();
        for name in ["carla", "ana"] {
            let name = tandem_wire::DisplayName::parse(name).unwrap();
            store.add_agent(&name, &hash, tandem_signaling::hub::now()).await.unwrap();
        }
        store.close().await;
        Self::start_in(dir, config).await
    }

    /// Starts (again) on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir, config: Config) -> Self {
        let running = server::start(config.clone()).await.expect("server starts");
        let addr = running.addr;
        Self { running: Some(running), addr, dir, config }
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Signs in and returns the token.
    pub async fn signin(&self, name: &str) -> String {
        let r = reqwest::Client::new()
            .post(self.http("/api/v1/signin"))
            .json(&json!({"name": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign-in of {name}");
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let r = reqwest::Client::new().get(self.http(path)).bearer_auth(token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Polls a session's report until `done` holds (reports are written just
    /// after the events); fails with the last report seen at the deadline.
    pub async fn report_until(&self, session_id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let (status, report) = self.get_json(&format!("/api/v1/reports/{session_id}"), token).await;
            if status == 200 && done(&report) {
                return report;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "report never got there; last: {status} {report}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.http("/metrics")).await.unwrap().text().await.unwrap()
    }

    /// Shuts the server down in order (as SIGTERM does) and keeps the data directory.
    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            tokio::time::timeout(DEADLINE, r.shutdown())
                .await
                .expect("shutdown within the deadline")
                .unwrap();
        }
    }

    /// A connected client (hello already read).
    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url()).await
    }

    /// A CSR with a fresh session.
    pub async fn csr_with_session(&self, name: &str) -> (Client, Created) {
        let token = self.signin(name).await;
        let mut c = self.client().await;
        c.send(json!({"v": 1, "type": "create_session", "token": token, "session_type": "Billing", "tracking_code": "T-1"}))
            .await;
        let created = match c.recv().await {
            ServerMessage::SessionCreated { session, participant_id, resume_token, invite_token, .. } => {
                Created {
                    number: session.session_number,
                    session_id: session.session_id.to_string(),
                    pid: participant_id,
                    resume_token: resume_token.as_str().to_owned(),
                    invite_token: invite_token.as_str().to_owned(),
                }
            }
            other => panic!("expected session_created, got {other:?}"),
        };
        c.expect_participants(1).await;
        (c, created)
    }

    /// A customer admitted with the invite token; returns the client and its participant id.
    pub async fn invited_customer(&self, s: &Created, name: &str) -> (Client, ParticipantId) {
        let mut c = self.client().await;
        c.send(json!({"v": 1, "type": "join", "session_number": s.number.to_digits(), "name": name, "invite_token": s.invite_token}))
            .await;
        let pid = match c.recv().await {
            ServerMessage::Joined { participant_id, .. } => participant_id,
            other => panic!("expected joined, got {other:?}"),
        };
        (c, pid)
    }
}

/// What `create_session` answered.
#[derive(Debug, Clone)]
pub struct Created {
    pub number: SessionNumber,
    pub session_id: String,
    pub pid: ParticipantId,
    pub resume_token: String,
    pub invite_token: String,
}

/// A real WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket connects");
        let mut c = Self { ws };
        assert!(matches!(c.recv().await, ServerMessage::Hello { protocol: 1, .. }));
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.expect("send");
    }

    /// The next text frame, raw.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("a message within the deadline")
                .expect("connection open")
                .expect("no read error");
            match frame {
                Message::Text(t) => return t.as_str().to_owned(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next message, decoded.
    pub async fn recv(&mut self) -> ServerMessage {
        let text = self.recv_text().await;
        tandem_wire::decode(&text).unwrap_or_else(|e| panic!("server sent undecodable {text}: {e}"))
    }

    /// Skips messages until `pick` returns something.
    pub async fn recv_until<T>(&mut self, mut pick: impl FnMut(&ServerMessage) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let m = tokio::time::timeout_at(deadline, self.recv())
                .await
                .expect("expected message within the deadline");
            if let Some(t) = pick(&m) {
                return t;
            }
        }
    }

    /// Waits for `session_ended`; returns its reason.
    pub async fn expect_session_ended(&mut self) -> tandem_wire::EndReason {
        self.recv_until(|m| match m {
            ServerMessage::SessionEnded { reason } => Some(*reason),
            _ => None,
        })
        .await
    }

    /// The next error's code.
    pub async fn expect_error(&mut self) -> tandem_wire::ErrorCode {
        match self.recv().await {
            ServerMessage::Error { code, .. } => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Waits for a participants list of `n` entries; returns (id, role, connected).
    pub async fn expect_participants(&mut self, n: usize) -> Vec<(ParticipantId, tandem_wire::Role, bool)> {
        self.recv_until(|m| match m {
            ServerMessage::Participants { participants } if participants.len() == n => {
                Some(participants.iter().map(|p| (p.id, p.role, p.connected)).collect())
            }
            _ => None,
        })
        .await
    }

    /// Proves nothing is queued for this client: a ping's pong must be the very next message.
    pub async fn expect_nothing_pending(&mut self) {
        let nonce = rand_nonce();
        self.send(json!({"v": 1, "type": "ping", "nonce": nonce})).await;
        let m = self.recv().await;
        assert_eq!(
            m,
            ServerMessage::Pong { nonce: Some(nonce) },
            "something was delivered that should not have been"
        );
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn expect_close(&mut self) -> u16 {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let frame =
                tokio::time::timeout_at(deadline, self.ws.next()).await.expect("close within the deadline");
            match frame {
                Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("connection failed instead of closing: {e}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Drops the TCP connection without a close handshake (a network failure).
    /// (Dropping the stream closes the TCP socket without a WebSocket close frame.)
    pub async fn drop_connection(self) {
        drop(self.ws);
    }
}

fn rand_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A small but realistic SDP body.
pub fn sdp(tag: &str) -> String {
    format!("v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns={tag}\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
}
