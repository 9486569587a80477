//! Operating the server: the real binary (accounts, SIGTERM), HTTPS with a
//! configured certificate, and the keepalive that drops silent clients.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use serde_json::json;
use tandem_wire::{ServerMessage, close_code};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BIN: &str = env!("CARGO_BIN_EXE_tandem-signaling");

/// Kills the child on drop, so a failed test leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_creates_agents_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    // `agent add` with the password on stdin; a second one with the same name is refused.
    for (name, expect_ok) in [("carla", true), ("Carla", false)] {
        let mut add = Command::new(BIN)
            .args(["--data-dir", data, "agent", "add", name, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        add.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        let out = add.wait_with_output().unwrap();
        assert_eq!(out.status.success(), expect_ok, "{}", String::from_utf8_lossy(&out.stderr));
        if !expect_ok {
            assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
        }
    }
    let short = Command::new(BIN)
        .args(["--data-dir", data, "agent", "add", "bob", "--password-stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = {
        let mut short = short;
        short.stdin.take().unwrap().write_all(b"short\n").unwrap();
        short.wait_with_output().unwrap()
    };
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));

    // Serve without naming the subcommand: TANDEM_LISTEN must still apply.
    let mut child = Child(
        Command::new(BIN)
            .args(["--data-dir", data, "--log-format", "json"])
            .env("TANDEM_LISTEN", "127.0.0.1:0")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server prints its address").unwrap();
        if let Some(url) = line.strip_prefix("Tandem is running at ") {
            break url.to_owned();
        }
    };
    let addr = url.trim_start_matches("http://").to_owned();
    let token = signin_at(&addr, "carla").await;
    let mut csr = Client::connect(&format!("ws://{addr}/ws")).await;
    csr.send(json!({"v":1,"type":"create_session","token": token})).await;
    assert!(matches!(csr.recv().await, ServerMessage::SessionCreated { .. }));

    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(csr.expect_session_ended().await, tandem_wire::EndReason::ServerShutdown);
    assert_eq!(csr.expect_close().await, close_code::GOING_AWAY);
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shut down cleanly")), "{rest:?}");
    assert!(rest.iter().all(|l| l.starts_with('{')), "JSON log lines: {rest:?}");
}

async fn signin_at(addr: &str, name: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/signin"))
        .json(&json!({"name": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn serves_https_with_a_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let srv = TestServer::start_with(|c| {
        c.tls.cert = Some(cert_path.clone());
        c.tls.key = Some(key_path.clone());
    })
    .await;
    assert!(srv.running.as_ref().unwrap().url.starts_with("https://"));

    // A TLS client that trusts exactly this certificate.
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls =
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok\n"), "{response}");

    // Plain HTTP on the same port is not served.
    let plain = reqwest::get(srv.http("/healthz")).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[tokio::test]
async fn a_silent_client_is_dropped_with_4002() {
    let srv = TestServer::start_with(|c| c.limits.keepalive_secs = 1).await;
    let mut quiet = srv.client().await;
    // Say nothing and read nothing (so no pong goes back) for over three keepalive periods.
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    assert_eq!(quiet.expect_close().await, close_code::KEEPALIVE_TIMEOUT);

    // A client that keeps talking stays.
    let mut chatty = srv.client().await;
    for _ in 0..6 {
        chatty.expect_nothing_pending().await;
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    }
    chatty.expect_nothing_pending().await;
}
