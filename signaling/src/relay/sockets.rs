//! Relayed sockets: bound in the configured port range, filtered by peer
//! address, counted per credential for the allocation quota; what the server
//! sends through them to peers is counted as relayed traffic (`to_peer`, see
//! [`super::traffic`]).
//!
//! Each socket is announced to the [fast path](super::fast_path) when made
//! and withdrawn when closed; it is read in batches there, so that datagrams
//! of peers with a channel binding go straight to the client, and only the
//! rest comes out of `recv_from` to the server's per-allocation reader.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use turn::relay::RelayAddressGenerator;
use webrtc_util::Conn;

use super::RelaySettings;
use super::fast_path::{FastPath, Inbox, InboxHome};
use super::policy::PeerPolicy;
use super::udp::RelayUdpSocket;
use crate::metrics::{Metrics, RelayDirection};

/// Live allocations per credential, and in total.
#[derive(Default)]
struct Quota {
    per_user: HashMap<String, u32>,
    total: u32,
}

/// The server's factory of relayed sockets.
pub struct FilteredRelays {
    settings: RelaySettings,
    pending_user: Arc<Mutex<Option<String>>>,
    quota: Arc<Mutex<Quota>>,
    fast: Arc<FastPath>,
    metrics: Arc<Metrics>,
}

impl FilteredRelays {
    pub fn new(
        settings: &RelaySettings,
        pending_user: Arc<Mutex<Option<String>>>,
        fast: Arc<FastPath>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { settings: settings.clone(), pending_user, quota: Arc::default(), fast, metrics }
    }

    fn bind(&self) -> Result<RelayUdpSocket, turn::Error> {
        let ip = self.settings.listen.ip();
        let (lo, hi) = (self.settings.min_port, self.settings.max_port);
        for _ in 0..64 {
            let port = rand::random_range(lo..=hi);
            if let Ok(s) = RelayUdpSocket::bind(SocketAddr::new(ip, port)) {
                return Ok(s);
            }
        }
        Err(turn::Error::Other(format!("no free relay port in {lo}-{hi}")))
    }
}

#[async_trait::async_trait]
impl RelayAddressGenerator for FilteredRelays {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    async fn allocate_conn(
        &self,
        _use_ipv4: bool,
        _requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let user = self.pending_user.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
        {
            let mut q = self.quota.lock().unwrap_or_else(|p| p.into_inner());
            let mine = q.per_user.get(&user).copied().unwrap_or(0);
            if mine >= self.settings.user_quota || q.total >= self.settings.total_quota {
                self.metrics.turn_refused("quota");
                tracing::info!(%user, mine, total = q.total, "TURN allocation quota reached");
                return Err(turn::Error::Other("allocation quota reached".into()));
            }
            *q.per_user.entry(user.clone()).or_default() += 1;
            q.total += 1;
        }
        let socket = match self.bind() {
            Ok(s) => Arc::new(s),
            Err(e) => {
                release(&self.quota, &user);
                return Err(e);
            }
        };
        let mut relay_addr = socket.local_addr();
        relay_addr.set_ip(self.settings.public_ip);
        self.metrics.turn_allocations.inc();
        self.fast.relay_opened(relay_addr, socket.clone());
        let conn = FilteredRelaySocket {
            socket,
            relay_addr,
            policy: self.settings.policy(),
            user,
            quota: self.quota.clone(),
            released: AtomicBool::new(false),
            fast: self.fast.clone(),
            inbox: InboxHome::new(Inbox::for_relay),
            metrics: self.metrics.clone(),
        };
        Ok((Arc::new(conn), relay_addr))
    }
}

fn release(quota: &Mutex<Quota>, user: &str) {
    let mut q = quota.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = q.per_user.get_mut(user) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            q.per_user.remove(user);
        }
    }
    q.total = q.total.saturating_sub(1);
}

/// One allocation's relayed socket.
pub struct FilteredRelaySocket {
    /// Shared with the fast path, which sends the allocation's ChannelData out of it.
    socket: Arc<RelayUdpSocket>,
    /// The XOR-RELAYED-ADDRESS (the relay's public address, this socket's port).
    relay_addr: SocketAddr,
    policy: PeerPolicy,
    user: String,
    quota: Arc<Mutex<Quota>>,
    released: AtomicBool,
    fast: Arc<FastPath>,
    inbox: InboxHome,
    metrics: Arc<Metrics>,
}

impl FilteredRelaySocket {
    fn release_once(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.fast.relay_closed(self.relay_addr);
            release(&self.quota, &self.user);
            self.metrics.turn_allocations.dec();
        }
    }
}

impl Drop for FilteredRelaySocket {
    fn drop(&mut self) {
        self.release_once();
    }
}

#[async_trait::async_trait]
impl Conn for FilteredRelaySocket {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other("relay sockets are not connected".into()))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut inbox = self.inbox.lease();
        loop {
            // Datagrams from denied peers were dropped (and counted) by the fast path.
            if let Some(got) = inbox.next_for_server(buf) {
                return Ok(got);
            }
            inbox.fill(&self.socket).await?;
            self.fast.forward_to_client(self.relay_addr, &self.policy, &mut inbox).await;
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("relay sockets send to a peer address".into()))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !self.policy.allows_packet(target) {
            self.metrics.turn_denied_peer.inc();
            return Err(webrtc_util::Error::Other(format!("peer {} is not allowed", target.ip())));
        }
        let n = self.socket.send_to(buf, target).await?;
        self.metrics.turn_relayed(RelayDirection::ToPeer).count(n);
        Ok(n)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr())
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        self.release_once();
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
