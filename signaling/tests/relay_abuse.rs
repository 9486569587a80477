//! Relay abuse (issue 5 acceptance), against both relays: the embedded relay
//! as the run command starts it (loopback peers denied) and coturn running
//! the generated configuration.
//!
//! Each test runs in a network namespace of its own (it disappears with the
//! test's thread and children): the relays listen on 203.0.113.1 (coturn also
//! on 2001:db8::1, so it can make IPv6 allocations), clients sit on
//! 203.0.113.2, and every probed special-purpose address is put on the
//! loopback interface with a UDP listener on it, so "delivers nothing" is
//! checked where a relayed packet would land.
//!
//! - Peer probes, for each relay, allocation family and target (127.0.0.1,
//!   127.0.0.2, 10.x, 172.16.x, 192.168.x, 169.254.169.254, 0.0.0.0, [::1],
//!   ::ffff:127.0.0.1): CreatePermission and ChannelBind are refused — 403,
//!   or 443 (address family mismatch) from an allocation of the other family
//!   when another one answered 403 —, a Send indication and ChannelData
//!   deliver nothing, the listener receives zero packets, and nothing it
//!   sends to the relayed address reaches the client.
//! - The probes can fail: every listener first receives a datagram sent
//!   straight to its peer address; the same probes towards an allowed peer
//!   (198.51.100.7, 2001:db8::7) go through both ways; with the tests-only
//!   `allow_loopback_peers` the loopback listeners receive them, and through
//!   coturn without its `denied-peer-ip` lines every reachable one does.
//! - Credentials: an expired one and one made with another secret get 401; a
//!   fresh one allocates.
//! - Quota: the per-credential allocation quota holds (the n+1th allocation
//!   is refused), per credential, and a deleted allocation frees its place.

mod common;
mod turn_common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use common::TestServer;
use tandem_turn_config::CredentialMinter;
use tokio::net::UdpSocket;
use turn_common::{Coturn, CoturnSetup, Delivered, RawTurn, metric, own_network_namespace};

const SECRET: &str = "abuse-test-secret-0123456789";
/// The embedded relay's default realm; coturn gets the same.
const REALM: &str = "tandem";
const RELAY_V4: &str = "203.0.113.1";
const RELAY_V6: &str = "2001:db8::1";
const CLIENT: &str = "203.0.113.2";
/// Peers both relays may reach, per allocation family: the probes' positive control.
const ALLOWED_V4: &str = "198.51.100.7:40100";
const ALLOWED_V6: &str = "[2001:db8::7]:40100";
/// The embedded relay's relayed ports: the probes' listeners are outside.
const RELAY_PORTS: (u16, u16) = (50_000, 50_999);
const USER_QUOTA: u32 = 2;
/// How long after the control went through a denied listener may still get
/// a probe (the relay handles a client's datagrams in order, so in practice
/// a probe would have arrived before the control).
const GRACE: Duration = Duration::from_millis(300);

/// The namespace's addresses, on its loopback interface.
const ADDRESSES: &[&str] = &[
    "203.0.113.1/32",
    "203.0.113.2/32",
    "2001:db8::1/128",
    "2001:db8::7/128",
    "198.51.100.7/32",
    "10.9.9.9/32",
    "172.16.9.9/32",
    "192.168.9.9/32",
    "169.254.169.254/32",
];

/// A probed peer: where its listener is bound, and the peer address the
/// probes name (they differ for 0.0.0.0, reached through a wildcard
/// listener, and ::ffff:127.0.0.1, which lands on the IPv4 loopback).
struct Target {
    listen: SocketAddr,
    peer: SocketAddr,
}

fn targets() -> Vec<Target> {
    let t =
        |listen: &str, peer: &str| Target { listen: listen.parse().unwrap(), peer: peer.parse().unwrap() };
    vec![
        t("127.0.0.1:40001", "127.0.0.1:40001"),
        t("127.0.0.2:40002", "127.0.0.2:40002"),
        t("10.9.9.9:40003", "10.9.9.9:40003"),
        t("172.16.9.9:40004", "172.16.9.9:40004"),
        t("192.168.9.9:40005", "192.168.9.9:40005"),
        t("169.254.169.254:40006", "169.254.169.254:40006"),
        t("0.0.0.0:40007", "0.0.0.0:40007"),
        t("[::1]:40008", "[::1]:40008"),
        t("127.0.0.1:40009", "[::ffff:127.0.0.1]:40009"),
    ]
}

#[test]
fn embedded_relay_delivers_nothing_to_special_purpose_peers() {
    in_own_namespace(async {
        let relay = Relay::embedded(Peers::Denied).await;
        peer_probes(&relay, Peers::Denied).await;
        let Running::Embedded(srv) = &relay.running else { unreachable!() };
        let m = srv.metrics().await;
        // Only the control's two datagrams (one Send, one ChannelData) left the relay.
        let control_bytes = (b"control via Send".len() + b"control via ChannelData".len()) as u64;
        assert_eq!(
            metric(&m, r#"tandem_turn_relayed_bytes_total{direction="to_peer"}"#),
            control_bytes,
            "{m}"
        );
        assert_eq!(metric(&m, r#"tandem_turn_relayed_packets_total{direction="to_peer"}"#), 2, "{m}");
        // Per target: CreatePermission, ChannelBind and the Send indication, refused in front of the server.
        assert!(metric(&m, "tandem_turn_denied_peer_total") >= 3 * targets().len() as u64, "{m}");
    });
}

#[test]
fn coturn_delivers_nothing_to_special_purpose_peers() {
    in_own_namespace(async {
        let relay = Relay::coturn(Peers::Denied).await;
        peer_probes(&relay, Peers::Denied).await;
    });
}

#[test]
fn with_loopback_peers_allowed_the_same_probes_reach_loopback_listeners() {
    // The tests-only switch opens 127/8 and ::1: the listeners there must
    // then receive, or the probes above could not fail.
    in_own_namespace(async {
        for relay in
            [Relay::embedded(Peers::LoopbackAllowed).await, Relay::coturn(Peers::LoopbackAllowed).await]
        {
            peer_probes(&relay, Peers::LoopbackAllowed).await;
        }
    });
}

#[test]
fn through_an_open_relay_the_same_probes_reach_every_listener() {
    // coturn without the generated denied-peer-ip lines, loopback allowed:
    // every target's listener is reachable, so "received nothing" above
    // means refused, not unreachable.
    in_own_namespace(async {
        let relay = Relay::coturn(Peers::AllAllowed).await;
        peer_probes(&relay, Peers::AllAllowed).await;
    });
}

#[test]
fn embedded_relay_answers_401_to_expired_and_forged_credentials() {
    in_own_namespace(async {
        let relay = Relay::embedded(Peers::Denied).await;
        credential_probes(&relay).await;
        let Running::Embedded(srv) = &relay.running else { unreachable!() };
        let m = srv.metrics().await;
        assert_eq!(metric(&m, r#"tandem_turn_refused_total{reason="expired"}"#), 1, "{m}");
        assert_eq!(metric(&m, r#"tandem_turn_refused_total{reason="forged"}"#), 1, "{m}");
        // A bare timestamp (the stock handler's form) is not ours.
        let bare = "1999999999";
        let mut c = relay.client_with(bare, &relay.minter.password_for(bare)).await;
        assert_eq!(c.allocate(false).await.code(), Some(401), "bare timestamp username");
        assert_eq!(metric(&srv.metrics().await, r#"tandem_turn_refused_total{reason="malformed"}"#), 1);
    });
}

#[test]
fn coturn_answers_401_to_expired_and_forged_credentials() {
    in_own_namespace(async {
        let relay = Relay::coturn(Peers::Denied).await;
        credential_probes(&relay).await;
    });
}

#[test]
fn embedded_relay_holds_the_allocation_quota() {
    in_own_namespace(async {
        let relay = Relay::embedded(Peers::Denied).await;
        quota_probes(&relay).await;
        let Running::Embedded(srv) = &relay.running else { unreachable!() };
        let m = srv.metrics().await;
        assert_eq!(metric(&m, r#"tandem_turn_refused_total{reason="quota"}"#), 2, "{m}");
    });
}

#[test]
fn coturn_holds_the_allocation_quota() {
    in_own_namespace(async {
        let relay = Relay::coturn(Peers::Denied).await;
        quota_probes(&relay).await;
    });
}

/// One relay under test.
struct Relay {
    name: &'static str,
    running: Running,
    /// Where clients reach it.
    addr: SocketAddr,
    minter: CredentialMinter,
    /// Whether it makes IPv6 allocations (coturn here; the embedded relay
    /// relays from its one listening address).
    ipv6: bool,
    /// The error code of an allocation over the quota: coturn answers 486
    /// (Allocation Quota Reached); the `turn` crate answers any failed
    /// relayed-socket allocation 508 (Insufficient Capacity).
    quota_code: u16,
}

enum Running {
    Embedded(Box<TestServer>),
    Coturn(Coturn),
}

impl Relay {
    /// The signaling server with its embedded relay on 203.0.113.1: as the
    /// run command starts it ([`Peers::Denied`]), or with the tests-only
    /// `allow_loopback_peers`.
    async fn embedded(peers: Peers) -> Self {
        assert!(peers != Peers::AllAllowed, "the embedded relay has no switch to open every range");
        let srv = TestServer::start_with(|c| {
            c.relay.listen = Some(SocketAddr::new(RELAY_V4.parse().unwrap(), 0));
            c.turn.secret = Some(SECRET.into());
            c.turn.realm = REALM.into();
            c.turn.user_quota = USER_QUOTA;
            c.turn.allow_loopback_peers = peers == Peers::LoopbackAllowed;
            (c.turn.min_port, c.turn.max_port) = RELAY_PORTS;
        })
        .await;
        let addr = srv.running.as_ref().unwrap().relay_addr.expect("the run command starts the relay");
        Self {
            name: "embedded relay",
            running: Running::Embedded(Box::new(srv)),
            addr,
            minter: CredentialMinter::new(SECRET, Duration::from_secs(600)),
            ipv6: false,
            quota_code: 508,
        }
    }

    /// coturn with the generated configuration, on 203.0.113.1 and 2001:db8::1.
    async fn coturn(peers: Peers) -> Self {
        let ips: [IpAddr; 2] = [RELAY_V4.parse().unwrap(), RELAY_V6.parse().unwrap()];
        let allow_loopback = peers != Peers::Denied;
        let settings = format!("user_quota = {USER_QUOTA}\nallow_loopback_peers = {allow_loopback}\n");
        let coturn = Coturn::start(CoturnSetup {
            secret: SECRET,
            realm: REALM,
            ips: &ips,
            turn_settings: &settings,
            deny_peers: peers != Peers::AllAllowed,
        })
        .await;
        Self {
            name: "coturn",
            addr: coturn.addr,
            running: Running::Coturn(coturn),
            minter: CredentialMinter::new(SECRET, Duration::from_secs(600)),
            ipv6: true,
            quota_code: 486,
        }
    }

    /// A client with a fresh credential for participant `id`.
    async fn client(&self, id: &str) -> RawTurn {
        let cred = self.minter.mint(id, SystemTime::now());
        self.client_with(&cred.username, &cred.password).await
    }

    async fn client_with(&self, username: &str, password: &str) -> RawTurn {
        RawTurn::new(CLIENT.parse().unwrap(), self.addr, username, password).await
    }

    /// What coturn printed, for failure messages.
    fn log(&self) -> String {
        match &self.running {
            Running::Coturn(c) => format!("\ncoturn log:\n{}", c.log()),
            Running::Embedded(_) => String::new(),
        }
    }
}

/// Moves this test into a network namespace of its own with [`ADDRESSES`],
/// then runs `test` there.
fn in_own_namespace(test: impl std::future::Future<Output = ()>) {
    own_network_namespace(ADDRESSES);
    // Worker threads start from this thread, so they are in the namespace too.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(test);
}

/// Which of the probed peers a relay is set up to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peers {
    /// None: the production configuration.
    Denied,
    /// 127/8 and ::1 (the tests-only `allow_loopback_peers`).
    LoopbackAllowed,
    /// All of them (coturn without its `denied-peer-ip` lines).
    AllAllowed,
}

/// What a relay must do with the probes towards one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Refused,
    Delivered,
    /// Not probed.
    Skipped,
}

impl Peers {
    /// What the relay must do with probes towards `peer` from an allocation
    /// of the same family.
    fn expect(self, peer: SocketAddr) -> Expect {
        let mapped = matches!(peer.ip(), IpAddr::V6(a) if a.to_ipv4_mapped().is_some());
        match self {
            Peers::Denied => Expect::Refused,
            Peers::LoopbackAllowed if peer.ip().is_loopback() => Expect::Delivered,
            Peers::LoopbackAllowed => Expect::Refused,
            // Even open, coturn refuses 0.0.0.0 by itself, and its IPv6
            // relayed socket (bound to 2001:db8::1) cannot send to an
            // IPv4-mapped address (and the allocation relayed nothing more
            // after trying, here): their listeners are checked directly.
            Peers::AllAllowed if peer.ip().is_unspecified() || mapped => Expect::Skipped,
            Peers::AllAllowed => Expect::Delivered,
        }
    }
}

/// The peer probes against `relay`, from an IPv4 allocation and, where the
/// relay makes them, an IPv6 one. Every target `peers` does not open is
/// refused with 403 (by an allocation of its family at least) and its
/// listener receives nothing; open ones must receive every probe, and
/// their answer must come back.
async fn peer_probes(relay: &Relay, peers: Peers) {
    let targets = targets();
    let mut listeners = Vec::new();
    for t in &targets {
        let s = UdpSocket::bind(t.listen).await.unwrap_or_else(|e| panic!("listener on {}: {e}", t.listen));
        listeners.push(s);
    }
    // Each listener receives what is sent straight to its peer address, so
    // "received nothing" below means refused, not unreachable.
    let direct = UdpSocket::bind("[::]:0").await.unwrap(); // dual-stack: IPv4 as ::ffff:a.b.c.d
    for (t, listener) in targets.iter().zip(&listeners) {
        let to = match t.peer {
            SocketAddr::V4(a) => SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port()),
            v6 => v6,
        };
        direct.send_to(b"reachable", to).await.unwrap_or_else(|e| panic!("sending to {}: {e}", t.peer));
        let got = drain(listener, 1, Duration::from_secs(2)).await;
        assert_eq!(got, [b"reachable"], "the listener at {} gets what is sent to {}", t.listen, t.peer);
    }

    let mut failures = Vec::new();
    let mut forbidden = vec![false; targets.len()];
    let families: &[bool] = if relay.ipv6 { &[false, true] } else { &[false] };
    for &ipv6 in families {
        let family = if ipv6 { "IPv6" } else { "IPv4" };
        let mut c = relay.client(&format!("probe{}", u8::from(ipv6))).await;
        let allocation = c.allocate(ipv6).await;
        assert!(
            allocation.is_success(),
            "{}: {family} allocation: {allocation:?}{}",
            relay.name,
            relay.log()
        );
        let relayed = allocation.relayed_address();
        let allowed: SocketAddr = if ipv6 { ALLOWED_V6 } else { ALLOWED_V4 }.parse().unwrap();
        let control = UdpSocket::bind(allowed).await.unwrap();

        for (i, (t, listener)) in targets.iter().zip(&listeners).enumerate() {
            let what = format!("{} {family} allocation -> {}", relay.name, t.peer);
            let channel = 0x4000 + i as u16;
            // An allocation of the other family answers 443 (Peer Address
            // Family Mismatch) where the relay checks that first.
            let other_family = t.peer.is_ipv6() != relayed.is_ipv6();
            let expect = if other_family { Expect::Refused } else { peers.expect(t.peer) };
            if expect == Expect::Skipped {
                continue;
            }
            let cp = c.create_permission(t.peer).await;
            let cb = c.channel_bind(channel, t.peer).await;
            c.send_indication(t.peer, b"probe via Send").await;
            c.channel_data(channel, b"probe via ChannelData").await;
            // And from the target to the relayed address — unless the
            // listener's address has a permission as another, open, target.
            let permitted_source = expect != Expect::Delivered && peers.expect(t.listen) == Expect::Delivered;
            if t.listen.is_ipv6() == relayed.is_ipv6() && !permitted_source {
                let _ = listener.send_to(b"inbound probe", relayed).await;
            }
            if expect == Expect::Delivered {
                if !cp.is_success() || !cb.is_success() {
                    failures.push(format!("{what}: open, but CreatePermission {cp:?}, ChannelBind {cb:?}"));
                }
                let got = drain(listener, 2, Duration::from_secs(5)).await;
                if got != [&b"probe via Send"[..], b"probe via ChannelData"] {
                    failures.push(format!("{what}: open, but the listener got {:?}", texts(&got)));
                }
                // The listener's inbound probe came back on the channel.
                let back = c.delivered(Duration::from_secs(5)).await;
                if back != Some(Delivered::Channel(channel, b"inbound probe".to_vec())) {
                    failures.push(format!("{what}: open, but the client got {back:?}"));
                }
                continue;
            }
            forbidden[i] |= cp.code() == Some(403);
            let refused = |code| code == Some(403) || other_family && code == Some(443);
            if !refused(cp.code()) {
                failures.push(format!("{what}: CreatePermission answered {cp:?}, not 403"));
            }
            if !refused(cb.code()) {
                failures.push(format!("{what}: ChannelBind answered {cb:?}, not 403"));
            }
        }

        // The control: the same probes towards an allowed peer go through, both ways.
        let channel = 0x4FFF;
        let cp = c.create_permission(allowed).await;
        c.send_indication(allowed, b"control via Send").await;
        let cb = c.channel_bind(channel, allowed).await;
        c.channel_data(channel, b"control via ChannelData").await;
        let got = drain(&control, 2, Duration::from_secs(5)).await;
        if !cp.is_success()
            || !cb.is_success()
            || got != [&b"control via Send"[..], b"control via ChannelData"]
        {
            failures.push(format!(
                "{} {family}: the control, towards {allowed}, did not go through: CreatePermission {cp:?}, \
                 ChannelBind {cb:?}, received {:?}",
                relay.name,
                texts(&got)
            ));
            continue;
        }
        control.send_to(b"control answer", relayed).await.unwrap();
        // Anything a denied target sent to the relayed address would come before this.
        let mut unexpected = Vec::new();
        loop {
            match c.delivered(Duration::from_secs(5)).await {
                Some(Delivered::Channel(n, data)) if n == channel && data == b"control answer" => break,
                Some(other) => unexpected.push(other),
                None => {
                    failures.push(format!("{} {family}: the control's answer did not come back", relay.name));
                    break;
                }
            }
        }
        if let Some(late) = c.delivered(GRACE).await {
            unexpected.push(late);
        }
        if !unexpected.is_empty() {
            failures.push(format!(
                "{} {family}: the client got data from denied peers: {unexpected:?}",
                relay.name
            ));
        }
    }

    tokio::time::sleep(GRACE).await;
    for (i, (t, listener)) in targets.iter().zip(&listeners).enumerate() {
        if peers.expect(t.peer) != Expect::Refused {
            continue;
        }
        // Nothing reached a denied listener, over every allocation...
        let got = drain(listener, usize::MAX, Duration::ZERO).await;
        if !got.is_empty() {
            failures.push(format!(
                "{}: the listener at {} (for {}) received {:?}",
                relay.name,
                t.listen,
                t.peer,
                texts(&got)
            ));
        }
        // ...and the relay said 403 at least once.
        if !forbidden[i] {
            failures.push(format!("{}: no allocation got a 403 for {}", relay.name, t.peer));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}{}", failures.len(), failures.join("\n"), relay.log());
}

/// Expired and forged credentials get 401; a fresh one, made the same way
/// with the right secret, allocates.
async fn credential_probes(relay: &Relay) {
    let expired = relay.minter.mint("00000000000000aa", SystemTime::now() - Duration::from_secs(3600));
    let mut c = relay.client_with(&expired.username, &expired.password).await;
    let answer = c.allocate(false).await;
    assert_eq!(answer.code(), Some(401), "{}: expired credential: {answer:?}{}", relay.name, relay.log());

    let forged = CredentialMinter::new("not-the-secret-at-all", Duration::from_secs(600))
        .mint("00000000000000bb", SystemTime::now());
    let mut c = relay.client_with(&forged.username, &forged.password).await;
    let answer = c.allocate(false).await;
    assert_eq!(answer.code(), Some(401), "{}: wrong secret: {answer:?}{}", relay.name, relay.log());

    let mut c = relay.client("00000000000000cc").await;
    let answer = c.allocate(false).await;
    assert!(answer.is_success(), "{}: a fresh credential: {answer:?}{}", relay.name, relay.log());
}

/// [`USER_QUOTA`] allocations per credential, then a refusal; another
/// credential has its own quota; a deleted allocation frees its place.
async fn quota_probes(relay: &Relay) {
    let cred = relay.minter.mint("00000000000000dd", SystemTime::now());
    let mut kept = Vec::new();
    for i in 0..USER_QUOTA {
        let mut c = relay.client_with(&cred.username, &cred.password).await;
        let answer = c.allocate(false).await;
        assert!(
            answer.is_success(),
            "{}: allocation {i} within the quota: {answer:?}{}",
            relay.name,
            relay.log()
        );
        kept.push(c);
    }
    let mut over = relay.client_with(&cred.username, &cred.password).await;
    let answer = over.allocate(false).await;
    assert_eq!(
        answer.code(),
        Some(relay.quota_code),
        "{}: allocation {} over the quota of {USER_QUOTA}: {answer:?}{}",
        relay.name,
        USER_QUOTA + 1,
        relay.log()
    );
    let mut other = relay.client("00000000000000ee").await;
    assert!(other.allocate(false).await.is_success(), "{}: another credential has its own quota", relay.name);

    // Deleting one (Refresh with lifetime 0) frees a place for the same credential.
    let deleted = kept[0].refresh(Duration::ZERO).await;
    assert!(deleted.is_success(), "{}: deleting an allocation: {deleted:?}", relay.name);
    // coturn frees it when it closes the client's session, on its next
    // one-second timer tick; the embedded relay at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let answer = loop {
        let mut again = relay.client_with(&cred.username, &cred.password).await;
        let answer = again.allocate(false).await;
        if answer.is_success() || tokio::time::Instant::now() >= deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(answer.is_success(), "{}: a freed place: {answer:?}{}", relay.name, relay.log());
    let mut over = relay.client_with(&cred.username, &cred.password).await;
    assert_eq!(over.allocate(false).await.code(), Some(relay.quota_code), "{}: full again", relay.name);
}

/// Up to `n` datagrams `listener` receives within `within` (what is already
/// queued when `within` is zero).
async fn drain(listener: &UdpSocket, n: usize, within: Duration) -> Vec<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    while got.len() < n {
        match listener.try_recv_from(&mut buf) {
            Ok((len, _)) => got.push(buf[..len].to_vec()),
            Err(_) if tokio::time::Instant::now() >= deadline => break,
            Err(_) => {
                let _ = tokio::time::timeout_at(deadline, listener.readable()).await;
            }
        }
    }
    got
}

/// Datagrams as text, for failure messages (the probes' payloads are ASCII).
fn texts(got: &[Vec<u8>]) -> Vec<String> {
    got.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect()
}
