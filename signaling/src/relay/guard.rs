//! The listening socket, guarded, before the TURN server sees a request:
//!
//! - requests that would open the relay towards a denied peer are answered
//!   403 (Forbidden); `Send` indications to one are dropped;
//! - requests with credentials are checked: a malformed or forged credential
//!   (MESSAGE-INTEGRITY does not match the key derived from the shared
//!   secret), or an expired one on `Allocate`, is answered 401
//!   (Unauthorized) — the stock server would answer 400. Expiry is enforced
//!   when an allocation is made, not on its refreshes, permissions and
//!   channel bindings, so a call outlives the credential's 10 minutes.
//!
//! Datagrams are read in batches through the [fast path](super::fast_path):
//! ChannelData on bound channels is relayed there and never reaches the
//! server (a channel is only bound after passing this check); the rest comes
//! out of [`GuardedListener`]'s `recv_from` one at a time, screened as
//! above. Requests that pass, and the server's responses, teach the fast
//! path its bindings.
//!
//! Peer data the server sends to clients is counted as relayed traffic
//! (`to_client`, see [`super::traffic`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use std::time::SystemTime;

use stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_REALM, ATTR_USERNAME, ATTR_XOR_PEER_ADDRESS};
use stun::error_code::{CODE_FORBIDDEN, CODE_UNAUTHORIZED, ErrorCode, ErrorCodeAttribute};
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, METHOD_ALLOCATE, METHOD_CHANNEL_BIND,
    METHOD_CREATE_PERMISSION, METHOD_SEND, Message, MessageType, Setter,
};
use tandem_turn_config::{CredentialError, CredentialMinter};
use webrtc_util::Conn;

use super::fast_path::{FastPath, Inbox, InboxHome};
use super::policy::PeerPolicy;
use super::traffic;
use super::udp::RelayUdpSocket;
use crate::metrics::{Metrics, RelayDirection};

/// The relay's listening socket with the peer check in front of the server.
pub struct GuardedListener {
    socket: Arc<RelayUdpSocket>,
    policy: PeerPolicy,
    minter: CredentialMinter,
    fast: Arc<FastPath>,
    inbox: InboxHome,
    metrics: Arc<Metrics>,
}

impl GuardedListener {
    /// `fast` must be the fast path made with this `socket`.
    pub fn new(
        socket: Arc<RelayUdpSocket>,
        policy: PeerPolicy,
        minter: CredentialMinter,
        fast: Arc<FastPath>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { socket, policy, minter, fast, inbox: InboxHome::new(Inbox::for_listener), metrics }
    }

    /// Why the credentials of request `m` are refused, if they are.
    fn refused_credentials(&self, m: &Message) -> Option<&'static str> {
        if m.typ.class != CLASS_REQUEST || !m.contains(ATTR_MESSAGE_INTEGRITY) {
            return None; // the server asks for credentials (401 with a nonce) or answers itself
        }
        let text = |attr| m.get(attr).ok().and_then(|v| String::from_utf8(v).ok());
        let (Some(username), Some(realm)) = (text(ATTR_USERNAME), text(ATTR_REALM)) else {
            return None; // the server answers 400
        };
        let password = match self.minter.check(&username, SystemTime::now()) {
            Ok(p) => p,
            Err(CredentialError::Expired) if m.typ.method != METHOD_ALLOCATE => {
                // Refreshes of an allocation made while the credential was valid.
                self.minter.password_for(&username)
            }
            Err(CredentialError::Expired) => return Some("expired"),
            Err(_) => return Some("malformed"),
        };
        let key = MessageIntegrity::new_long_term_integrity(username, realm, password);
        if key.check(&mut m.clone()).is_err() {
            return Some("forged");
        }
        None
    }

    /// What to do with one datagram from a client.
    async fn screen(&self, packet: &[u8], from: SocketAddr) -> Verdict {
        if !stun::message::is_message(packet) {
            // ChannelData the fast path did not take: the server relays only on bound channels, which passed this check.
            return Verdict::Pass(None);
        }
        let mut m = Message::new();
        if m.unmarshal_binary(packet).is_err() {
            return Verdict::Pass(None); // the server answers malformed messages itself
        }
        if let Some(reason) = self.refused_credentials(&m) {
            self.metrics.turn_refused(reason);
            tracing::debug!(client = %from, reason, "TURN credential refused");
            if let Some(reply) = error_response(&m, CODE_UNAUTHORIZED, b"Unauthorized") {
                let _ = self.socket.send_to(&reply, from).await;
            }
            return Verdict::Drop;
        }
        let guarded = (m.typ.method == METHOD_CREATE_PERMISSION || m.typ.method == METHOD_CHANNEL_BIND)
            && m.typ.class == CLASS_REQUEST
            || m.typ.method == METHOD_SEND && m.typ.class == CLASS_INDICATION;
        if !guarded {
            return Verdict::Pass(Some(m));
        }
        let denied = peer_addresses(&m).into_iter().find(|ip| !self.policy.allows_permission(*ip));
        let Some(ip) = denied else { return Verdict::Pass(Some(m)) };
        self.metrics.turn_denied_peer.inc();
        tracing::info!(client = %from, peer = %ip, method = ?m.typ.method, "TURN request towards a denied peer refused");
        if m.typ.class == CLASS_INDICATION {
            return Verdict::Drop;
        }
        if let Some(reply) = error_response(&m, CODE_FORBIDDEN, b"Forbidden peer address") {
            let _ = self.socket.send_to(&reply, from).await;
        }
        Verdict::Drop
    }
}

/// An error response with `code` to request `m`.
fn error_response(m: &Message, code: ErrorCode, reason: &[u8]) -> Option<Vec<u8>> {
    let mut reply = Message::new();
    let setters: Vec<Box<dyn Setter>> = vec![
        Box::new(m.transaction_id),
        Box::new(MessageType::new(m.typ.method, CLASS_ERROR_RESPONSE)),
        Box::new(ErrorCodeAttribute { code, reason: reason.to_vec() }),
        Box::new(FINGERPRINT),
    ];
    reply.build(&setters).ok()?;
    Some(reply.raw)
}

enum Verdict {
    /// For the server; the message, when it is a STUN message.
    Pass(Option<Message>),
    Drop,
}

/// Every XOR-PEER-ADDRESS of `m` ([RFC 5766 §14.3](https://www.rfc-editor.org/rfc/rfc5766#section-14.3)).
fn peer_addresses(m: &Message) -> Vec<IpAddr> {
    const COOKIE: u32 = 0x2112_A442;
    let mut out = Vec::new();
    for a in &m.attributes.0 {
        if a.typ != ATTR_XOR_PEER_ADDRESS || a.value.len() < 8 {
            continue;
        }
        let v = &a.value;
        match (v[1], v.len()) {
            (0x01, 8) => {
                let x = u32::from_be_bytes([v[4], v[5], v[6], v[7]]) ^ COOKIE;
                out.push(IpAddr::V4(Ipv4Addr::from(x)));
            }
            (0x02, 20) => {
                let mut key = [0u8; 16];
                key[..4].copy_from_slice(&COOKIE.to_be_bytes());
                key[4..].copy_from_slice(&m.transaction_id.0);
                let mut b = [0u8; 16];
                for i in 0..16 {
                    b[i] = v[4 + i] ^ key[i];
                }
                out.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            // An address we cannot read is treated as denied: better refused than relayed.
            _ => out.push(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        }
    }
    out
}

#[async_trait::async_trait]
impl Conn for GuardedListener {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other("the TURN listener serves every client: not connected".into()))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut inbox = self.inbox.lease();
        loop {
            while let Some((n, from)) = inbox.next_for_server(buf) {
                match self.screen(&buf[..n], from).await {
                    Verdict::Pass(m) => {
                        if let Some(m) = m {
                            self.fast.observe_request(from, &m);
                        }
                        return Ok((n, from));
                    }
                    Verdict::Drop => {}
                }
            }
            inbox.fill(&self.socket).await?;
            self.fast.forward_to_peers(&mut inbox).await;
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("the TURN listener sends to a client address".into()))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        let n = self.socket.send_to(buf, target).await?;
        match traffic::payload_to_client(buf) {
            Some(payload) => self.metrics.turn_relayed(RelayDirection::ToClient).count(payload),
            None => self.fast.observe_sent(target, buf),
        }
        Ok(n)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        // Asked once at bind: the `turn` server asks for it on every packet.
        Ok(self.socket.local_addr())
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
