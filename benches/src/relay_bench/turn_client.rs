//! A minimal, blocking TURN client over UDP for the throughput runs: one
//! allocation with a REST credential, one channel to a peer, then the socket
//! is the benchmark's to blast ChannelData on
//! ([RFC 8656 §12](https://www.rfc-editor.org/rfc/rfc8656#section-12)).
//!
//! Hand-built on the `stun`/`turn` message types rather than the `turn`
//! crate's client: that client reads the socket in its own task and hands
//! every inbound packet through a channel, which would make the client, not
//! the relay, the bottleneck.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use stun::agent::TransactionId;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter as _, METHOD_ALLOCATE,
    METHOD_CHANNEL_BIND, METHOD_REFRESH, Message, MessageType, Method, Setter,
};
use stun::textattrs::TextAttribute;
use turn::proto::PROTO_UDP;
use turn::proto::channum::ChannelNumber;
use turn::proto::lifetime::Lifetime;
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;
use turn::proto::reqtrans::RequestedTransport;

/// The channel every run uses (the first of the range, RFC 8656 §12).
pub const CHANNEL: u16 = 0x4000;
/// ChannelData header: channel number and length, 2 bytes each.
pub const CHANNEL_HEADER: usize = 4;

const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
const ATTEMPTS: u32 = 6;

/// One allocation on a relay, through a socket connected to it.
pub struct TurnAllocation {
    pub socket: UdpSocket,
    pub relayed: SocketAddr,
    username: String,
    realm: String,
    nonce: String,
    integrity: MessageIntegrity,
}

impl TurnAllocation {
    /// Allocates on `server` with `username`/`password` (the 401 round trip gives realm and nonce).
    pub fn allocate(server: SocketAddr, username: &str, password: &str) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(server)?;
        socket.set_read_timeout(Some(ATTEMPT_TIMEOUT))?;
        let challenge = transact(
            &socket,
            vec![
                Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
                Box::new(RequestedTransport { protocol: PROTO_UDP }),
                Box::new(FINGERPRINT),
            ],
        )?;
        let nonce = TextAttribute::get_from_as(&challenge, ATTR_NONCE).context("401 without a nonce")?.text;
        let realm = TextAttribute::get_from_as(&challenge, ATTR_REALM).context("401 without a realm")?.text;
        let integrity =
            MessageIntegrity::new_long_term_integrity(username.into(), realm.clone(), password.into());
        let mut a = Self {
            socket,
            relayed: ([0, 0, 0, 0], 0).into(),
            username: username.into(),
            realm,
            nonce,
            integrity,
        };
        let reply =
            a.authenticated(METHOD_ALLOCATE, || vec![Box::new(RequestedTransport { protocol: PROTO_UDP })])?;
        let mut relayed = RelayedAddress::default();
        relayed.get_from(&reply).context("no XOR-RELAYED-ADDRESS")?;
        a.relayed = SocketAddr::new(relayed.ip, relayed.port);
        Ok(a)
    }

    /// Binds (or refreshes) [`CHANNEL`] to `peer`, which also installs (refreshes) its permission.
    pub fn bind_channel(&mut self, peer: SocketAddr) -> anyhow::Result<()> {
        self.authenticated(METHOD_CHANNEL_BIND, || {
            vec![Box::new(PeerAddress { ip: peer.ip(), port: peer.port() }), Box::new(ChannelNumber(CHANNEL))]
        })?;
        Ok(())
    }

    /// Refreshes the allocation for another 10 minutes.
    pub fn refresh(&mut self) -> anyhow::Result<()> {
        self.authenticated(METHOD_REFRESH, || vec![Box::new(Lifetime(Duration::from_secs(600)))])?;
        Ok(())
    }

    /// Deletes the allocation (Refresh with a zero lifetime); errors are ignored.
    pub fn release(&mut self) {
        let _ = self.authenticated(METHOD_REFRESH, || vec![Box::new(Lifetime(Duration::ZERO))]);
    }

    /// A request with the long-term credential; a stale nonce (438) is retried once with the new one.
    fn authenticated(
        &mut self,
        method: Method,
        attrs: impl Fn() -> Vec<Box<dyn Setter>>,
    ) -> anyhow::Result<Message> {
        for _ in 0..2 {
            let mut setters: Vec<Box<dyn Setter>> = vec![Box::new(MessageType::new(method, CLASS_REQUEST))];
            setters.extend(attrs());
            setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, self.username.clone())));
            setters.push(Box::new(TextAttribute::new(ATTR_REALM, self.realm.clone())));
            setters.push(Box::new(TextAttribute::new(ATTR_NONCE, self.nonce.clone())));
            setters.push(Box::new(self.integrity.clone()));
            setters.push(Box::new(FINGERPRINT));
            let reply = transact(&self.socket, setters)?;
            match reply.typ.class {
                CLASS_SUCCESS_RESPONSE => return Ok(reply),
                CLASS_ERROR_RESPONSE => {
                    let mut code = ErrorCodeAttribute::default();
                    let _ = code.get_from(&reply);
                    if code.code.0 == 438 {
                        self.nonce = TextAttribute::get_from_as(&reply, ATTR_NONCE)?.text;
                        continue;
                    }
                    bail!("{method} refused: {} {}", code.code.0, String::from_utf8_lossy(&code.reason));
                }
                other => bail!("unexpected {other} to {method}"),
            }
        }
        Err(anyhow!("{method}: stale nonce twice"))
    }
}

/// Sends a request built from `setters` (a fresh transaction id is added) and
/// waits for the response with the same id, retransmitting on silence.
/// Anything else arriving meanwhile (ChannelData in flight) is skipped.
fn transact(socket: &UdpSocket, mut setters: Vec<Box<dyn Setter>>) -> anyhow::Result<Message> {
    let tid = TransactionId::new();
    setters.insert(0, Box::new(tid));
    let mut m = Message::new();
    m.build(&setters)?;
    let mut buf = [0u8; 1500];
    for _ in 0..ATTEMPTS {
        socket.send(&m.raw)?;
        let deadline = Instant::now() + ATTEMPT_TIMEOUT;
        while Instant::now() < deadline {
            let n = match socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    continue; // the socket's own read timeout may be shorter than an attempt
                }
                Err(e) => return Err(e.into()),
            };
            if !stun::message::is_message(&buf[..n]) {
                continue;
            }
            let mut reply = Message::new();
            if reply.unmarshal_binary(&buf[..n]).is_ok() && reply.transaction_id == tid {
                return Ok(reply);
            }
        }
    }
    bail!("no answer from {} to {}", socket.peer_addr()?, m.typ)
}
