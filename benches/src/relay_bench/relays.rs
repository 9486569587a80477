//! The two relays under test, each a child process on 127.0.0.1 whose CPU
//! time is read from `/proc/PID/stat`:
//!
//! - **embedded**: the signaling server with its embedded TURN relay, as
//!   `tandem-signaling serve` runs it (`--server-bin`), or by default this
//!   binary's hidden `embedded-relay` subcommand, which calls the same
//!   `tandem_signaling::server::start` on the same multi-threaded Tokio
//!   runtime (so the bench needs no other build);
//! - **coturn**: `turnserver` with the configuration `tandem-signaling turn
//!   coturn-config` generates (same secret and realm), plus the loopback
//!   test lines (`listening-ip`, `relay-ip`, `allow-loopback-peers`).
//!
//! Both accept the REST credentials minted from [`SECRET`], and both are
//! killed when dropped, also on error and Ctrl-C.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use tandem_turn_config::{CredentialMinter, TurnSettings};

use super::turn_client::TurnAllocation;

/// The shared secret of both relays and of the signaling server that mints credentials for them.
pub const SECRET: &str = "relay-bench-secret-0123456789";
pub const REALM: &str = "tandem.bench";

/// Which relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayKind {
    Embedded,
    Coturn,
}

impl RelayKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded (webrtc-rs turn)",
            Self::Coturn => "coturn 4.6",
        }
    }
}

/// A relay child process.
pub struct RelayProc {
    pub kind: RelayKind,
    /// Its TURN listener (UDP).
    pub addr: SocketAddr,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProc {
    /// Starts the embedded relay: `server_bin` (`tandem-signaling`) or this binary's `embedded-relay`.
    pub fn embedded(server_bin: Option<&Path>, ports: (u16, u16)) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("relay-bench-embedded-").tempdir()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_udp_port()?));
        let http = free_tcp_port()?;
        let config = dir.path().join("tandem.toml");
        std::fs::write(
            &config,
            format!(
                "# Written by relay-bench: loopback only, loopback peers allowed (tests only).\n\
                 listen = \"127.0.0.1:{http}\"\ndata_dir = {data:?}\n\n\
                 [turn]\nsecret = \"{SECRET}\"\nrealm = \"{REALM}\"\nallow_loopback_peers = true\n\
                 min_port = {}\nmax_port = {}\n\n[relay]\nlisten = \"{addr}\"\n",
                ports.0,
                ports.1,
                data = dir.path().join("data"),
            ),
        )?;
        let mut cmd = match server_bin {
            Some(bin) => {
                let mut c = Command::new(bin);
                c.arg("--config").arg(&config).arg("serve");
                c
            }
            None => {
                let mut c = Command::new(std::env::current_exe()?);
                c.arg("embedded-relay").arg("--config").arg(&config);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::piped()) // the embedded-relay subcommand stops when its stdin closes
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the embedded relay")?;
        Self::started(RelayKind::Embedded, addr, child, dir)
    }

    /// Starts coturn with the generated configuration.
    pub fn coturn(ports: (u16, u16)) -> anyhow::Result<Self> {
        let turnserver = which("turnserver").context(
            "turnserver (coturn) is not installed: apt-get install -y --no-install-recommends coturn",
        )?;
        let dir = tempfile::Builder::new().prefix("relay-bench-coturn-").tempdir()?;
        let port = free_udp_port()?;
        let settings = TurnSettings {
            secret: Some(SECRET.into()),
            realm: REALM.into(),
            udp_urls: vec![format!("turn:127.0.0.1:{port}")],
            listening_port: port,
            tls_listening_port: free_tcp_port()?,
            min_port: ports.0,
            max_port: ports.1,
            allow_loopback_peers: true,
            ..TurnSettings::default()
        };
        let turn = settings.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut conf = tandem_turn_config::coturn::turnserver_conf(&turn);
        conf.push_str("# relay-bench: loopback only\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\n");
        let path = dir.path().join("turnserver.conf");
        std::fs::write(&path, conf)?;
        let child = Command::new(turnserver)
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting turnserver")?;
        Self::started(RelayKind::Coturn, SocketAddr::from(([127, 0, 0, 1], port)), child, dir)
    }

    /// Collects the child's output and waits until it allocates.
    fn started(
        kind: RelayKind,
        addr: SocketAddr,
        mut child: Child,
        dir: tempfile::TempDir,
    ) -> anyhow::Result<Self> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let relay = Self { kind, addr, child, log, _dir: dir };
        let started = Instant::now();
        loop {
            match relay.allocate(&format!("ready-{}", std::process::id())) {
                Ok(mut a) => {
                    a.release();
                    return Ok(relay);
                }
                Err(e) if started.elapsed() > Duration::from_secs(15) => {
                    bail!("{} did not allocate within 15 s: {e:#}\n{}", kind.name(), relay.log_tail())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A fresh allocation with a credential for participant `id`.
    pub fn allocate(&self, id: &str) -> anyhow::Result<TurnAllocation> {
        let cred = minter().mint(id, SystemTime::now());
        TurnAllocation::allocate(self.addr, &cred.username, &cred.password)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime of the whole process so far.
    pub fn cpu(&self) -> Duration {
        crate::proc_cpu::pid_cpu(self.pid())
    }

    /// Threads of the process now (`/proc/PID/status`).
    pub fn threads(&self) -> usize {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Threads:")).map(|v| v.trim().to_owned()))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log[log.len().saturating_sub(20)..].join("\n")
    }

    /// Lines of its log that contain `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().filter(|l| l.contains(needle)).cloned().collect()
    }
}

/// The credential minter both relays check against (10-minute credentials, as the server mints).
pub fn minter() -> CredentialMinter {
    CredentialMinter::new(SECRET, Duration::from_secs(600))
}

pub fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
}

/// The hidden `embedded-relay` subcommand: what `tandem-signaling serve` does
/// with `config`, until stdin closes (the parent exited or dropped us).
pub fn serve_embedded(config: &Path) -> anyhow::Result<()> {
    let config = tandem_signaling::config::Config::from_file(config)?;
    config.validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let server = tandem_signaling::server::start(config).await?;
        eprintln!("embedded relay on {:?}", server.relay_addr);
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        server.shutdown().await
    })
}
