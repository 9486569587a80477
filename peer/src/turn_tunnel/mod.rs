//! How this peer reaches the TURN relay: over UDP when it can, otherwise over
//! TCP or TLS through a local [`tunnel::Tunnel`] (NET-2; webrtc 0.21's TURN
//! client speaks UDP only, and locked-down networks often drop UDP).
//!
//! [`IceRoutes::choose`] probes in order of preference, UDP first, then each
//! `turn:…?transport=tcp` and each `turns:` URL, with a STUN Binding request
//! answered by the relay itself, and hands webrtc the ICE server list for the
//! first that answers. The choice sticks to a URL when credentials are
//! renewed, so a refresh does not re-probe or reopen tunnels.

pub mod framing;
pub mod tunnel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc::ice::url::{ProtoType, SchemeType, Url};
use rtc::stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Message, TransactionId};
use tandem_wire::{IceServer, PathProtocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use webrtc::peer_connection::RTCIceServer;

use crate::PeerError;
use tunnel::{StreamTarget, Tunnel};

/// How long the relay has to answer the UDP probe (two tries) before TCP/TLS is tried.
pub const UDP_PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The ICE servers handed to webrtc, and the tunnels behind any of them.
#[derive(Default)]
pub struct IceRoutes {
    servers: Vec<RTCIceServer>,
    /// The relay URL in use (as the signaling server gave it) and how it is reached.
    relay: Option<(String, PathProtocol)>,
    tunnel: Option<Tunnel>,
}

/// One TURN URL as the signaling server gave it, with its credentials.
#[derive(Debug, Clone)]
struct RelayUrl {
    raw: String,
    url: Url,
    username: String,
    credential: String,
}

impl RelayUrl {
    fn protocol(&self) -> PathProtocol {
        match (self.url.scheme, self.url.proto) {
            (SchemeType::Turns, _) => PathProtocol::Tls,
            (_, ProtoType::Tcp) => PathProtocol::Tcp,
            _ => PathProtocol::Udp,
        }
    }

    fn server(&self, urls: Vec<String>) -> RTCIceServer {
        RTCIceServer { urls, username: self.username.clone(), credential: self.credential.clone() }
    }
}

impl IceRoutes {
    /// Chooses how to reach the relay for `ice_servers`, keeping `previous`'s
    /// choice (and tunnel) when its URL is still offered.
    pub async fn choose(
        ice_servers: &[IceServer],
        tls: &Arc<ClientConfig>,
        previous: Option<IceRoutes>,
    ) -> IceRoutes {
        let mut stun = Vec::new();
        let mut relays = Vec::new();
        for server in ice_servers {
            for raw in &server.urls {
                match Url::parse_url(raw) {
                    Ok(url) if matches!(url.scheme, SchemeType::Stun) => stun.push(raw.clone()),
                    Ok(url) if matches!(url.scheme, SchemeType::Turn | SchemeType::Turns) => {
                        relays.push(RelayUrl {
                            raw: raw.clone(),
                            url,
                            username: server.username.clone().unwrap_or_default(),
                            credential: server.credential.clone().unwrap_or_default(),
                        })
                    }
                    Ok(_) => tracing::debug!(url = %raw, "ICE server URL not usable here; skipped"),
                    Err(e) => tracing::warn!(url = %raw, error = %e, "bad ICE server URL; skipped"),
                }
            }
        }
        let mut servers = Vec::new();
        if !stun.is_empty() {
            servers.push(RTCIceServer { urls: stun, ..Default::default() });
        }
        let sticky = previous.and_then(|p| {
            let (raw, _) = p.relay.as_ref()?;
            let relay = relays.iter().find(|r| &r.raw == raw)?.clone();
            Some((relay, p.tunnel))
        });
        let (relay, tunnel) = match sticky {
            Some(kept) => (Some(kept.0), kept.1),
            None => match probe_in_order(&relays, tls).await {
                Some((relay, tunnel)) => (Some(relay), tunnel),
                None => {
                    if !relays.is_empty() {
                        tracing::warn!("no TURN relay answered over UDP, TCP or TLS; trying UDP anyway");
                    }
                    let udp =
                        relays.into_iter().filter(|r| r.protocol() == PathProtocol::Udp).collect::<Vec<_>>();
                    servers.extend(udp.iter().map(|r| r.server(vec![r.raw.clone()])));
                    return IceRoutes { servers, relay: None, tunnel: None };
                }
            },
        };
        let relay = relay.expect("chosen above");
        let protocol = relay.protocol();
        servers.push(match &tunnel {
            Some(t) => relay.server(vec![format!("turn:{}?transport=udp", t.local)]),
            None => relay.server(vec![relay.raw.clone()]),
        });
        tracing::info!(relay = %relay.raw, via = protocol.as_str(), "TURN relay reachable");
        IceRoutes { servers, relay: Some((relay.raw, protocol)), tunnel }
    }

    /// The list for webrtc's configuration.
    pub fn servers(&self) -> Vec<RTCIceServer> {
        self.servers.clone()
    }

    /// How this peer's relay candidates reach their relay: webrtc is given one
    /// relay only, the chosen one, so every local relay candidate comes from it.
    pub fn relay_protocol(&self) -> PathProtocol {
        self.relay.as_ref().map_or(PathProtocol::Udp, |(_, protocol)| *protocol)
    }
}

/// UDP first, then TCP, then TLS: the first relay URL that answers, with its tunnel for TCP/TLS.
async fn probe_in_order(relays: &[RelayUrl], tls: &Arc<ClientConfig>) -> Option<(RelayUrl, Option<Tunnel>)> {
    for wanted in [PathProtocol::Udp, PathProtocol::Tcp, PathProtocol::Tls] {
        for relay in relays.iter().filter(|r| r.protocol() == wanted) {
            let (host, port) = (relay.url.host.clone(), relay.url.port);
            let answered = if wanted == PathProtocol::Udp {
                probe_udp(&host, port).await
            } else {
                let tls = (wanted == PathProtocol::Tls)
                    .then(|| ServerName::try_from(host.clone()).ok().map(|name| (tls.clone(), name)))
                    .flatten();
                if wanted == PathProtocol::Tls && tls.is_none() {
                    tracing::warn!(url = %relay.raw, "TURN TLS URL without a usable server name");
                    continue;
                }
                let target = StreamTarget { host, port, tls };
                match probe_stream(&target).await {
                    Ok(()) => match Tunnel::start(target).await {
                        Ok(tunnel) => return Some((relay.clone(), Some(tunnel))),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot open a local TURN tunnel endpoint");
                            false
                        }
                    },
                    Err(e) => {
                        tracing::info!(url = %relay.raw, error = %e, "TURN relay not reachable this way");
                        false
                    }
                }
            };
            if answered {
                return Some((relay.clone(), None));
            }
            tracing::info!(url = %relay.raw, "TURN relay did not answer over UDP");
        }
    }
    None
}

fn binding_request() -> Result<Message, PeerError> {
    let mut m = Message::new();
    m.build(&[Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)])
        .map_err(|e| PeerError::WebRtc(format!("building a STUN request: {e}")))?;
    Ok(m)
}

fn is_answer(request: &Message, bytes: &[u8]) -> bool {
    let mut m = Message::new();
    m.unmarshal_binary(bytes).is_ok()
        && m.transaction_id == request.transaction_id
        && m.typ == BINDING_SUCCESS
}

/// Whether the relay answers a STUN Binding request over UDP.
async fn probe_udp(host: &str, port: u16) -> bool {
    let Ok(request) = binding_request() else { return false };
    let Some(addr) = tokio::net::lookup_host((host, port)).await.ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let bind: SocketAddr = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("literal");
    let Ok(socket) = UdpSocket::bind(bind).await else { return false };
    let mut buf = [0u8; 1500];
    for attempt in 0..2u32 {
        if socket.send_to(&request.raw, addr).await.is_err() {
            return false;
        }
        let wait = UDP_PROBE_TIMEOUT / 2;
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Ok((n, from))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
            if from == addr && is_answer(&request, &buf[..n]) {
                return true;
            }
        }
        tracing::debug!(%addr, attempt, "no STUN answer over UDP yet");
    }
    false
}

/// Connects to the relay over TCP/TLS and checks that it answers a STUN Binding request there.
async fn probe_stream(target: &StreamTarget) -> std::io::Result<()> {
    let mut stream = target.connect().await?;
    let request = binding_request().map_err(std::io::Error::other)?;
    stream.write_all(&request.raw).await?;
    let mut deframer = framing::Deframer::default();
    let mut buf = [0u8; 2048];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the relay closed the stream",
                ));
            }
            deframer.push(&buf[..n]);
            if let Some(m) = deframer.next_message().map_err(std::io::Error::other)? {
                return if is_answer(&request, m) {
                    Ok(())
                } else {
                    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a STUN Binding answer"))
                };
            }
        }
    };
    tokio::time::timeout(tunnel::CONNECT_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no STUN answer")))
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// The answer a relay gives to a Binding request.
    fn answer(request: &[u8]) -> Vec<u8> {
        let mut req = Message::new();
        req.unmarshal_binary(request).unwrap();
        let mut m = Message::new();
        m.build(&[Box::new(req.transaction_id), Box::new(BINDING_SUCCESS)]).unwrap();
        m.raw
    }

    /// A relay that answers STUN over UDP, when `answers` says so.
    async fn udp_relay(answers: bool) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if answers {
                    socket.send_to(&answer(&buf[..n]), from).await.unwrap();
                }
            }
        });
        addr
    }

    /// A relay on TCP that answers every STUN message and echoes every ChannelData message.
    async fn tcp_relay() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut deframer = framing::Deframer::default();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        deframer.push(&buf[..n]);
                        while let Some(m) = deframer.next_message().unwrap() {
                            let reply = if m[0] >> 6 == 0 { answer(m) } else { m.to_vec() };
                            stream.write_all(&framing::to_stream(&reply).unwrap()).await.unwrap();
                        }
                    }
                });
            }
        });
        addr
    }

    fn servers(urls: &[String]) -> Vec<IceServer> {
        vec![IceServer { urls: urls.to_vec(), username: Some("1:p".into()), credential: Some("pw".into()) }]
    }

    #[tokio::test]
    async fn udp_is_used_when_the_relay_answers_there() {
        let udp = udp_relay(true).await;
        let tcp = tcp_relay().await;
        let urls = [format!("turn:{udp}?transport=udp"), format!("turn:{tcp}?transport=tcp")];
        let routes = IceRoutes::choose(&servers(&urls), &crate::tls::default_client_config(), None).await;
        assert_eq!(routes.relay_protocol(), PathProtocol::Udp);
        assert_eq!(routes.servers()[0].urls, vec![urls[0].clone()]);
        assert!(routes.tunnel.is_none());
    }

    #[tokio::test]
    async fn without_udp_the_relay_is_reached_through_a_tcp_tunnel_that_carries_channel_data() {
        let udp = udp_relay(false).await;
        let tcp = tcp_relay().await;
        let urls = [format!("turn:{udp}?transport=udp"), format!("turn:{tcp}?transport=tcp")];
        let routes = IceRoutes::choose(&servers(&urls), &crate::tls::default_client_config(), None).await;
        assert_eq!(routes.relay_protocol(), PathProtocol::Tcp);
        let local = routes.tunnel.as_ref().unwrap().local;
        assert_eq!(routes.servers()[0].urls, vec![format!("turn:{local}?transport=udp")]);
        assert_eq!(routes.servers()[0].username, "1:p", "the relay's credentials go with the tunnel");

        // A datagram into the tunnel comes back from the echoing relay unpadded.
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let channel_data = [0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o'];
        client.send_to(&channel_data, local).await.unwrap();
        let mut buf = [0u8; 64];
        let (n, from) =
            tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf)).await.unwrap().unwrap();
        assert_eq!((&buf[..n], from), (&channel_data[..], local));

        // Renewed credentials keep the choice and the tunnel: no new probe.
        let mut renewed = servers(&urls);
        renewed[0].username = Some("2:p".into());
        let routes = IceRoutes::choose(&renewed, &crate::tls::default_client_config(), Some(routes)).await;
        assert_eq!(routes.tunnel.as_ref().unwrap().local, local);
        assert_eq!(routes.servers()[0].username, "2:p");
    }

    #[tokio::test]
    async fn when_nothing_answers_the_udp_urls_are_kept() {
        let udp = udp_relay(false).await;
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let urls = [format!("turn:{udp}?transport=udp"), format!("turn:{closed}?transport=tcp")];
        let routes = IceRoutes::choose(&servers(&urls), &crate::tls::default_client_config(), None).await;
        assert_eq!(routes.servers().len(), 1);
        assert_eq!(routes.servers()[0].urls, vec![urls[0].clone()]);
        assert!(routes.tunnel.is_none());
    }
}
