//! A local UDP endpoint that carries a TURN client's datagrams to a relay over
//! TCP or TLS. webrtc 0.21's TURN client speaks UDP only: it is pointed at
//! `turn:127.0.0.1:<port>?transport=udp`, and every datagram it sends there
//! goes, framed (see [`super::framing`]), down one stream per client address
//! to the real relay; what the relay sends back returns as datagrams.
//!
//! The TURN exchange itself (authentication, allocation, permissions,
//! channels) is untouched: the relay sees an ordinary TURN-over-TCP/TLS client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use super::framing::{Deframer, to_stream};

/// How long connecting to the relay (TCP, and TLS on top) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Datagrams waiting for a stream that is still connecting or slow; more are dropped
/// (the TURN client retransmits what matters, and media copes with loss).
const QUEUE: usize = 256;

/// Where a tunnel leads: the relay's stream address, plain or with TLS.
#[derive(Clone)]
pub struct StreamTarget {
    pub host: String,
    pub port: u16,
    /// The client configuration and the name to verify, for `turns:`.
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

impl std::fmt::Debug for StreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls.is_some() { "tls" } else { "tcp" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A stream to the relay, TCP or TLS.
pub trait RelayStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> RelayStream for T {}

impl StreamTarget {
    /// Connects (and for TLS, verifies the relay's certificate), within [`CONNECT_TIMEOUT`].
    pub async fn connect(&self) -> std::io::Result<Box<dyn RelayStream>> {
        let connect = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
            tcp.set_nodelay(true)?;
            let stream: Box<dyn RelayStream> = match &self.tls {
                None => Box::new(tcp),
                Some((config, name)) => {
                    Box::new(TlsConnector::from(config.clone()).connect(name.clone(), tcp).await?)
                }
            };
            Ok(stream)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect).await.unwrap_or_else(|_| {
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer from {self:?}")))
        })
    }
}

/// A running tunnel; dropping it closes the local endpoint and every stream.
pub struct Tunnel {
    /// The local UDP address the TURN client is given.
    pub local: SocketAddr,
    pub target: StreamTarget,
    task: JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tunnel {
    /// Opens the local endpoint on 127.0.0.1; streams open on the first datagram from each client.
    pub async fn start(target: StreamTarget) -> std::io::Result<Self> {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let local = socket.local_addr()?;
        let task = tokio::spawn(serve(socket, target.clone()));
        Ok(Self { local, target, task })
    }
}

/// Reads datagrams from local clients and hands each to its client's stream.
async fn serve(socket: Arc<UdpSocket>, target: StreamTarget) {
    // Owned here, so aborting this task ends every stream too.
    let mut streams = JoinSet::new();
    let mut queues: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, client) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!(error = %e, "TURN tunnel: local receive failed");
                continue;
            }
        };
        let Some(framed) = to_stream(&buf[..n]) else {
            tracing::debug!(%client, bytes = n, "TURN tunnel: dropped a datagram that is not STUN or ChannelData");
            continue;
        };
        while streams.try_join_next().is_some() {}
        let queue = queues.entry(client).or_insert_with(closed_sender);
        if queue.is_closed() {
            // First datagram from this client, or its stream ended: (re)connect.
            let (tx, rx) = mpsc::channel(QUEUE);
            *queue = tx;
            streams.spawn(carry(client, rx, socket.clone(), target.clone()));
        }
        if queue.try_send(framed).is_err() {
            tracing::debug!(%client, "TURN tunnel: stream busy; datagram dropped");
        }
    }
}

fn closed_sender() -> mpsc::Sender<Vec<u8>> {
    mpsc::channel(1).0
}

/// One client's stream: datagrams down, deframed messages back.
async fn carry(
    client: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    socket: Arc<UdpSocket>,
    target: StreamTarget,
) {
    let stream = match target.connect().await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!(relay = ?target, error = %e, "TURN tunnel: cannot reach the relay");
            return;
        }
    };
    tracing::debug!(relay = ?target, %client, "TURN tunnel: stream open");
    let (mut reader, mut writer) = tokio::io::split(stream);
    let down = async {
        while let Some(frame) = rx.recv().await {
            writer.write_all(&frame).await?;
        }
        std::io::Result::Ok(())
    };
    let up = async {
        let mut deframer = Deframer::default();
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            deframer.push(&buf[..n]);
            while let Some(message) = deframer
                .next_message()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
            {
                socket.send_to(message, client).await?;
            }
        }
    };
    let result = tokio::select! { r = down => r, r = up => r };
    tracing::debug!(relay = ?target, %client, ?result, "TURN tunnel: stream closed");
}
