//! The embedded TURN relay (NET-2) on loopback, what it must do: credentials
//! from `session_created` allocate with a real TURN client (webrtc-rs `turn`)
//! and relay to an allowed peer both ways (a peer in `turn.denied_peers`
//! gets nothing), relayed traffic is counted in `/metrics`, an allocation
//! outlives its credential, refreshed ICE servers carry a working one.
//! Loopback peers are allowed here (test flag, like coturn's
//! `--allow-loopback-peers`). What it must refuse with the production
//! defaults (special-purpose peers, bad credentials, the quota) is in
//! `relay_abuse.rs`, against coturn too.

mod common;
mod turn_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use tandem_turn_config::CredentialMinter;
use tandem_wire::{IceServer, ServerMessage};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use turn_common::{Delivered, RawTurn, metric};
use webrtc_util::Conn as _;

const SECRET: &str = "test-secret-0123456789";

async fn relay_server() -> TestServer {
    TestServer::start_with(|c| {
        c.turn.secret = Some(SECRET.into());
        c.turn.allow_loopback_peers = true;
        c.turn.denied_peers = vec!["127.0.0.2/32".parse().unwrap()];
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
    let srv = relay_server().await;
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

    // A peer denied by `turn.denied_peers`: a CreatePermission is refused (403), and nothing arrives.
    let denied = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let err = relay.send_to(b"probe", denied.local_addr().unwrap()).await;
    assert!(err.is_err(), "permission towards 127.0.0.2 must be refused");
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
    let denied_count = metric(&metrics, "tandem_turn_denied_peer_total");
    assert!(denied_count >= 2, "a refused permission and a dropped packet: {metrics}");
    assert!(metrics.contains("tandem_turn_allocations 1"), "{metrics}");
}

#[tokio::test]
async fn relayed_traffic_is_counted_per_direction_in_payload_bytes_and_packets() {
    let srv = relay_server().await;
    let relay = srv.running.as_ref().unwrap().relay_addr.unwrap();
    let minter = CredentialMinter::new(SECRET, Duration::from_secs(600));
    let cred = minter.mint("00000000000000ab", SystemTime::now());
    let mut c = RawTurn::new("127.0.0.1".parse().unwrap(), relay, &cred.username, &cred.password).await;
    let relayed = c.allocate(false).await.relayed_address();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    // (bytes, packets) to_peer, then to_client.
    let counters = |m: &str| {
        ["to_peer", "to_client"].map(|d| {
            let sample = |what| format!("tandem_turn_relayed_{what}_total{{direction=\"{d}\"}}");
            (metric(m, &sample("bytes")), metric(m, &sample("packets")))
        })
    };
    let m = srv.metrics().await;
    assert!(
        m.contains("tandem_turn_relayed_bytes_total{direction=\"to_peer\"} 0"),
        "exposed from the start: {m}"
    );
    assert_eq!(counters(&m), [(0, 0), (0, 0)], "nothing relayed yet");

    // A Send indication out, a Data indication back.
    assert!(c.create_permission(peer_addr).await.is_success());
    c.send_indication(peer_addr, &[1; 100]).await;
    let (data, from) = recv_within(&peer, DEADLINE).await.expect("the peer receives");
    assert_eq!((data.len(), from), (100, relayed));
    peer.send_to(&[2; 37], relayed).await.unwrap();
    assert_eq!(c.delivered(DEADLINE).await, Some(Delivered::Indication(peer_addr, vec![2; 37])));
    assert_eq!(counters(&srv.metrics().await), [(100, 1), (37, 1)], "payload bytes, without TURN framing");

    // ChannelData out and back.
    assert!(c.channel_bind(0x4001, peer_addr).await.is_success());
    c.channel_data(0x4001, &[3; 1200]).await;
    let (data, _) = recv_within(&peer, DEADLINE).await.expect("the peer receives");
    assert_eq!(data.len(), 1200);
    peer.send_to(&[4; 5], relayed).await.unwrap();
    assert_eq!(c.delivered(DEADLINE).await, Some(Delivered::Channel(0x4001, vec![4; 5])));
    assert_eq!(counters(&srv.metrics().await), [(1300, 2), (42, 2)]);

    // A peer without a permission (they are per IP address) is neither relayed nor counted.
    let stranger = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    stranger.send_to(&[5; 64], relayed).await.unwrap();
    peer.send_to(&[6; 3], relayed).await.unwrap();
    assert_eq!(c.delivered(DEADLINE).await, Some(Delivered::Channel(0x4001, vec![6; 3])));
    assert_eq!(counters(&srv.metrics().await), [(1300, 2), (45, 3)]);
}

#[tokio::test]
async fn an_allocation_outlives_its_credential_but_a_new_one_needs_a_fresh_credential() {
    let srv = relay_server().await;
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
async fn refreshed_ice_servers_carry_a_working_fresh_credential() {
    let srv = relay_server().await;
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
