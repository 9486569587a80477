//! The embedded relay's ChannelData fast path (issue 5), on loopback with the
//! real server: data on a bound channel crosses both ways, in order, and is
//! counted in `/metrics`; peer data goes out as ChannelData without padding
//! (what the fast path sends; the stock server pads to 4 bytes), while peer
//! data without a channel still comes as a Data indication; once the
//! allocation is deleted nothing crosses any more.
//!
//! The client here is built by hand on one UDP socket (like `turn_common`'s
//! `RawTurn`, but with the raw datagrams the relay sends visible).

mod common;
mod turn_common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use common::*;
use stun::agent::TransactionId;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter as _,
    METHOD_ALLOCATE, METHOD_CHANNEL_BIND, METHOD_DATA, METHOD_REFRESH, Message, MessageType, Method, Setter,
};
use stun::textattrs::TextAttribute;
use tandem_turn_config::CredentialMinter;
use tokio::net::UdpSocket;
use turn::proto::PROTO_UDP;
use turn::proto::channum::ChannelNumber;
use turn::proto::data::Data;
use turn::proto::lifetime::Lifetime;
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;
use turn::proto::reqtrans::RequestedTransport;
use turn_common::metric;

const SECRET: &str = "test-secret-0123456789";
const CHANNEL: u16 = 0x4001;
/// Datagrams per burst: more than one batch of the relay's reads (32 on the
/// listener, 16 on a relayed socket), few enough for the default socket buffers.
const BURST: usize = 64;

async fn relay_server() -> TestServer {
    TestServer::start_with(|c| {
        c.turn.secret = Some(SECRET.into());
        c.turn.allow_loopback_peers = true;
    })
    .await
}

#[tokio::test]
async fn channel_data_crosses_both_ways_in_order_and_is_counted() {
    let srv = relay_server().await;
    let mut c = TurnClient::allocate(&srv, "00000000000000f1").await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    c.request(METHOD_CHANNEL_BIND, || vec![Box::new(ChannelNumber(CHANNEL)), peer_attr(peer_addr)])
        .await
        .expect("channel bound");

    // Client → peer: a burst of ChannelData, each payload numbered.
    for i in 0..BURST {
        c.channel_data(CHANNEL, &numbered(i, 1200)).await;
    }
    for i in 0..BURST {
        let (got, from) = recv_within(&peer, DEADLINE)
            .await
            .unwrap_or_else(|| panic!("datagram {i} never reached the peer"));
        assert_eq!(from, c.relayed, "peers see the relayed address");
        assert_eq!(
            got,
            numbered(i, 1200),
            "datagram {i}: the payload, in order, without the ChannelData header"
        );
    }

    // Peer → client: a burst of odd-sized datagrams.
    for i in 0..BURST {
        peer.send_to(&numbered(i, 5), c.relayed).await.unwrap();
    }
    for i in 0..BURST {
        let raw = c.recv(DEADLINE).await.unwrap_or_else(|| panic!("datagram {i} never reached the client"));
        assert_eq!(
            &raw[..4],
            &[0x40, 0x01, 0x00, 0x05],
            "ChannelData on channel 0x4001 with 5 bytes: {raw:?}"
        );
        assert_eq!(raw.len(), 4 + 5, "sent by the fast path: not padded (the stock server sends 12 bytes)");
        assert_eq!(&raw[4..], &numbered(i, 5)[..], "datagram {i}, in order");
    }

    let m = srv.metrics().await;
    let sample = |what: &str, dir: &str| {
        metric(&m, &format!("tandem_turn_relayed_{what}_total{{direction=\"{dir}\"}}"))
    };
    assert_eq!(sample("packets", "to_peer"), BURST as u64, "{m}");
    assert_eq!(sample("bytes", "to_peer"), BURST as u64 * 1200, "payload bytes, without framing");
    assert_eq!(sample("packets", "to_client"), BURST as u64);
    assert_eq!(sample("bytes", "to_client"), BURST as u64 * 5);
}

#[tokio::test]
async fn without_a_channel_peer_data_is_a_data_indication_and_a_deleted_allocation_relays_nothing() {
    let srv = relay_server().await;
    let mut c = TurnClient::allocate(&srv, "00000000000000f2").await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let other_port = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    c.request(METHOD_CHANNEL_BIND, || {
        vec![Box::new(ChannelNumber(CHANNEL)), peer_attr(peer.local_addr().unwrap())]
    })
    .await
    .expect("channel bound");

    // The same IP (so it has the permission) from another port: no channel, so a Data indication.
    other_port.send_to(b"no channel", c.relayed).await.unwrap();
    let raw = c.recv(DEADLINE).await.expect("a Data indication");
    let mut m = Message::new();
    m.unmarshal_binary(&raw).expect("a STUN message, not ChannelData");
    assert_eq!(m.typ, MessageType::new(METHOD_DATA, CLASS_INDICATION));
    let (mut from, mut data) = (PeerAddress::default(), Data::default());
    from.get_from(&m).unwrap();
    data.get_from(&m).unwrap();
    assert_eq!(
        (SocketAddr::new(from.ip, from.port), data.0.as_slice()),
        (other_port.local_addr().unwrap(), &b"no channel"[..])
    );

    // Another client sending on the same channel number has no such channel: nothing reaches the peer.
    let mut stranger = TurnClient::allocate(&srv, "00000000000000f3").await;
    stranger.channel_data(CHANNEL, b"not bound here").await;
    // The bound client's datagram, sent after, arrives first and alone.
    c.channel_data(CHANNEL, b"bound").await;
    let (got, _) = recv_within(&peer, DEADLINE).await.expect("the bound channel's datagram");
    assert_eq!(got, b"bound");

    // Deleted: ChannelData no longer leaves, and peer data no longer comes back.
    let reply =
        c.request(METHOD_REFRESH, || vec![Box::new(Lifetime(Duration::ZERO))]).await.expect("deleted");
    assert_eq!(reply.typ.class, CLASS_SUCCESS_RESPONSE);
    c.channel_data(CHANNEL, b"after delete").await;
    peer.send_to(b"after delete", c.relayed).await.unwrap();
    // A datagram sent after these by a client that still has its channel shows they had time to cross.
    let peer2 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger
        .request(METHOD_CHANNEL_BIND, || {
            vec![Box::new(ChannelNumber(CHANNEL)), peer_attr(peer2.local_addr().unwrap())]
        })
        .await
        .expect("channel bound");
    stranger.channel_data(CHANNEL, b"marker").await;
    let (got, _) = recv_within(&peer2, DEADLINE).await.expect("the marker");
    assert_eq!(got, b"marker");
    peer2.send_to(b"marker back", stranger.relayed).await.unwrap();
    assert_eq!(&stranger.recv(DEADLINE).await.expect("the marker back")[4..], b"marker back");
    assert_eq!(
        recv_within(&peer, Duration::from_millis(200)).await,
        None,
        "nothing left a deleted allocation"
    );
    assert_eq!(
        c.recv(Duration::from_millis(200)).await,
        None,
        "nothing came back through a deleted allocation"
    );
}

/// `len` bytes starting with the big-endian `i`.
fn numbered(i: usize, len: usize) -> Vec<u8> {
    let mut v = vec![0xA5; len];
    let n = (i as u32).to_be_bytes();
    let k = len.min(4);
    v[..k].copy_from_slice(&n[4 - k..]);
    v
}

async fn recv_within(sock: &UdpSocket, d: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 2048];
    match tokio::time::timeout(d, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => Some((buf[..n].to_vec(), from)),
        _ => None,
    }
}

fn peer_attr(peer: SocketAddr) -> Box<dyn Setter> {
    Box::new(PeerAddress { ip: peer.ip(), port: peer.port() })
}

/// A TURN client on one UDP socket with a minted REST credential; what the
/// relay sends it is returned raw.
struct TurnClient {
    socket: UdpSocket,
    server: SocketAddr,
    relayed: SocketAddr,
    username: String,
    password: String,
    /// Realm and nonce from the last 401/438.
    challenge: Option<(String, String)>,
}

impl TurnClient {
    async fn allocate(srv: &TestServer, id: &str) -> Self {
        let server = srv.running.as_ref().unwrap().relay_addr.expect("the relay runs by default");
        let cred = CredentialMinter::new(SECRET, Duration::from_secs(600)).mint(id, SystemTime::now());
        let mut c = Self {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            server,
            relayed: ([0, 0, 0, 0], 0).into(),
            username: cred.username,
            password: cred.password,
            challenge: None,
        };
        let reply = c
            .request(METHOD_ALLOCATE, || vec![Box::new(RequestedTransport { protocol: PROTO_UDP })])
            .await
            .expect("allocated");
        let mut relayed = RelayedAddress::default();
        relayed.get_from(&reply).expect("XOR-RELAYED-ADDRESS");
        c.relayed = SocketAddr::new(relayed.ip, relayed.port);
        c
    }

    /// A request, with credentials once challenged (a 401 or 438 is answered
    /// once with the new nonce); the success response or the error code.
    async fn request(
        &mut self,
        method: Method,
        attrs: impl Fn() -> Vec<Box<dyn Setter>>,
    ) -> Result<Message, u16> {
        let mut code = 0;
        for _ in 0..3 {
            let mut setters: Vec<Box<dyn Setter>> =
                vec![Box::new(TransactionId::new()), Box::new(MessageType::new(method, CLASS_REQUEST))];
            setters.extend(attrs());
            if let Some((realm, nonce)) = self.challenge.clone() {
                setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, self.username.clone())));
                setters.push(Box::new(TextAttribute::new(ATTR_REALM, realm.clone())));
                setters.push(Box::new(TextAttribute::new(ATTR_NONCE, nonce)));
                setters.push(Box::new(MessageIntegrity::new_long_term_integrity(
                    self.username.clone(),
                    realm,
                    self.password.clone(),
                )));
            }
            setters.push(Box::new(FINGERPRINT));
            let mut request = Message::new();
            request.build(&setters).unwrap();
            let reply = self.transact(&request).await;
            if reply.typ.class == CLASS_SUCCESS_RESPONSE {
                return Ok(reply);
            }
            assert_eq!(reply.typ.class, CLASS_ERROR_RESPONSE, "{reply}");
            let mut e = ErrorCodeAttribute::default();
            e.get_from(&reply).expect("ERROR-CODE");
            code = e.code.0;
            let text = |attr| reply.get(attr).ok().and_then(|v| String::from_utf8(v).ok());
            match (code, text(ATTR_REALM), text(ATTR_NONCE)) {
                (401 | 438, Some(realm), Some(nonce)) => self.challenge = Some((realm, nonce)),
                _ => return Err(code),
            }
        }
        Err(code)
    }

    /// Sends `request` until its response arrives (every 500 ms, for [`DEADLINE`]).
    async fn transact(&self, request: &Message) -> Message {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while tokio::time::Instant::now() < deadline {
            self.socket.send_to(&request.raw, self.server).await.unwrap();
            let resend = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Ok(Some(raw)) =
                tokio::time::timeout_at(resend, self.recv(Duration::from_secs(3600))).await
            {
                let mut m = Message::new();
                if m.unmarshal_binary(&raw).is_ok() && m.transaction_id == request.transaction_id {
                    return m;
                }
            }
        }
        panic!("no answer to {}", request.typ);
    }

    async fn channel_data(&self, channel: u16, data: &[u8]) {
        let mut d = Vec::with_capacity(4 + data.len());
        d.extend_from_slice(&channel.to_be_bytes());
        d.extend_from_slice(&(data.len() as u16).to_be_bytes());
        d.extend_from_slice(data);
        self.socket.send_to(&d, self.server).await.unwrap();
    }

    /// The next datagram from the relay within `within`, raw.
    async fn recv(&self, within: Duration) -> Option<Vec<u8>> {
        let (d, from) = recv_within(&self.socket, within).await?;
        assert_eq!(from, self.server, "only the relay sends to a TURN client");
        Some(d)
    }
}
