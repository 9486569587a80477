//! The channel bindings the [fast path](super::fast_path) may use, learned by
//! watching the stock `turn` server's own traffic on the listening socket:
//! what a client asks ([`Bindings::observe_request`]) and what the server
//! answers ([`Bindings::observe_response`]), matched by transaction id.
//!
//! - An `Allocate` success's XOR-RELAYED-ADDRESS says which relayed socket
//!   (announced with [`Bindings::relay_opened`]) belongs to the client;
//!   its LIFETIME when the allocation expires.
//! - A `ChannelBind` success binds the channel to the peer for 10 minutes and
//!   installs (refreshes) the peer's permission for 5
//!   ([RFC 8656 §12](https://www.rfc-editor.org/rfc/rfc8656#section-12),
//!   [§9](https://www.rfc-editor.org/rfc/rfc8656#section-9)); a
//!   `CreatePermission` success refreshes the permission.
//! - A `Refresh` success moves the allocation's expiry; one with a zero
//!   lifetime deletes it. Such a deleting `Refresh` suspends the allocation's
//!   routes as soon as it is seen, before the server handles it.
//! - A relayed socket closing ([`Bindings::relay_closed`]) takes its
//!   allocation with it.
//!
//! The table never routes where the stock server would not relay: it learns
//! only from success responses, every expiry counts from the moment the
//! request was seen (before the server started its own timer), a route needs
//! a live allocation, channel *and* permission (the stock server only checks
//! the channel), and a peer the [`PeerPolicy`] refuses is never learned.
//! When the table has no route, the datagram goes the stock way, so a
//! missed or stale entry costs speed, never correctness.
//!
//! Pure: time is an input, no I/O, no locks; `R` is the shell's handle on a
//! relayed socket (a test uses any value).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use stun::agent::TransactionId;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter as _,
    METHOD_ALLOCATE, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_REFRESH, Message,
};
use turn::proto::lifetime::Lifetime;
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;

use super::channel_data::ChannelNumber;
use super::policy::PeerPolicy;

/// How long a channel binding lasts (the stock server's `channel_bind_timeout`,
/// left at its default: RFC 8656 §12).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long a permission lasts (RFC 8656 §9; the stock server's `PERMISSION_TIMEOUT`).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// A request not answered within this is forgotten: a STUN client gives up
/// after 39.5 s ([RFC 8489 §6.2.1](https://www.rfc-editor.org/rfc/rfc8489#section-6.2.1)).
const PENDING_TIMEOUT: Duration = Duration::from_secs(40);
/// Requests awaiting their answer, at most (requests past it are not learned from).
const MAX_PENDING: usize = 4096;

/// Where a client's ChannelData goes: out of relayed socket `relay` to `peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToPeer<R> {
    pub relay: R,
    pub peer: SocketAddr,
}

/// Where a peer's datagram goes: to `client` as ChannelData on `channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToClient {
    pub client: SocketAddr,
    pub channel: ChannelNumber,
}

/// The learned allocations and channel bindings of one listening socket,
/// with the routes derived from them. Clients are named by their address:
/// with one listening socket it identifies the five-tuple.
pub struct Bindings<R> {
    policy: PeerPolicy,
    /// Relayed sockets not (yet) seen in an `Allocate` success, by relayed address.
    opened: HashMap<SocketAddr, R>,
    allocations: HashMap<SocketAddr, Allocation<R>>,
    pending: HashMap<(SocketAddr, TransactionId), Pending>,
    /// Derived from `allocations` (see [`Bindings::route`]): what the data path looks up.
    to_peer: HashMap<(SocketAddr, ChannelNumber), Route<ToPeer<R>>>,
    /// By (relayed address, peer address).
    to_client: HashMap<(SocketAddr, SocketAddr), Route<ToClient>>,
}

struct Allocation<R> {
    relayed: SocketAddr,
    relay: R,
    expires: Instant,
    /// A `Refresh` with a zero lifetime is being handled: no routes meanwhile.
    deleting: bool,
    channels: HashMap<ChannelNumber, Channel>,
    permissions: HashMap<IpAddr, Instant>,
}

struct Channel {
    peer: SocketAddr,
    expires: Instant,
}

struct Route<T> {
    to: T,
    /// The earliest of the allocation's, the channel's and the permission's expiry.
    until: Instant,
}

/// A request seen on its way to the server, awaiting the server's answer.
struct Pending {
    request: Request,
    /// When it was first seen: every lifetime it grants counts from here.
    at: Instant,
}

enum Request {
    Allocate,
    Refresh { deletes: bool },
    ChannelBind { channel: ChannelNumber, peer: SocketAddr },
    CreatePermission { peer: IpAddr },
}

impl Request {
    fn method(&self) -> stun::message::Method {
        match self {
            Self::Allocate => METHOD_ALLOCATE,
            Self::Refresh { .. } => METHOD_REFRESH,
            Self::ChannelBind { .. } => METHOD_CHANNEL_BIND,
            Self::CreatePermission { .. } => METHOD_CREATE_PERMISSION,
        }
    }
}

impl<R: Clone> Bindings<R> {
    pub fn new(policy: PeerPolicy) -> Self {
        Self {
            policy,
            opened: HashMap::new(),
            allocations: HashMap::new(),
            pending: HashMap::new(),
            to_peer: HashMap::new(),
            to_client: HashMap::new(),
        }
    }

    /// The route of ChannelData from `client` on `channel`, if the binding is live at `now`.
    pub fn to_peer(&self, client: SocketAddr, channel: ChannelNumber, now: Instant) -> Option<ToPeer<R>> {
        let r = self.to_peer.get(&(client, channel))?;
        (now < r.until).then(|| r.to.clone())
    }

    /// The route of a datagram from `peer` arriving at relayed address `relayed`, if live at `now`.
    pub fn to_client(&self, relayed: SocketAddr, peer: SocketAddr, now: Instant) -> Option<ToClient> {
        let r = self.to_client.get(&(relayed, peer))?;
        (now < r.until).then_some(r.to)
    }

    /// A relayed socket was made for an allocation being created.
    pub fn relay_opened(&mut self, relayed: SocketAddr, relay: R) {
        self.opened.insert(relayed, relay);
    }

    /// A relayed socket was closed: its allocation is gone.
    pub fn relay_closed(&mut self, relayed: SocketAddr) {
        self.opened.remove(&relayed);
        let gone: Vec<SocketAddr> =
            self.allocations.iter().filter(|(_, a)| a.relayed == relayed).map(|(c, _)| *c).collect();
        for client in gone {
            self.remove_allocation(client);
        }
    }

    /// A request from `client` that the server is about to handle.
    pub fn observe_request(&mut self, client: SocketAddr, m: &Message, now: Instant) {
        if m.typ.class != CLASS_REQUEST {
            return;
        }
        let request = match m.typ.method {
            METHOD_ALLOCATE => Request::Allocate,
            METHOD_REFRESH => {
                let deletes = requested_lifetime(m) == Some(Duration::ZERO);
                if deletes {
                    self.update(client, |a| a.deleting = true);
                }
                Request::Refresh { deletes }
            }
            METHOD_CHANNEL_BIND => {
                let mut n = turn::proto::channum::ChannelNumber::default();
                let (Some(peer), Ok(())) = (peer_address(m), n.get_from(m)) else { return };
                let Some(channel) = ChannelNumber::new(n.0) else { return };
                Request::ChannelBind { channel, peer }
            }
            METHOD_CREATE_PERMISSION => {
                // The stock server installs the first XOR-PEER-ADDRESS (once per attribute).
                let Some(peer) = peer_address(m) else { return };
                Request::CreatePermission { peer: peer.ip() }
            }
            _ => return,
        };
        self.prune(now);
        if self.pending.len() >= MAX_PENDING {
            return;
        }
        // A retransmission keeps the first sighting: the earliest start is the safe one.
        self.pending.entry((client, m.transaction_id)).or_insert(Pending { request, at: now });
    }

    /// A response the server sends to `client`.
    pub fn observe_response(&mut self, client: SocketAddr, m: &Message, now: Instant) {
        let success = match m.typ.class {
            CLASS_SUCCESS_RESPONSE => true,
            CLASS_ERROR_RESPONSE => false,
            _ => return,
        };
        let Some(p) = self.pending.remove(&(client, m.transaction_id)) else { return };
        if p.request.method() != m.typ.method {
            return;
        }
        let at = p.at;
        match p.request {
            Request::Refresh { deletes } if !success => {
                if deletes {
                    self.update(client, |a| a.deleting = false);
                }
            }
            _ if !success => {}
            Request::Allocate => {
                let mut relayed = RelayedAddress::default();
                let mut lifetime = Lifetime::default();
                if relayed.get_from(m).is_err() || lifetime.get_from(m).is_err() {
                    return;
                }
                let relayed = SocketAddr::new(relayed.ip, relayed.port);
                let Some(relay) = self.opened.remove(&relayed) else { return };
                self.remove_allocation(client);
                self.allocations.insert(
                    client,
                    Allocation {
                        relayed,
                        relay,
                        expires: at + lifetime.0,
                        deleting: false,
                        channels: HashMap::new(),
                        permissions: HashMap::new(),
                    },
                );
            }
            Request::Refresh { deletes } => {
                let mut lifetime = Lifetime::default();
                match lifetime.get_from(m) {
                    Ok(()) if lifetime.0.is_zero() => self.remove_allocation(client),
                    Ok(()) => self.update(client, |a| {
                        a.expires = at + lifetime.0;
                        a.deleting = false;
                    }),
                    Err(_) if deletes => self.remove_allocation(client),
                    Err(_) => self.update(client, |a| a.deleting = false),
                }
            }
            Request::ChannelBind { channel, peer } => {
                if !self.policy.allows_permission(peer.ip()) {
                    return;
                }
                self.update(client, |a| {
                    // The server keeps one channel per peer; drop a stale one of ours.
                    a.channels.retain(|n, c| *n == channel || c.peer != peer);
                    a.channels.insert(channel, Channel { peer, expires: at + CHANNEL_LIFETIME });
                    permit(a, peer.ip(), at + PERMISSION_LIFETIME);
                });
            }
            Request::CreatePermission { peer } => {
                if !self.policy.allows_permission(peer) {
                    return;
                }
                self.update(client, |a| permit(a, peer, at + PERMISSION_LIFETIME));
            }
        }
        self.prune(now);
    }

    /// Changes `client`'s allocation (if known) and rebuilds its routes.
    fn update(&mut self, client: SocketAddr, change: impl FnOnce(&mut Allocation<R>)) {
        self.unroute(client);
        if let Some(a) = self.allocations.get_mut(&client) {
            change(a);
        }
        self.route(client);
    }

    fn remove_allocation(&mut self, client: SocketAddr) {
        self.unroute(client);
        self.allocations.remove(&client);
    }

    fn unroute(&mut self, client: SocketAddr) {
        let Some(a) = self.allocations.get(&client) else { return };
        for (n, c) in &a.channels {
            self.to_peer.remove(&(client, *n));
            self.to_client.remove(&(a.relayed, c.peer));
        }
    }

    /// Derives the routes of `client`'s channels that have a permission.
    fn route(&mut self, client: SocketAddr) {
        let Some(a) = self.allocations.get(&client) else { return };
        if a.deleting {
            return;
        }
        for (n, c) in &a.channels {
            let Some(&permitted) = a.permissions.get(&c.peer.ip()) else { continue };
            if !self.policy.allows_packet(c.peer) {
                continue;
            }
            let until = a.expires.min(c.expires).min(permitted);
            self.to_peer
                .insert((client, *n), Route { to: ToPeer { relay: a.relay.clone(), peer: c.peer }, until });
            self.to_client.insert((a.relayed, c.peer), Route { to: ToClient { client, channel: *n }, until });
        }
    }

    /// Forgets what has expired by `now` (lookups check expiry themselves;
    /// this keeps the maps small).
    fn prune(&mut self, now: Instant) {
        self.pending.retain(|_, p| now.saturating_duration_since(p.at) < PENDING_TIMEOUT);
        let expired: Vec<SocketAddr> =
            self.allocations.iter().filter(|(_, a)| a.expires <= now).map(|(c, _)| *c).collect();
        for client in expired {
            self.remove_allocation(client);
        }
        let stale: Vec<SocketAddr> = self
            .allocations
            .iter()
            .filter(|(_, a)| {
                a.channels.values().any(|c| c.expires <= now) || a.permissions.values().any(|t| *t <= now)
            })
            .map(|(c, _)| *c)
            .collect();
        for client in stale {
            self.update(client, |a| {
                a.channels.retain(|_, c| c.expires > now);
                a.permissions.retain(|_, t| *t > now);
            });
        }
    }
}

/// Whether `m` is a request or response the table learns from (the
/// methods that make, refresh or delete allocations, channels and permissions).
pub fn teaches(m: &Message) -> bool {
    m.typ.class != CLASS_INDICATION
        && matches!(
            m.typ.method,
            METHOD_ALLOCATE | METHOD_REFRESH | METHOD_CHANNEL_BIND | METHOD_CREATE_PERMISSION
        )
}

/// Installs or refreshes the permission for `ip` until `until` (never shortening it).
fn permit<R>(a: &mut Allocation<R>, ip: IpAddr, until: Instant) {
    let t = a.permissions.entry(ip).or_insert(until);
    *t = (*t).max(until);
}

/// The first XOR-PEER-ADDRESS of `m`, as the stock server reads it.
fn peer_address(m: &Message) -> Option<SocketAddr> {
    let mut p = PeerAddress::default();
    p.get_from(m).ok()?;
    Some(SocketAddr::new(p.ip, p.port))
}

/// The LIFETIME a `Refresh` asks for, if it carries one.
fn requested_lifetime(m: &Message) -> Option<Duration> {
    let mut l = Lifetime::default();
    l.get_from(m).ok()?;
    Some(l.0)
}

#[cfg(test)]
mod tests {
    use stun::message::{MessageType, Method, Setter};
    use tandem_turn_config::PeerFilter;
    use turn::proto::channum::ChannelNumber as ChannelAttr;

    use super::*;

    const CLIENT: &str = "198.51.100.10:40000";
    const RELAYED: &str = "203.0.113.5:50000";
    const PEER: &str = "198.51.100.20:6000";
    const MIN: Duration = Duration::from_secs(60);

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ch(n: u16) -> ChannelNumber {
        ChannelNumber::new(n).unwrap()
    }

    fn table() -> Bindings<&'static str> {
        let policy = PeerPolicy::new(
            PeerFilter::new(false, &[], &[]),
            "203.0.113.5".parse().unwrap(),
            49152..=65535,
            false,
        );
        Bindings::new(policy)
    }

    fn message(
        tid: TransactionId,
        method: Method,
        class: stun::message::MessageClass,
        attrs: Vec<Box<dyn Setter>>,
    ) -> Message {
        let mut setters: Vec<Box<dyn Setter>> =
            vec![Box::new(tid), Box::new(MessageType::new(method, class))];
        setters.extend(attrs);
        let mut m = Message::new();
        m.build(&setters).unwrap();
        m
    }

    fn peer_attr(peer: SocketAddr) -> Box<dyn Setter> {
        Box::new(PeerAddress { ip: peer.ip(), port: peer.port() })
    }

    /// A request seen at `at` and the server's answer (`ok`: success) seen right after.
    fn exchange(
        t: &mut Bindings<&'static str>,
        client: SocketAddr,
        method: Method,
        request: Vec<Box<dyn Setter>>,
        ok: bool,
        response: Vec<Box<dyn Setter>>,
        at: Instant,
    ) {
        let tid = TransactionId::new();
        t.observe_request(client, &message(tid, method, CLASS_REQUEST, request), at);
        let class = if ok { CLASS_SUCCESS_RESPONSE } else { CLASS_ERROR_RESPONSE };
        t.observe_response(client, &message(tid, method, class, response), at);
    }

    fn allocate(
        t: &mut Bindings<&'static str>,
        client: SocketAddr,
        relayed: SocketAddr,
        lifetime: Duration,
        at: Instant,
    ) {
        t.relay_opened(relayed, "relay socket");
        let response: Vec<Box<dyn Setter>> = vec![
            Box::new(RelayedAddress { ip: relayed.ip(), port: relayed.port() }),
            Box::new(Lifetime(lifetime)),
        ];
        exchange(t, client, METHOD_ALLOCATE, vec![], true, response, at);
    }

    fn bind(
        t: &mut Bindings<&'static str>,
        client: SocketAddr,
        n: u16,
        peer: SocketAddr,
        ok: bool,
        at: Instant,
    ) {
        exchange(
            t,
            client,
            METHOD_CHANNEL_BIND,
            vec![Box::new(ChannelAttr(n)), peer_attr(peer)],
            ok,
            vec![],
            at,
        );
    }

    fn refresh(t: &mut Bindings<&'static str>, client: SocketAddr, lifetime: Duration, at: Instant) {
        exchange(
            t,
            client,
            METHOD_REFRESH,
            vec![Box::new(Lifetime(lifetime))],
            true,
            vec![Box::new(Lifetime(lifetime))],
            at,
        );
    }

    fn routed(t: &Bindings<&'static str>, n: u16, peer: SocketAddr, now: Instant) -> (bool, bool) {
        let out = t.to_peer(addr(CLIENT), ch(n), now);
        assert!(out.is_none() || out == Some(ToPeer { relay: "relay socket", peer }));
        let back = t.to_client(addr(RELAYED), peer, now);
        assert!(back.is_none() || back == Some(ToClient { client: addr(CLIENT), channel: ch(n) }));
        (out.is_some(), back.is_some())
    }

    #[test]
    fn a_channel_bound_on_an_allocation_routes_both_ways() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 10 * MIN, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (false, false), "allocated, nothing bound yet");
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (true, true));
        // Only that channel, that peer, that client.
        assert_eq!(t.to_peer(addr(CLIENT), ch(0x4001), t0), None);
        assert_eq!(
            t.to_client(addr(RELAYED), addr("198.51.100.20:6001"), t0),
            None,
            "another port of the peer"
        );
        assert_eq!(t.to_peer(addr("198.51.100.10:40001"), ch(0x4000), t0), None, "another client");
    }

    #[test]
    fn nothing_is_learned_from_refused_or_unanswered_requests() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 10 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), false, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (false, false), "an error response");
        // A request without an answer, then a success answering another transaction.
        let req = message(
            TransactionId::new(),
            METHOD_CHANNEL_BIND,
            CLASS_REQUEST,
            vec![Box::new(ChannelAttr(0x4000)), peer_attr(addr(PEER))],
        );
        t.observe_request(addr(CLIENT), &req, t0);
        t.observe_response(
            addr(CLIENT),
            &message(TransactionId::new(), METHOD_CHANNEL_BIND, CLASS_SUCCESS_RESPONSE, vec![]),
            t0,
        );
        assert_eq!(
            routed(&t, 0x4000, addr(PEER), t0),
            (false, false),
            "a success for an unknown transaction"
        );
        // The right transaction id, but sent to another client.
        t.observe_response(
            addr("198.51.100.99:1"),
            &message(req.transaction_id, METHOD_CHANNEL_BIND, CLASS_SUCCESS_RESPONSE, vec![]),
            t0,
        );
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (false, false), "the answer went elsewhere");
        // A channel bound by a client without a known allocation.
        bind(&mut t, addr("198.51.100.11:1"), 0x4000, addr(PEER), true, t0);
        assert_eq!(t.to_peer(addr("198.51.100.11:1"), ch(0x4000), t0), None);
    }

    #[test]
    fn bindings_expire_after_ten_minutes_and_permissions_after_five_unless_refreshed() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 5 * MIN - Duration::from_millis(1)), (true, true));
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 5 * MIN), (false, false), "the permission expired");

        // A CreatePermission at 4 min keeps the permission, but the channel still ends at 10 min.
        let mut t = table();
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        exchange(
            &mut t,
            addr(CLIENT),
            METHOD_CREATE_PERMISSION,
            vec![peer_attr(addr(PEER))],
            true,
            vec![],
            t0 + 4 * MIN,
        );
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 9 * MIN - Duration::from_millis(1)), (true, true));
        assert_eq!(
            routed(&t, 0x4000, addr(PEER), t0 + 9 * MIN),
            (false, false),
            "permission from 4 min: until 9"
        );
        exchange(
            &mut t,
            addr(CLIENT),
            METHOD_CREATE_PERMISSION,
            vec![peer_attr(addr(PEER))],
            true,
            vec![],
            t0 + 8 * MIN,
        );
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 10 * MIN - Duration::from_millis(1)), (true, true));
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 10 * MIN), (false, false), "the channel expired");

        // Re-binding refreshes both.
        let mut t = table();
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0 + 4 * MIN);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 9 * MIN - Duration::from_millis(1)), (true, true));
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0 + 8 * MIN);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 13 * MIN - Duration::from_millis(1)), (true, true));
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 13 * MIN), (false, false));
    }

    #[test]
    fn expiry_counts_from_when_the_request_was_seen() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        let tid = TransactionId::new();
        let req = message(
            tid,
            METHOD_CHANNEL_BIND,
            CLASS_REQUEST,
            vec![Box::new(ChannelAttr(0x4000)), peer_attr(addr(PEER))],
        );
        t.observe_request(addr(CLIENT), &req, t0);
        // A retransmission (within the 40 s a request is remembered) keeps the first sighting.
        let later = t0 + Duration::from_secs(30);
        t.observe_request(addr(CLIENT), &req, later);
        t.observe_response(
            addr(CLIENT),
            &message(tid, METHOD_CHANNEL_BIND, CLASS_SUCCESS_RESPONSE, vec![]),
            later,
        );
        assert_eq!(
            routed(&t, 0x4000, addr(PEER), t0 + 5 * MIN),
            (false, false),
            "permission from t0, not from the answer"
        );
    }

    #[test]
    fn the_allocation_ends_the_routes_when_it_expires_or_is_refreshed_to_zero() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 3 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN), (false, false), "the allocation's lifetime");
        refresh(&mut t, addr(CLIENT), 10 * MIN, t0 + 2 * MIN);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN), (true, true), "refreshed until 12 min");

        // A Refresh with lifetime 0 suspends the routes as soon as it is seen...
        let tid = TransactionId::new();
        let delete = message(tid, METHOD_REFRESH, CLASS_REQUEST, vec![Box::new(Lifetime(Duration::ZERO))]);
        t.observe_request(addr(CLIENT), &delete, t0 + 3 * MIN);
        assert_eq!(
            routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN),
            (false, false),
            "suspended while the server handles it"
        );
        // ...an error answer (e.g. 401) restores them...
        t.observe_response(
            addr(CLIENT),
            &message(tid, METHOD_REFRESH, CLASS_ERROR_RESPONSE, vec![]),
            t0 + 3 * MIN,
        );
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN), (true, true), "the deletion was refused");
        // ...and a success removes the allocation for good.
        refresh(&mut t, addr(CLIENT), Duration::ZERO, t0 + 3 * MIN);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN), (false, false));
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0 + 3 * MIN);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0 + 3 * MIN), (false, false), "no allocation to bind on");
    }

    #[test]
    fn a_closed_relayed_socket_takes_its_allocation_with_it() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 10 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        t.relay_closed(addr(RELAYED));
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (false, false));
        // An Allocate success naming a relayed socket that was never opened (or already closed) teaches nothing.
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 10 * MIN, t0);
        t.relay_closed(addr(RELAYED));
        let response: Vec<Box<dyn Setter>> = vec![
            Box::new(RelayedAddress { ip: addr(RELAYED).ip(), port: 50000 }),
            Box::new(Lifetime(10 * MIN)),
        ];
        exchange(&mut t, addr(CLIENT), METHOD_ALLOCATE, vec![], true, response, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        assert_eq!(routed(&t, 0x4000, addr(PEER), t0), (false, false));
    }

    #[test]
    fn a_denied_peer_is_never_learned() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 10 * MIN, t0);
        // Even if the server answered success (the guard answers 403 before it does).
        for denied in
            ["127.0.0.1:5000", "10.0.0.1:5000", "169.254.169.254:80", "[::1]:5000", "[::ffff:127.0.0.1]:5000"]
        {
            bind(&mut t, addr(CLIENT), 0x4000, addr(denied), true, t0);
            assert_eq!(t.to_peer(addr(CLIENT), ch(0x4000), t0), None, "{denied}");
            assert_eq!(t.to_client(addr(RELAYED), addr(denied), t0), None, "{denied}");
        }
        // The relay's own address only on relayed ports (another allocation), not its other services.
        bind(&mut t, addr(CLIENT), 0x4001, addr("203.0.113.5:3478"), true, t0);
        assert_eq!(t.to_peer(addr(CLIENT), ch(0x4001), t0), None, "the relay's own listener");
        bind(&mut t, addr(CLIENT), 0x4002, addr("203.0.113.5:50001"), true, t0);
        assert!(t.to_peer(addr(CLIENT), ch(0x4002), t0).is_some(), "another allocation on this relay");
    }

    #[test]
    fn a_rebinding_peer_keeps_one_channel() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        bind(&mut t, addr(CLIENT), 0x4000, addr(PEER), true, t0);
        // Our entry for 0x4000 is stale by 11 min; the server took a new channel for the peer.
        bind(&mut t, addr(CLIENT), 0x4001, addr(PEER), true, t0 + 11 * MIN);
        assert_eq!(t.to_peer(addr(CLIENT), ch(0x4000), t0 + 11 * MIN), None);
        assert_eq!(
            t.to_client(addr(RELAYED), addr(PEER), t0 + 11 * MIN),
            Some(ToClient { client: addr(CLIENT), channel: ch(0x4001) })
        );
    }

    #[test]
    fn unanswered_requests_are_forgotten_and_capped() {
        let (mut t, t0) = (table(), Instant::now());
        allocate(&mut t, addr(CLIENT), addr(RELAYED), 60 * MIN, t0);
        for i in 0..MAX_PENDING + 10 {
            let port = 1000 + (i % 50_000) as u16;
            let req = message(TransactionId::new(), METHOD_ALLOCATE, CLASS_REQUEST, vec![]);
            t.observe_request(addr(&format!("198.51.100.50:{port}")), &req, t0);
        }
        assert_eq!(t.pending.len(), MAX_PENDING, "capped");
        let req = message(TransactionId::new(), METHOD_ALLOCATE, CLASS_REQUEST, vec![]);
        t.observe_request(addr(CLIENT), &req, t0 + PENDING_TIMEOUT);
        assert_eq!(t.pending.len(), 1, "the old ones were forgotten");
    }
}
