//! NAT traversal and TURN fallback across real NATs (issue 5, NET-2): two
//! native peers, each in a network namespace behind its own NAT router, meet
//! through the signaling server on a "public" segment that also runs the
//! STUN/TURN relay (the embedded one or coturn). Each test checks the path the
//! peers selected and report, that decoded H.264 pictures and a chat message
//! cross, and what the relay carried.

mod common;
#[path = "common/nat_world.rs"]
mod nat_world;

use common::netns::{Firewall, Host, Nat};
use common::*;
use nat_world::{Relay, SIGNALING_PORT, TURN_PORT, TURN_TLS_PORT, World, relayed, world};
use tandem_peer::link::{LinkConfig, Path};
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::Event;
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::VideoSource;
use tandem_peer::video::test_pattern::{TestPattern, mismatched_blocks, read_counter};
use tandem_wire::{CandidateType, DisplayName, PathProtocol};

/// What a session between peer A (a CSR who views) and peer B (a customer who shares) showed.
struct Outcome {
    csr_path: Path,
    customer_path: Path,
    /// Screen pictures still arriving at the CSR, and the parties to keep the session up.
    pictures: tokio::sync::mpsc::UnboundedReceiver<Picture>,
    _peers: (Peer, Peer, tandem_peer::video::pipeline::VideoPipeline),
}

impl Outcome {
    /// Waits for `n` more screen pictures (a second of video is 30).
    async fn more_pictures(&mut self, n: usize) {
        for _ in 0..n {
            tokio::time::timeout(DEADLINE, self.pictures.recv())
                .await
                .expect("pictures keep coming")
                .unwrap();
        }
    }
}

/// A CSR in A starts a session; a customer in B joins and shares a test-pattern screen.
/// Returns once pictures decoded at the CSR and a chat line crossed, with both reported paths.
async fn meet(world: &mut World) -> Outcome {
    let config = LinkConfig { tls_roots: world.tls_roots.clone(), ..LinkConfig::default() };
    let (rt_a, rt_b) = (world.topology.runtime(Host::A), world.topology.runtime(Host::B));

    let (csr_media, mut pictures) = receiving(None);
    let (url, csr_config) = (world.url.clone(), config.clone());
    let (mut csr, number, invite) =
        rt_a.spawn(async move { start_session(&url, csr_media, csr_config).await }).await.unwrap();

    let (screen, pipeline) = video_feed(
        MediaKind::Screen,
        Box::new(|| Ok(Box::new(TestPattern::new(320, 240)) as Box<dyn VideoSource>)),
    );
    let media = Media { feeds: vec![screen], video_sinks: None, audio_sinks: None };
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let entry = Entry::Customer { target, name: DisplayName::parse("Dana").unwrap() };
    let mut customer = {
        let _in_b = rt_b.enter();
        spawn_peer_configured(&world.url, entry, media, config)
    };

    // Both report their path once connected; the customer's chat channel opens around then.
    let (customer_id, csr_path) = csr
        .wait_for("the CSR's path", |e| match e {
            Event::Path { with, path } => Some((*with, *path)),
            _ => None,
        })
        .await;
    let (mut customer_path, mut chat_ready) = (None, false);
    while customer_path.is_none() || !chat_ready {
        let event = customer
            .wait_for("the customer's path and chat channel", |e| {
                matches!(e, Event::Path { .. } | Event::ChatReady(_)).then(|| e.clone())
            })
            .await;
        match event {
            Event::Path { path, .. } => customer_path = Some(path),
            _ => chat_ready = true,
        }
    }

    // The customer lets the CSR see the screen; decoded H.264: the colour blocks hold and the
    // frame counter advances.
    allow_view(&csr, &mut customer, customer_id).await;
    let mut counters = Vec::new();
    while counters.len() < 10 {
        let (_, kind, frame) = tokio::time::timeout(DEADLINE, pictures.recv())
            .await
            .expect("pictures reach the CSR within the deadline")
            .expect("picture sink open");
        if kind == MediaKind::Screen {
            assert!(mismatched_blocks(&frame, 16).is_empty(), "colour blocks off across the NATs");
            counters.push(read_counter(&frame));
        }
    }
    assert!(counters.windows(2).all(|w| w[1] > w[0]), "frame counter advances: {counters:?}");

    // Chat crosses too.
    customer.chat("hello across the NATs").await;
    let text = csr
        .wait_for("chat", |e| match e {
            Event::Chat { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "hello across the NATs");
    Outcome {
        csr_path,
        customer_path: customer_path.expect("waited for above"),
        pictures,
        _peers: (csr, customer, pipeline),
    }
}

/// The embedded relay's relayed-bytes counter from `/metrics`.
async fn relayed_bytes(world: &mut World) -> u64 {
    let url = format!("{}/metrics", world.url);
    let tls = tandem_peer::tls::client_config(&world.tls_roots).unwrap();
    let client = reqwest::Client::builder().use_preconfigured_tls((*tls).clone()).build().unwrap();
    let text = world
        .topology
        .runtime(Host::Public)
        .spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("tandem_turn_relayed_bytes_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_cone_nats_peers_connect_directly() {
    let mut world = world(Nat::Cone, Nat::Cone, Firewall::Open, Relay::Embedded).await;
    let mut outcome = meet(&mut world).await;
    for path in [outcome.csr_path, outcome.customer_path] {
        assert!(!relayed(&path), "a direct path through cone NATs, not {path:?}");
        assert_eq!(path.protocol, PathProtocol::Udp);
    }
    // ICE checked the relayed candidates too (a few STUN packets); the media never used them.
    let checks = relayed_bytes(&mut world).await;
    outcome.more_pictures(60).await;
    let after = relayed_bytes(&mut world).await;
    eprintln!("relayed bytes: {checks} during connectivity checks, {after} after 60 more pictures");
    assert_eq!(after, checks, "no media through the relay");
    assert!(checks < 16 * 1024, "only connectivity checks went through the relay: {checks} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_symmetric_nats_peers_connect_through_the_embedded_relay() {
    let mut world = world(Nat::Symmetric, Nat::Symmetric, Firewall::Open, Relay::Embedded).await;
    let mut outcome = meet(&mut world).await;
    for path in [outcome.csr_path, outcome.customer_path] {
        assert!(relayed(&path), "symmetric NATs leave only the relay, not {path:?}");
    }
    let before = relayed_bytes(&mut world).await;
    outcome.more_pictures(60).await;
    let after = relayed_bytes(&mut world).await;
    eprintln!("relayed bytes: {before}, then {after} after 60 more pictures");
    assert!(after > before, "the pictures go through the relay: {before} → {after} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_symmetric_nats_peers_connect_through_coturn() {
    let mut world = world(Nat::Symmetric, Nat::Symmetric, Firewall::Open, Relay::Coturn).await;
    let outcome = meet(&mut world).await;
    for path in [outcome.csr_path, outcome.customer_path] {
        assert!(relayed(&path), "symmetric NATs leave only the relay, not {path:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_udp_the_native_peer_reaches_the_relay_over_tcp() {
    let open = &[SIGNALING_PORT, TURN_PORT];
    let mut world = world(Nat::Cone, Nat::Cone, Firewall::TcpOnlyTo(open), Relay::Coturn).await;
    let outcome = meet(&mut world).await;
    assert_eq!(
        (outcome.csr_path.local, outcome.csr_path.protocol),
        (CandidateType::Relay, PathProtocol::Tcp),
        "{:?}",
        outcome.csr_path
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_only_the_tls_port_open_the_native_peer_reaches_the_relay_over_tls() {
    let open = &[SIGNALING_PORT, TURN_TLS_PORT];
    let mut world = world(Nat::Cone, Nat::Cone, Firewall::TcpOnlyTo(open), Relay::Coturn).await;
    let outcome = meet(&mut world).await;
    assert_eq!(
        (outcome.csr_path.local, outcome.csr_path.protocol),
        (CandidateType::Relay, PathProtocol::Tls),
        "{:?}",
        outcome.csr_path
    );
}
