//! The ChannelData fast path in front of the stock `turn` server: relayed
//! data on bound channels goes straight between the listening socket and the
//! relayed sockets, in batches, without passing through the server.
//!
//! - **client → peer**: the listener reads what is queued with one
//!   `recvmmsg` ([`Inbox::fill`]); ChannelData from a client whose channel is
//!   bound ([`Bindings::to_peer`]) goes out of that allocation's relayed
//!   socket to the peer with one `sendmmsg` per relayed socket
//!   ([`FastPath::forward_to_peers`]); everything else (STUN, unbound
//!   channels) is handed to the server, one datagram per `recv_from`, as
//!   before ([`Inbox::next_for_server`]).
//! - **peer → client**: a relayed socket reads the same way; a datagram from
//!   a peer with a channel binding ([`Bindings::to_client`]) gets the 4-byte
//!   ChannelData header written in front of it, in the slot it was read into,
//!   and goes to the client through the listening socket, one `sendmmsg` for
//!   the batch ([`FastPath::forward_to_client`]); the rest goes to the
//!   server's reader (a Data indication when there is a permission).
//!
//! Once a datagram of a batch goes to the server, the later datagrams of the
//! batch from the same source follow it there, so a client's or a peer's
//! datagrams keep their order, and a request (a `Refresh` deleting the
//! allocation, say) is handled before what the client sent after it.
//!
//! The binding table is learned from the server's traffic (see
//! [`super::bindings`]) and read under a `std::sync::RwLock` held only for
//! one lookup, never across an `.await`. Relayed payload is counted in
//! `tandem_turn_relayed_*` here, as the stock path counts it in `send_to`.

use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use stun::message::Message;

use super::bindings::{self, Bindings};
use super::channel_data::{self, HEADER};
use super::mmsg::{Outgoing, RecvBatch};
use super::policy::PeerPolicy;
use super::udp::RelayUdpSocket;
use crate::metrics::{Metrics, RelayDirection};

/// Datagrams per read on the listening socket, which carries every client.
const LISTENER_BATCH: usize = 32;
/// Datagrams per read on a relayed socket (one allocation).
const RELAY_BATCH: usize = 16;
/// The largest datagram read, as the stock server reads them (`INBOUND_MTU`,
/// `RTP_MTU`): a longer one is cut to this and left to the server.
const MTU: usize = 1500;

/// What the listener and the relayed sockets share.
pub struct FastPath {
    bindings: RwLock<Bindings<Arc<RelayUdpSocket>>>,
    /// The listening socket, which peer data leaves through to the clients.
    listener: Arc<RelayUdpSocket>,
    metrics: Arc<Metrics>,
}

impl FastPath {
    pub fn new(listener: Arc<RelayUdpSocket>, policy: PeerPolicy, metrics: Arc<Metrics>) -> Self {
        Self { bindings: RwLock::new(Bindings::new(policy)), listener, metrics }
    }

    /// A relayed socket was made, at `relayed` (the XOR-RELAYED-ADDRESS the server will answer).
    pub fn relay_opened(&self, relayed: SocketAddr, socket: Arc<RelayUdpSocket>) {
        self.write().relay_opened(relayed, socket);
    }

    /// A relayed socket was closed.
    pub fn relay_closed(&self, relayed: SocketAddr) {
        self.write().relay_closed(relayed);
    }

    /// A request from `client` the server is about to handle.
    pub fn observe_request(&self, client: SocketAddr, m: &Message) {
        if bindings::teaches(m) {
            self.write().observe_request(client, m, Instant::now());
        }
    }

    /// A datagram the server sends to `client` (not relayed data).
    pub fn observe_sent(&self, client: SocketAddr, datagram: &[u8]) {
        if !stun::message::is_message(datagram) {
            return;
        }
        let mut m = Message::new();
        if m.unmarshal_binary(datagram).is_ok() && bindings::teaches(&m) {
            self.write().observe_response(client, &m, Instant::now());
        }
    }

    /// Client → peer: sends the ChannelData of bound channels in the batch
    /// just read on the listener out of their relayed sockets; the rest stays
    /// in `inbox` for the server.
    pub async fn forward_to_peers(&self, inbox: &mut Inbox) {
        let now = Instant::now();
        let Inbox { batch, fates, held, out, .. } = inbox;
        out.clear();
        let mut relay: Option<Arc<RelayUdpSocket>> = None;
        for (i, r) in batch.received().iter().enumerate() {
            let route = (!r.truncated && !held.contains(&r.from))
                .then(|| channel_data::parse(batch.datagram(r)))
                .flatten()
                .and_then(|(channel, data)| Some((self.read().to_peer(r.from, channel, now)?, data.len())));
            let Some((route, len)) = route else {
                held.push(r.from);
                continue;
            };
            if let Some(current) = relay.as_ref().filter(|s| !Arc::ptr_eq(s, &route.relay)) {
                self.flush(current, batch, out, RelayDirection::ToPeer).await;
                out.clear();
            }
            relay = Some(route.relay);
            let start = batch.headroom() + HEADER;
            out.push(Outgoing { slot: r.slot, range: start..start + len, to: route.peer });
            fates[i] = Fate::Done;
        }
        if let Some(socket) = relay {
            self.flush(&socket, batch, out, RelayDirection::ToPeer).await;
        }
    }

    /// Peer → client: sends the datagrams of peers with a channel binding in
    /// the batch just read on relayed socket `relayed` to their client as
    /// ChannelData; drops those from peers the `policy` refuses; the rest
    /// stays in `inbox` for the server.
    pub async fn forward_to_client(&self, relayed: SocketAddr, policy: &PeerPolicy, inbox: &mut Inbox) {
        let now = Instant::now();
        let Inbox { batch, fates, held, out, .. } = inbox;
        out.clear();
        for (i, fate) in fates.iter_mut().enumerate() {
            let r = batch.received()[i];
            if !policy.allows_packet(r.from) {
                self.metrics.turn_denied_peer.inc();
                *fate = Fate::Done;
                continue;
            }
            let route = (!r.truncated && !held.contains(&r.from))
                .then(|| self.read().to_client(relayed, r.from, now))
                .flatten()
                .and_then(|route| Some((route.client, channel_data::header(route.channel, r.len)?)));
            let Some((client, header)) = route else {
                held.push(r.from);
                continue;
            };
            // The relay's slots have exactly HEADER bytes of headroom before the datagram.
            batch.slot_mut(r.slot)[..HEADER].copy_from_slice(&header);
            out.push(Outgoing { slot: r.slot, range: 0..HEADER + r.len, to: client });
            *fate = Fate::Done;
        }
        self.flush(&self.listener, batch, out, RelayDirection::ToClient).await;
    }

    /// Sends `out` from `batch` on `socket` and counts what was sent (peer
    /// payload: without the ChannelData header to clients).
    async fn flush(
        &self,
        socket: &RelayUdpSocket,
        batch: &RecvBatch,
        out: &[Outgoing],
        direction: RelayDirection,
    ) {
        let framing = match direction {
            RelayDirection::ToPeer => 0,
            RelayDirection::ToClient => HEADER,
        };
        let counter = self.metrics.turn_relayed(direction);
        socket.send_batch(batch, out, |o| counter.count(o.range.len() - framing)).await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Bindings<Arc<RelayUdpSocket>>> {
        self.bindings.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Bindings<Arc<RelayUdpSocket>>> {
        self.bindings.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What became of a datagram of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// For the server (or the allocation's stock reader).
    Server,
    /// Relayed by the fast path, or dropped.
    Done,
}

/// One socket's batch being worked through: what was read, what became of it.
pub struct Inbox {
    batch: RecvBatch,
    /// Per datagram of `batch.received()`.
    fates: Vec<Fate>,
    /// The next datagram [`Inbox::next_for_server`] looks at.
    next: usize,
    /// Sources with a datagram of this batch for the server (their later ones follow).
    held: Vec<SocketAddr>,
    /// Reused for each `sendmmsg`.
    out: Vec<Outgoing>,
}

impl Inbox {
    /// For the listening socket: datagrams as clients send them.
    pub fn for_listener() -> Self {
        Self::new(RecvBatch::new(LISTENER_BATCH, 0, MTU))
    }

    /// For a relayed socket: room for the ChannelData header in front of each datagram.
    pub fn for_relay() -> Self {
        Self::new(RecvBatch::new(RELAY_BATCH, HEADER, MTU))
    }

    fn new(batch: RecvBatch) -> Self {
        Self { batch, fates: Vec::new(), next: 0, held: Vec::new(), out: Vec::new() }
    }

    /// Waits until `socket` is readable and reads what is queued there (one
    /// `recvmmsg`); every datagram read is for the server until a `forward_*`
    /// takes it.
    pub async fn fill(&mut self, socket: &RelayUdpSocket) -> io::Result<()> {
        socket.read_batch(&mut self.batch).await?;
        self.fates.clear();
        self.fates.resize(self.batch.received().len(), Fate::Server);
        self.next = 0;
        self.held.clear();
        Ok(())
    }

    /// The next datagram of the batch for the server, copied into `buf` (cut
    /// to its length), with its source.
    pub fn next_for_server(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        while self.next < self.fates.len() {
            let i = self.next;
            self.next += 1;
            if self.fates[i] == Fate::Server {
                let r = self.batch.received()[i];
                let d = self.batch.datagram(&r);
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                return Some((n, r.from));
            }
        }
        None
    }
}

/// Where a socket's [`Inbox`] lives between reads. The reading task takes it
/// for one `recv_from` ([`InboxHome::lease`]) and the lease puts it back when
/// dropped, also when the read is cancelled; the mutex is held only to take
/// or put it, so the inbox can be worked on across `.await`s without a lock.
pub struct InboxHome {
    home: Mutex<Option<Box<Inbox>>>,
    make: fn() -> Inbox,
}

impl InboxHome {
    /// The inbox is made by `make` on first use (a relayed socket nobody sends to costs no buffers).
    pub fn new(make: fn() -> Inbox) -> Self {
        Self { home: Mutex::new(None), make }
    }

    pub fn lease(&self) -> Lease<'_> {
        let taken = self.home.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Two reads of one socket at once (the server never does it) get an inbox each.
        let inbox = taken.unwrap_or_else(|| Box::new((self.make)()));
        Lease { home: &self.home, inbox: Some(inbox) }
    }
}

/// An [`Inbox`] taken from its [`InboxHome`] for one read.
pub struct Lease<'a> {
    home: &'a Mutex<Option<Box<Inbox>>>,
    inbox: Option<Box<Inbox>>,
}

impl Deref for Lease<'_> {
    type Target = Inbox;

    fn deref(&self) -> &Inbox {
        // Some from `lease` until `drop`.
        self.inbox.as_deref().expect("a lease holds its inbox until dropped")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Inbox {
        self.inbox.as_deref_mut().expect("a lease holds its inbox until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        *self.home.lock().unwrap_or_else(|p| p.into_inner()) = self.inbox.take();
    }
}
