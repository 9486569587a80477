//! The embedded TURN relay (NET-2) with a real TURN client (webrtc-rs `turn`)
//! on loopback: credentials from `session_created`, relaying to an allowed
//! peer, refusal of denied peers, expired and forged credentials, the quota.
//! Loopback peers are allowed here (test flag, like coturn's
//! `--allow-loopback-peers`); refusals are tested with 127.0.0.2 (denied
//! explicitly, so a listener there can prove nothing arrives) and 10.0.0.1.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use tandem_turn_config::CredentialMinter;
use tandem_wire::{IceServer, ServerMessage};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn as _;

const SECRET: &str = "test-secret-0123456789";

async fn relay_server(user_quota: u32) -> TestServer {
    TestServer::start_with(|c| {
        c.turn.secret = Some(SECRET.into());
        c.turn.allow_loopback_peers = true;
        c.turn.denied_peers = vec!["127.0.0.2/32".parse().unwrap()];
        c.turn.user_quota = user_quota;
    })
    .await
}

/// The TURN entry of the ICE servers a CSR got with `session_created`.
async fn turn_entry(srv: &TestServer) -> IceServer {
    let token = srv.signin("carla").await;
    let mut c = srv.client().await;
    c.send(serde_json::json!({"v": 1, "type": "create_session", "token": token})).await;
    let servers = match c.recv().await {
        ServerMessage::SessionCreated { ice_servers, .. } => ice_servers,
        other => panic!("expected session_created, got {other:?}"),
    };
    let relay = srv.running.as_ref().unwrap().relay_addr.expect("the relay runs by default");
    assert_eq!(servers[0].urls, vec![format!("stun:127.0.0.1:{}", relay.port())], "{servers:?}");
    let turn = servers[1].clone();
    assert_eq!(turn.urls, vec![format!("turn:127.0.0.1:{}?transport=udp", relay.port())]);
    std::mem::forget(c); // keep the session alive for the test
    turn
}

async fn client(srv: &TestServer, username: &str, password: &str) -> Client {
    let relay = srv.running.as_ref().unwrap().relay_addr.unwrap();
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let c = Client::new(ClientConfig {
        stun_serv_addr: String::new(),
        turn_serv_addr: relay.to_string(),
        username: username.into(),
        password: password.into(),
        realm: "tandem".into(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await
    .unwrap();
    c.listen().await.unwrap();
    c
}

async fn recv_within(sock: &UdpSocket, d: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 1500];
    match tokio::time::timeout(d, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => Some((buf[..n].to_vec(), from)),
        _ => None,
    }
}

#[tokio::test]
async fn minted_credentials_allocate_and_relay_to_an_allowed_peer_only() {
    let srv = relay_server(10).await;
    let entry = turn_entry(&srv).await;
    let c = client(&srv, entry.username.as_deref().unwrap(), entry.credential.as_deref().unwrap()).await;
    let relay = tokio::time::timeout(DEADLINE, c.allocate())
        .await
        .unwrap()
        .expect("allocation with minted credentials");
    let relayed = relay.local_addr().unwrap();
    assert_eq!(relayed.ip().to_string(), "127.0.0.1");

    // An allowed peer gets the data from the relayed address, and its answer comes back.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay.send_to(b"hello through the relay", peer.local_addr().unwrap()).await.unwrap();
    let (data, from) = recv_within(&peer, DEADLINE).await.expect("the peer receives");
    assert_eq!((data.as_slice(), from), (&b"hello through the relay"[..], relayed));
    peer.send_to(b"and back", relayed).await.unwrap();
    let mut buf = [0u8; 100];
    let (n, from) = tokio::time::timeout(DEADLINE, relay.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"and back"[..], peer.local_addr().unwrap()));

    // Denied peers: a CreatePermission is refused (403), and nothing arrives.
    let denied = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let err = relay.send_to(b"probe", denied.local_addr().unwrap()).await;
    assert!(err.is_err(), "permission towards 127.0.0.2 must be refused");
    assert!(relay.send_to(b"probe", "10.0.0.1:9".parse().unwrap()).await.is_err(), "10.0.0.0/8 is denied");
    assert!(relay.send_to(b"probe", "169.254.169.254:80".parse().unwrap()).await.is_err());
    // A packet from the denied address to the relayed port is not delivered either.
    denied.send_to(b"inbound probe", relayed).await.unwrap();
    assert!(recv_within(&denied, Duration::from_millis(300)).await.is_none(), "nothing reaches 127.0.0.2");
    peer.send_to(b"still works", relayed).await.unwrap();
    let (n, from) = tokio::time::timeout(DEADLINE, relay.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"still works"[..], peer.local_addr().unwrap()),
        "the denied inbound packet was dropped"
    );
    let metrics = srv.metrics().await;
    let denied_count: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tandem_turn_denied_peer_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(denied_count >= 4, "three refused permissions and one dropped packet: {metrics}");
    assert!(metrics.contains("tandem_turn_allocations 1"), "{metrics}");
}

#[tokio::test]
async fn expired_and_forged_credentials_are_refused() {
    let srv = relay_server(10).await;
    let minter = CredentialMinter::new(SECRET, Duration::from_secs(600));
    let expired = minter.mint("00000000000000aa", SystemTime::now() - Duration::from_secs(3600));
    let c = client(&srv, &expired.username, &expired.password).await;
    let err = tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().err().expect("expired credential");
    assert!(err.to_string().contains("401"), "401 Unauthorized: {err}");

    let forged = CredentialMinter::new("not-the-secret-at-all", Duration::from_secs(600))
        .mint("00000000000000bb", SystemTime::now());
    let c = client(&srv, &forged.username, &forged.password).await;
    let err = tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().err().expect("wrong secret");
    assert!(err.to_string().contains("401"), "401 Unauthorized: {err}");

    let bare = minter.password_for("1999999999");
    let c = client(&srv, "1999999999", &bare).await;
    assert!(
        tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().is_err(),
        "a bare timestamp is not ours"
    );

    let good = minter.mint("00000000000000cc", SystemTime::now());
    let c = client(&srv, &good.username, &good.password).await;
    assert!(tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().is_ok(), "the same secret works");
    let metrics = srv.metrics().await;
    assert!(metrics.contains("tandem_turn_refused_total{reason=\"expired\"} 1"), "{metrics}");
    assert!(metrics.contains("tandem_turn_refused_total{reason=\"malformed\"} 1"), "{metrics}");
    assert!(metrics.contains("tandem_turn_refused_total{reason=\"forged\"} 1"), "{metrics}");
}

#[tokio::test]
async fn an_allocation_outlives_its_credential_but_a_new_one_needs_a_fresh_credential() {
    let srv = relay_server(10).await;
    // A credential that expires in about two seconds.
    let short =
        CredentialMinter::new(SECRET, Duration::from_secs(2)).mint("00000000000000ee", SystemTime::now());
    let c = client(&srv, &short.username, &short.password).await;
    let relay = tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().expect("allocated while valid");
    tokio::time::sleep(Duration::from_millis(3100)).await; // real time: the credential's expiry is in seconds
    // A new permission (authenticated with the now expired credential) on the existing allocation works.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay
        .send_to(b"after expiry", peer.local_addr().unwrap())
        .await
        .expect("permission on the existing allocation");
    let (data, _) = recv_within(&peer, DEADLINE).await.expect("the peer receives");
    assert_eq!(data, b"after expiry");
    // A new allocation with it does not.
    let c2 = client(&srv, &short.username, &short.password).await;
    assert!(tokio::time::timeout(DEADLINE, c2.allocate()).await.unwrap().is_err());
}

#[tokio::test]
async fn the_allocation_quota_per_credential_holds() {
    let srv = relay_server(2).await;
    let entry = turn_entry(&srv).await;
    let (user, pass) = (entry.username.unwrap(), entry.credential.unwrap());
    let mut kept = Vec::new();
    for i in 0..2 {
        let c = client(&srv, &user, &pass).await;
        let r = tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap();
        assert!(r.is_ok(), "allocation {i} within the quota");
        kept.push((c, r.unwrap()));
    }
    let c = client(&srv, &user, &pass).await;
    assert!(
        tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().is_err(),
        "a third allocation is refused"
    );
    // Another participant's credential has its own quota.
    let other =
        CredentialMinter::new(SECRET, Duration::from_secs(600)).mint("00000000000000dd", SystemTime::now());
    let c = client(&srv, &other.username, &other.password).await;
    assert!(tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().is_ok());
    assert!(srv.metrics().await.contains("tandem_turn_refused_total{reason=\"quota\"} 1"));
}

#[tokio::test]
async fn refreshed_ice_servers_carry_a_working_fresh_credential() {
    let srv = relay_server(10).await;
    let (mut csr, _) = srv.csr_with_session("carla").await;
    csr.send(serde_json::json!({"v": 1, "type": "refresh_ice_servers"})).await;
    let servers = csr
        .recv_until(|m| match m {
            ServerMessage::IceServers { ice_servers } => Some(ice_servers.clone()),
            _ => None,
        })
        .await;
    let turn = servers.iter().find(|s| s.username.is_some()).expect("a TURN entry");
    let c = client(&srv, turn.username.as_deref().unwrap(), turn.credential.as_deref().unwrap()).await;
    assert!(tokio::time::timeout(DEADLINE, c.allocate()).await.unwrap().is_ok());
}
