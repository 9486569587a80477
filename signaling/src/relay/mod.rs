//! The embedded TURN relay (NET-2): the webrtc-rs `turn` server on UDP, for the
//! single-binary default. Production sites run coturn with the generated
//! configuration instead (`tandem-signaling turn coturn-config`).
//!
//! Added around the stock server:
//!
//! - [`auth::RestAuth`]: accepts the TURN REST credentials the signaling
//!   server mints (`<expiry>:<participant id>`, HMAC-SHA1 of the shared
//!   secret); the stock handler expects a bare timestamp as the username.
//! - [`guard::GuardedListener`], around the listening socket: answers
//!   `CreatePermission` and `ChannelBind` towards a denied peer address with
//!   403 Forbidden, drops `Send` indications to one, and answers bad
//!   credentials with 401 (expired ones only on `Allocate`), before the
//!   server sees them.
//! - [`sockets::FilteredRelaySocket`], around every relayed socket: never sends
//!   to nor accepts from a denied address (the last line of defence), and
//!   counts allocations per credential for the quota.
//! - [`fast_path`], the ChannelData fast path: both sockets are read in
//!   batches (`recvmmsg`, in `mmsg`); ChannelData on a bound channel goes
//!   straight out of the allocation's relayed socket, and a bound peer's
//!   datagram straight to the client as ChannelData (`sendmmsg`), without the
//!   stock server's per-packet copies, locks and wake-ups. Everything else
//!   (STUN, unbound channels, Data indications) takes the stock path. The
//!   routes come from [`bindings::Bindings`], a pure table learned from the
//!   server's own requests and responses (Allocate, ChannelBind,
//!   CreatePermission, Refresh) with their lifetimes, and forgotten when an
//!   allocation, channel or permission ends; [`channel_data`] frames.
//! - [`traffic`]: the relayed bytes and datagrams per direction
//!   (`tandem_turn_relayed_bytes_total{direction="to_peer|to_client"}`,
//!   `tandem_turn_relayed_packets_total`), counted where peer data leaves
//!   the relay, on either path.
//!
//! ```text
//!                        fast path: ChannelData on bound channels, both ways,
//!                        batched (recvmmsg/sendmmsg), routes from Bindings
//! client <--UDP--> GuardedListener <=========================> FilteredRelaySocket <--UDP--> peer
//!                    |       ^                                     ^        (PeerFilter)
//!  the rest, screened|       | requests and responses              | the rest (Data indications)
//!                    v       | teach Bindings                      |
//!                  turn::server (auth: RestAuth) ------------------+
//!                    Allocate: FilteredRelays::allocate_conn (quota)
//! ```

pub mod auth;
pub mod bindings;
pub mod channel_data;
pub mod fast_path;
pub mod guard;
mod mmsg;
pub mod policy;
pub mod sockets;
pub mod traffic;
pub mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tandem_turn_config::{CredentialMinter, PeerFilter};
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};

use crate::metrics::Metrics;

/// What the embedded relay needs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// The address clients reach relayed sockets at (the XOR-RELAYED-ADDRESS).
    pub public_ip: IpAddr,
    pub realm: String,
    pub minter: CredentialMinter,
    pub filter: PeerFilter,
    /// `turn.allow_loopback_peers` (tests only).
    pub allow_loopback: bool,
    pub min_port: u16,
    pub max_port: u16,
    /// Concurrent allocations per credential (username) and in total.
    pub user_quota: u32,
    pub total_quota: u32,
}

impl RelaySettings {
    /// The peer rules of this relay.
    pub fn policy(&self) -> policy::PeerPolicy {
        policy::PeerPolicy::new(
            self.filter.clone(),
            self.public_ip,
            self.min_port..=self.max_port,
            self.allow_loopback,
        )
    }
}

/// A running embedded relay.
/// The embedded relay, serving on a thread of its own.
///
/// The relay runs on a single-threaded Tokio runtime on its own OS thread:
/// every datagram wakes the runtime, and on the server's multi-threaded
/// runtime each wake-up could also wake a parked worker (a futex call) and
/// move the reading task between threads; on one thread the reactor polls
/// the reading task directly. The relay then uses at most one core, as one
/// coturn relay thread does; HTTP and WebSockets keep the server's runtime.
pub struct EmbeddedRelay {
    addr: SocketAddr,
    /// Dropping or sending it stops the relay.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedRelay {
    /// Binds the listener and starts serving, on the relay's own thread.
    pub async fn start(settings: RelaySettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("turn-relay".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::Error::new(e).context("the relay's runtime")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match RelayServer::start(settings, metrics).await {
                        Ok(relay) => {
                            let _ = ready_tx.send(Ok(relay.addr));
                            // Stopped by `close`, or when the handle is dropped.
                            let _ = stop_rx.await;
                            relay.close().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .context("starting the embedded TURN relay's thread")?;
        let addr = ready_rx.await.context("the embedded TURN relay's thread ended")??;
        Ok(Self { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The UDP address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it: every allocation and socket is closed, and its thread ends.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::warn!("the embedded TURN relay's thread did not end cleanly");
            }
        }
    }
}

/// The relay itself, on the relay's runtime.
struct RelayServer {
    server: Server,
    addr: SocketAddr,
}

impl RelayServer {
    /// Binds the listener and starts serving.
    async fn start(settings: RelaySettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let socket = udp::RelayUdpSocket::bind(settings.listen).with_context(|| {
            format!(
                "the embedded TURN relay cannot listen on UDP {} (in use? set relay.listen, or relay.enabled = false)",
                settings.listen
            )
        })?;
        let addr = socket.local_addr();
        let socket = Arc::new(socket);
        let pending_user = Arc::new(std::sync::Mutex::new(None));
        let fast = Arc::new(fast_path::FastPath::new(socket.clone(), settings.policy(), metrics.clone()));
        let listener = guard::GuardedListener::new(
            socket,
            settings.policy(),
            settings.minter.clone(),
            fast.clone(),
            metrics.clone(),
        );
        let relays = sockets::FilteredRelays::new(&settings, pending_user.clone(), fast, metrics.clone());
        let auth =
            auth::RestAuth::new(settings.minter.clone(), settings.realm.clone(), pending_user, metrics);
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(listener),
                relay_addr_generator: Box::new(relays),
            }],
            realm: settings.realm.clone(),
            auth_handler: Arc::new(auth),
            channel_bind_timeout: Duration::from_secs(0), // the crate's default, 10 minutes
            alloc_close_notify: None,
        })
        .await
        .context("starting the embedded TURN relay")?;
        tracing::info!(%addr, public_ip = %settings.public_ip, "embedded TURN relay listening (UDP)");
        Ok(Self { server, addr })
    }

    /// Stops it: every allocation and socket is closed.
    async fn close(self) {
        if let Err(e) = self.server.close().await {
            tracing::warn!(error = %e, "closing the embedded TURN relay");
        }
    }
}
