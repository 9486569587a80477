//! Shared by the TURN relay tests (`turn_relay.rs`, `coturn.rs`,
//! `relay_abuse.rs`):
//!
//! - [`RawTurn`], a TURN client over UDP whose messages are built by hand
//!   ([RFC 8656](https://www.rfc-editor.org/rfc/rfc8656)), so a probe can name
//!   any peer address (the `turn` crate's client only asks for permissions
//!   it needs) and see each answer's error code;
//! - [`Coturn`], coturn started from the configuration
//!   `tandem-signaling turn coturn-config` generates;
//! - [`own_network_namespace`], for tests that bind special-purpose addresses.
#![allow(dead_code)] // each test file uses a different part

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stun::agent::TransactionId;
use stun::attributes::{ATTR_NONCE, ATTR_REALM};
use stun::error_code::ErrorCodeAttribute;
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter as _,
    METHOD_ALLOCATE, METHOD_BINDING, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_DATA,
    METHOD_REFRESH, METHOD_SEND, Message, MessageType, Method, Setter,
};
use stun::textattrs::TextAttribute;
use tokio::net::UdpSocket;
use turn::proto::PROTO_UDP;
use turn::proto::chandata::ChannelData;
use turn::proto::channum::ChannelNumber;
use turn::proto::data::Data;
use turn::proto::lifetime::Lifetime;
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;
use turn::proto::reqfamily::REQUESTED_FAMILY_IPV6;
use turn::proto::reqtrans::RequestedTransport;

/// How long a request waits for its answer (retransmitted twice meanwhile).
const ANSWER_WITHIN: Duration = Duration::from_millis(1500);

/// A TURN server's answer to one request.
#[derive(Debug)]
pub enum Answer {
    Success(Message),
    /// An error response: its code and reason.
    Error(u16, String),
    /// No answer at all.
    Silence,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Success(_))
    }

    /// The error code, if it is an error response.
    pub fn code(&self) -> Option<u16> {
        match self {
            Answer::Error(code, _) => Some(*code),
            _ => None,
        }
    }

    /// The XOR-RELAYED-ADDRESS of a successful Allocate.
    pub fn relayed_address(&self) -> SocketAddr {
        let Answer::Success(m) = self else { panic!("no allocation: {self:?}") };
        let mut a = RelayedAddress::default();
        a.get_from(m).expect("a successful Allocate carries XOR-RELAYED-ADDRESS");
        SocketAddr::new(a.ip, a.port)
    }
}

/// Peer data the relay delivered to the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// A Data indication, with the peer's address.
    Indication(SocketAddr, Vec<u8>),
    /// ChannelData on a bound channel.
    Channel(u16, Vec<u8>),
}

/// A TURN client on one UDP socket, with long-term credentials
/// ([RFC 8489 §9.2](https://www.rfc-editor.org/rfc/rfc8489#section-9.2)): the
/// first request goes without them, the 401 brings the realm and nonce, and
/// every request after that carries USERNAME, REALM, NONCE and
/// MESSAGE-INTEGRITY.
pub struct RawTurn {
    socket: UdpSocket,
    server: SocketAddr,
    username: String,
    password: String,
    /// Realm and nonce from the server's last 401 or 438.
    challenge: Option<(String, String)>,
    /// Datagrams that arrived while a request waited for its answer.
    pending: VecDeque<Vec<u8>>,
}

impl RawTurn {
    /// A client on a fresh UDP socket bound to `local` (port 0).
    pub async fn new(local: IpAddr, server: SocketAddr, username: &str, password: &str) -> Self {
        let socket = UdpSocket::bind(SocketAddr::new(local, 0))
            .await
            .unwrap_or_else(|e| panic!("binding a TURN client on {local}: {e}"));
        Self {
            socket,
            server,
            username: username.into(),
            password: password.into(),
            challenge: None,
            pending: VecDeque::new(),
        }
    }

    /// The client's own transport address.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// A Binding request (no credentials): whether the server is up.
    pub async fn binding(&mut self) -> Answer {
        self.exchange(METHOD_BINDING, &|| Vec::new(), false).await
    }

    /// Allocate a UDP relayed address (IPv6 when `ipv6`).
    pub async fn allocate(&mut self, ipv6: bool) -> Answer {
        self.request(METHOD_ALLOCATE, &|| {
            let mut a: Vec<Box<dyn Setter>> = vec![Box::new(RequestedTransport { protocol: PROTO_UDP })];
            if ipv6 {
                a.push(Box::new(REQUESTED_FAMILY_IPV6));
            }
            a
        })
        .await
    }

    /// Refresh the allocation; a zero lifetime deletes it.
    pub async fn refresh(&mut self, lifetime: Duration) -> Answer {
        self.request(METHOD_REFRESH, &|| vec![Box::new(Lifetime(lifetime))]).await
    }

    pub async fn create_permission(&mut self, peer: SocketAddr) -> Answer {
        self.request(METHOD_CREATE_PERMISSION, &|| vec![peer_address(peer)]).await
    }

    /// Bind `channel` (0x4000-0x4FFF) to `peer`.
    pub async fn channel_bind(&mut self, channel: u16, peer: SocketAddr) -> Answer {
        self.request(METHOD_CHANNEL_BIND, &|| vec![Box::new(ChannelNumber(channel)), peer_address(peer)])
            .await
    }

    /// A Send indication: `data` for `peer` (no answer is ever sent).
    pub async fn send_indication(&self, peer: SocketAddr, data: &[u8]) {
        let mut m = Message::new();
        m.build(&[
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_SEND, CLASS_INDICATION)),
            peer_address(peer),
            Box::new(Data(data.to_vec())),
            Box::new(FINGERPRINT),
        ])
        .unwrap();
        self.socket.send_to(&m.raw, self.server).await.unwrap();
    }

    /// ChannelData: `data` on `channel`.
    pub async fn channel_data(&self, channel: u16, data: &[u8]) {
        let mut c = ChannelData { data: data.to_vec(), number: ChannelNumber(channel), raw: vec![] };
        c.encode();
        self.socket.send_to(&c.raw, self.server).await.unwrap();
    }

    /// The next peer data the relay delivers within `within`, if any.
    pub async fn delivered(&mut self, within: Duration) -> Option<Delivered> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let datagram = match self.pending.pop_front() {
                Some(d) => d,
                None => self.recv_until(deadline).await?,
            };
            if let Some(d) = parse_delivered(datagram) {
                return Some(d);
            }
        }
    }

    /// A request with credentials (after the first 401, or a 438 stale nonce).
    async fn request(&mut self, method: Method, attrs: &dyn Fn() -> Vec<Box<dyn Setter>>) -> Answer {
        let mut answer = Answer::Silence;
        for _ in 0..3 {
            let authenticated = self.challenge.is_some();
            answer = self.exchange(method, attrs, authenticated).await;
            let retry = match &answer {
                Answer::Error(401, _) if !authenticated => true,
                Answer::Error(438, _) => true,
                _ => false,
            };
            if !retry {
                return answer;
            }
        }
        answer
    }

    /// One transaction: sends the request (retransmitted until answered or
    /// [`ANSWER_WITHIN`]) and returns the answer with its transaction id.
    async fn exchange(
        &mut self,
        method: Method,
        attrs: &dyn Fn() -> Vec<Box<dyn Setter>>,
        authenticated: bool,
    ) -> Answer {
        let id = TransactionId::new();
        let mut setters: Vec<Box<dyn Setter>> =
            vec![Box::new(id), Box::new(MessageType::new(method, CLASS_REQUEST))];
        setters.extend(attrs());
        if authenticated {
            let (realm, nonce) = self.challenge.clone().expect("authenticated after a challenge");
            setters
                .push(Box::new(TextAttribute::new(stun::attributes::ATTR_USERNAME, self.username.clone())));
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

        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        let mut resend = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= resend {
                self.socket.send_to(&request.raw, self.server).await.unwrap();
                resend += ANSWER_WITHIN / 3;
            }
            let Some(datagram) = self.recv_until(resend.min(deadline)).await else {
                if tokio::time::Instant::now() >= deadline {
                    return Answer::Silence;
                }
                continue;
            };
            let mut m = Message::new();
            if m.unmarshal_binary(&datagram).is_err() || m.transaction_id != id {
                self.pending.push_back(datagram);
                continue;
            }
            if m.typ.class == CLASS_SUCCESS_RESPONSE {
                return Answer::Success(m);
            }
            if m.typ.class != CLASS_ERROR_RESPONSE {
                continue;
            }
            let text = |attr| m.get(attr).ok().and_then(|v| String::from_utf8(v).ok());
            if let (Some(realm), Some(nonce)) = (text(ATTR_REALM), text(ATTR_NONCE)) {
                self.challenge = Some((realm, nonce));
            }
            let mut e = ErrorCodeAttribute::default();
            return match e.get_from(&m) {
                Ok(()) => Answer::Error(e.code.0, String::from_utf8_lossy(&e.reason).into_owned()),
                Err(_) => Answer::Error(0, "error response without ERROR-CODE".into()),
            };
        }
    }

    async fn recv_until(&self, deadline: tokio::time::Instant) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 1500];
        match tokio::time::timeout_at(deadline, self.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) if from == self.server => Some(buf[..n].to_vec()),
            Ok(Ok((_, from))) => panic!("a datagram from {from}, not from the relay, reached the client"),
            Ok(Err(e)) => panic!("TURN client socket: {e}"),
            Err(_) => None,
        }
    }
}

fn peer_address(peer: SocketAddr) -> Box<dyn Setter> {
    Box::new(PeerAddress { ip: peer.ip(), port: peer.port() })
}

fn parse_delivered(datagram: Vec<u8>) -> Option<Delivered> {
    if ChannelData::is_channel_data(&datagram) {
        let mut c = ChannelData { raw: datagram, ..Default::default() };
        c.decode().ok()?;
        return Some(Delivered::Channel(c.number.0, c.data));
    }
    let mut m = Message::new();
    m.unmarshal_binary(&datagram).ok()?;
    if m.typ != MessageType::new(METHOD_DATA, CLASS_INDICATION) {
        return None;
    }
    let (mut peer, mut data) = (PeerAddress::default(), Data::default());
    peer.get_from(&m).ok()?;
    data.get_from(&m).ok()?;
    Some(Delivered::Indication(SocketAddr::new(peer.ip, peer.port), data.0))
}

/// The value of one sample line of a Prometheus text exposition, e.g.
/// `tandem_turn_relayed_bytes_total{direction="to_peer"}`; 0 when absent.
pub fn metric(text: &str, sample: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
}

/// Moves the calling thread — and the threads and processes it starts from
/// then on — into a new network namespace of its own, with the loopback
/// interface up and `addresses` (e.g. `10.9.9.9/32`, `2001:db8::1/128`) on
/// it. The namespace disappears with the last of them: no cleanup needed,
/// also on failure. Needs root (`scripts/test.sh` runs as root in CI).
pub fn own_network_namespace(addresses: &[&str]) {
    // libc is not a dependency of this crate; the standard library links the
    // C library, so its `unshare(2)` is declared here.
    unsafe extern "C" {
        fn unshare(flags: std::ffi::c_int) -> std::ffi::c_int;
    }
    const CLONE_NEWNET: std::ffi::c_int = 0x4000_0000;
    // SAFETY: a plain system call with no memory arguments; it changes only
    // this thread's network namespace, which nothing else in it uses yet.
    let rc = unsafe { unshare(CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET) needs root: {}", std::io::Error::last_os_error());
    ip(&["link", "set", "lo", "up"]);
    for a in addresses {
        if a.contains(':') {
            ip(&["-6", "addr", "add", a, "dev", "lo", "nodad"]);
        } else {
            ip(&["addr", "add", a, "dev", "lo"]);
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip (iproute2, scripts/debian-packages)");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// coturn (`turnserver`), running the configuration the signaling binary
/// generates; stopped (killed and reaped) when dropped.
pub struct Coturn {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// The UDP address clients reach it at.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// What to run coturn with.
pub struct CoturnSetup<'a> {
    pub secret: &'a str,
    pub realm: &'a str,
    /// Addresses it listens and relays on (`listening-ip`, `relay-ip`); the
    /// first one is the one clients use.
    pub ips: &'a [IpAddr],
    /// More `[turn]` settings (TOML lines), e.g. `user_quota = 2`.
    pub turn_settings: &'a str,
    /// Keep the generated `denied-peer-ip` lines. Without them coturn is an
    /// open relay: only for checking that the abuse probes can fail.
    pub deny_peers: bool,
}

impl Coturn {
    /// Generates `turnserver.conf` with `tandem-signaling turn coturn-config`,
    /// starts coturn with it, and waits until it answers a Binding request.
    /// A missing `turnserver` is a failure, not a silent pass (CI installs
    /// coturn: scripts/debian-packages/turn.txt).
    pub async fn start(setup: CoturnSetup<'_>) -> Self {
        let turnserver =
            which("turnserver").expect("turnserver (coturn) must be installed: scripts/test.sh installs it");
        let dir = tempfile::tempdir().unwrap();
        let first = setup.ips[0];
        let port = free_udp_port(first);
        let min = 40_000 + (port % 20) * 1000;
        let host = match first {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let settings = format!(
            "[turn]\nsecret = \"{}\"\nrealm = \"{}\"\nudp_urls = [\"turn:{host}:{port}\"]\n\
             listening_port = {port}\ntls_listening_port = {}\nmin_port = {min}\nmax_port = {}\n{}\n",
            setup.secret,
            setup.realm,
            free_udp_port(first),
            min + 999,
            setup.turn_settings,
        );
        std::fs::write(dir.path().join("tandem.toml"), settings).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tandem-signaling"))
            .args(["--config", dir.path().join("tandem.toml").to_str().unwrap(), "turn", "coturn-config"])
            .output()
            .unwrap();
        assert!(out.status.success(), "coturn-config: {}", String::from_utf8_lossy(&out.stderr));
        let mut conf = String::from_utf8(out.stdout).unwrap();
        if !setup.deny_peers {
            conf = conf
                .lines()
                .filter(|l| !l.starts_with("denied-peer-ip="))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        for ip in setup.ips {
            conf.push_str(&format!("listening-ip={ip}\nrelay-ip={ip}\n"));
        }
        let conf_path = dir.path().join("turnserver.conf");
        std::fs::write(&conf_path, &conf).unwrap();

        let mut child = Command::new(turnserver)
            .args(["-c", conf_path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let coturn = Coturn { child, log, addr: SocketAddr::new(first, port), _dir: dir };
        let mut probe = RawTurn::new(first, coturn.addr, "", "").await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !probe.binding().await.is_success() {
            assert!(tokio::time::Instant::now() < deadline, "coturn never answered:\n{}", coturn.log());
        }
        coturn
    }

    /// Everything coturn printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The configuration lines coturn refused ("Bad configuration format").
    pub fn refused_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().filter(|l| l.contains("Bad configuration format")).cloned().collect()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port(ip: IpAddr) -> u16 {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).unwrap().local_addr().unwrap().port()
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
}
