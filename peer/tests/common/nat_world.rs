//! The "small Internet" of the NAT tests (issue 5, NET-2) with its servers:
//! the topology of [`netns`](crate::common::netns), the signaling server on
//! the public segment over HTTPS (a self-signed certificate for
//! [`SERVER_IP`]), and the STUN/TURN relay, embedded or coturn from the
//! generated configuration. Included by the test files that use it
//! (`#[path = "common/nat_world.rs"] mod nat_world;`), next to `mod common;`.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::time::Duration;

use crate::common::netns::{Firewall, Host, Nat, SERVER_IP, Topology};
use crate::common::{DEADLINE, start_server_with};
use tandem_peer::link::Path;
use tandem_signaling::server::RunningServer;
use tandem_wire::CandidateType;

pub const SIGNALING_PORT: u16 = 8080;
pub const TURN_PORT: u16 = 3478;
pub const TURN_TLS_PORT: u16 = 5349;
const SECRET: &str = "nat-test-secret-0123456789abcdef";

/// Which relay serves the public segment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    /// The signaling server's own (UDP).
    Embedded,
    /// coturn from the generated configuration, on UDP, TCP and TLS.
    Coturn,
}

pub struct World {
    pub topology: Topology,
    _server: RunningServer,
    pub url: String,
    /// The private CA of coturn's TLS certificate, for the peers.
    pub tls_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// The same certificate as a PEM file (the signaling server's HTTPS and coturn's TLS).
    pub cert_pem: PathBuf,
    /// The server's data and coturn's files.
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

pub async fn world(nat_a: Nat, nat_b: Nat, firewall_a: Firewall, relay: Relay) -> World {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut topology = Topology::new(nat_a, nat_b, firewall_a);
    let dir = tempfile::tempdir().unwrap();
    // One certificate for the public host: the signaling server's HTTPS and coturn's TLS.
    let cert = rcgen::generate_simple_self_signed(vec![SERVER_IP.to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let tls_roots = vec![cert.cert.der().clone()];
    let mut turn = tandem_turn_config::TurnSettings::default();
    if relay == Relay::Coturn {
        turn = tandem_turn_config::TurnSettings {
            secret: Some(SECRET.into()),
            realm: "tandem.test".into(),
            stun_urls: vec![format!("stun:{SERVER_IP}:{TURN_PORT}")],
            udp_urls: vec![format!("turn:{SERVER_IP}:{TURN_PORT}?transport=udp")],
            tcp_urls: vec![format!("turn:{SERVER_IP}:{TURN_PORT}?transport=tcp")],
            tls_urls: vec![format!("turns:{SERVER_IP}:{TURN_TLS_PORT}?transport=tcp")],
            tls_cert: Some(cert_path.clone()),
            tls_key: Some(key_path.clone()),
            listening_port: TURN_PORT,
            tls_listening_port: TURN_TLS_PORT,
            min_port: 49152,
            max_port: 49999,
            ..turn
        };
        let mut conf = tandem_turn_config::coturn::turnserver_conf(&turn.clone().validate().unwrap());
        conf.push_str(&format!("listening-ip={SERVER_IP}\nrelay-ip={SERVER_IP}\nlog-file=stdout\n"));
        let conf_path = dir.path().join("turnserver.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let coturn = topology.spawn(Host::Public, "turnserver", &["-c", conf_path.to_str().unwrap()]);
        // Its log goes nowhere, but must be read: a full pipe would stall the relay.
        let outputs: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            coturn.stdout.take().map(|o| Box::new(o) as Box<_>),
            coturn.stderr.take().map(|e| Box::new(e) as Box<_>),
        ];
        for mut output in outputs.into_iter().flatten() {
            std::thread::spawn(move || std::io::copy(&mut output, &mut std::io::sink()));
        }
    }
    let public = topology.runtime(Host::Public);
    let server_cert = cert_path.clone();
    let (server, data_dir) = public
        .spawn(start_server_with(move |config| {
            config.listen = format!("{SERVER_IP}:{SIGNALING_PORT}").parse().unwrap();
            // This checkout's web client (the server's default is where its crate was built).
            config.web_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../web").into();
            config.tls.cert = Some(server_cert);
            config.tls.key = Some(key_path);
            if relay == Relay::Coturn {
                config.relay.enabled = false;
                config.turn = turn;
            }
        }))
        .await
        .unwrap();
    if relay == Relay::Coturn {
        // coturn listens once it has read its configuration and the certificate.
        public
            .spawn(async {
                for port in [TURN_PORT, TURN_TLS_PORT] {
                    let deadline = tokio::time::Instant::now() + DEADLINE;
                    while tokio::net::TcpStream::connect((SERVER_IP, port)).await.is_err() {
                        assert!(tokio::time::Instant::now() < deadline, "coturn does not listen on {port}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
            .await
            .unwrap();
    }
    let url = server.url.clone();
    World { topology, _server: server, url, tls_roots, cert_pem: cert_path, _dirs: (data_dir, dir) }
}

/// Either end of the selected pair is a relay candidate.
pub fn relayed(path: &Path) -> bool {
    path.local == CandidateType::Relay || path.remote == CandidateType::Relay
}
