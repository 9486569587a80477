//! Signaling load generator (issue 2).
//!
//! ```text
//! cargo build --release -p tandem-signaling -p tandem-benches
//! target/release/signaling-load --sessions 10000
//! ```
//!
//! Starts `tandem-signaling` as a child process on a free loopback port with a
//! temporary data directory and a config that lifts the per-IP limits, creates
//! a CSR account, signs in, then opens N sessions (a CSR and a customer, one
//! WebSocket each), holds them all open and relays offer/answer/candidate
//! traffic through the server. It measures:
//!
//! - the set-up rate (sessions a second, create + join, both sockets opened);
//! - relay latency, one way (send to receive), from a timestamp carried in the
//!   SDP `o=` line or the candidate's foundation; both ends of a session live in
//!   the same process, so they share the clock;
//! - the sessions held: every session must complete one more full relay round
//!   after the load phase, with nothing disconnected;
//! - the server's RSS (`/proc/PID/status`) before any connection, with all
//!   sessions open, and after the load phase: KB per connection = delta / (2 N);
//!   also CPU time, of the server, of the load generator and of anything else
//!   (which should be ~0 for figures worth keeping).
//!
//! Results and their analysis: `BENCHMARKS.md`.
//!
//! The client side runs in worker processes (this binary again, hidden `worker`
//! subcommand): a process may not hold more file descriptors than its
//! RLIMIT_NOFILE hard limit, which is 20,000 on the machines this runs on, so
//! 20,000 client sockets need two. Each worker is a single-threaded Tokio
//! runtime with one task per session. Coordinator and workers talk in lines:
//! commands on the worker's stdin (`relay R SECS`, `verify`, `quit`), JSON
//! events on its stdout.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tandem_wire::{
    AuthToken, ClientMessage, DisplayName, IceCandidate, IceText, ParticipantId, Sdp, ServerMessage,
};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Relayed messages in one round: offer, answer, then `CANDIDATES` each way.
const CANDIDATES: u32 = 2;
const MSGS_PER_ROUND: u32 = 2 + 2 * CANDIDATES;
/// Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat.
const CLOCK_TICKS: f64 = 100.0;

#[derive(Parser)]
#[command(
    about = "Load generator for tandem-signaling: N sessions (CSR + customer WebSockets) held open and relaying."
)]
struct Cli {
    #[command(subcommand)]
    worker: Option<Hidden>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Sessions to open and hold (each is two WebSockets).
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// The server binary (build it with `cargo build --release -p tandem-signaling`).
    #[arg(long, env = "TANDEM_SIGNALING_BIN")]
    server_bin: Option<PathBuf>,
    /// Relayed messages a second, all sessions together, during the load phase.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// Seconds of the load phase.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Bytes of each SDP offer/answer (a browser's offer is 2-6 KB).
    #[arg(long, default_value_t = 2000)]
    sdp_bytes: usize,
    /// Most sessions per worker process (two sockets each; keep 2x under RLIMIT_NOFILE).
    #[arg(long, default_value_t = 5000)]
    sessions_per_worker: usize,
    /// Session set-ups in flight per worker.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Client source addresses 127.0.0.2.. to spread sockets over (ephemeral ports are per address).
    #[arg(long, default_value_t = 8)]
    source_ips: u8,
    /// Seconds to let the server settle after set-up before sampling its RSS.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    /// Write the server's log here instead of into the temporary directory.
    #[arg(long)]
    server_log: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Hidden {
    /// Internal: one client process, started by the coordinator.
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(clap::Args, Clone)]
struct WorkerArgs {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    token: String,
    #[arg(long)]
    first: usize,
    #[arg(long)]
    sessions: usize,
    #[arg(long)]
    concurrency: usize,
    #[arg(long)]
    source_ips: u8,
    #[arg(long)]
    sdp_bytes: usize,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.worker {
        Some(Hidden::Worker(args)) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(worker(args))),
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| {
                rt.block_on(async {
                    tokio::select! {
                        r = coordinate(cli.run) => r,
                        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
                    }
                })
            }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- coordinator

/// The server child process; killed when dropped (also on error and Ctrl-C).
struct ServerProc {
    child: std::process::Child,
    log: PathBuf,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// One reading of a process's resources.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    rss_kb: u64,
    hwm_kb: u64,
    cpu_secs: f64,
    fds: usize,
}

fn sample(pid: u32) -> anyhow::Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (has the process exited?)"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    Ok(ProcSample {
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
        cpu_secs: (ticks(11) + ticks(12)) / CLOCK_TICKS,
        fds,
    })
}

/// The soft RLIMIT_NOFILE of a process, from /proc/PID/limits.
fn nofile_limit(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn default_server_bin() -> PathBuf {
    // benches/ is one level under the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release").join("tandem-signaling")
}

/// A one-shot HTTP/1.1 request; returns the status and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP response: {text:.200}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Events from the workers, tagged with the worker's index.
type Events = mpsc::UnboundedReceiver<(usize, anyhow::Result<Value>)>;

struct Worker {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    pid: u32,
}

async fn command_all(workers: &mut [Worker], line: &str) -> anyhow::Result<()> {
    for w in workers.iter_mut() {
        w.stdin.write_all(format!("{line}\n").as_bytes()).await.context("a worker exited early")?;
        w.stdin.flush().await?;
    }
    Ok(())
}

/// Waits for event `kind` from every worker, sampling the server's RSS meanwhile (peak kept).
async fn gather(
    events: &mut Events,
    n: usize,
    kind: &str,
    server: &ServerProc,
    peak_rss: &mut u64,
) -> anyhow::Result<Vec<Value>> {
    let mut got: Vec<Option<Value>> = vec![None; n];
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while got.iter().any(Option::is_none) {
        tokio::select! {
            ev = events.recv() => {
                let (i, ev) = ev.ok_or_else(|| anyhow!("all workers exited"))?;
                let ev = ev.with_context(|| format!("worker {i}"))?;
                if ev["event"] == kind {
                    got[i] = Some(ev);
                } else if ev["event"] == "progress" {
                    eprintln!("  worker {i}: {}", ev["text"].as_str().unwrap_or(""));
                } else {
                    bail!("worker {i}: unexpected event while waiting for {kind}: {ev}");
                }
            }
            _ = tick.tick() => {
                let s = sample(server.pid()).with_context(|| format!("the server died; its log ends with:\n{}", server.log_tail()))?;
                *peak_rss = (*peak_rss).max(s.rss_kb);
            }
        }
    }
    Ok(got.into_iter().flatten().collect())
}

fn u32s(events: &[Value], key: &str) -> Vec<u32> {
    let mut v: Vec<u32> = events
        .iter()
        .filter_map(|e| e[key].as_array())
        .flatten()
        .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
        .collect();
    v.sort_unstable();
    v
}

fn sum(events: &[Value], key: &str) -> u64 {
    events.iter().filter_map(|e| e[key].as_u64()).sum()
}

/// The workers' errors ("N x text"), counted together; added to `into`.
fn errors(events: &[Value], into: &mut std::collections::BTreeMap<String, u64>) {
    for line in events.iter().filter_map(|e| e["errors"].as_array()).flatten().filter_map(Value::as_str) {
        let (n, text) = line.split_once(" x ").unwrap_or(("1", line));
        *into.entry(text.to_owned()).or_insert(0) += n.parse::<u64>().unwrap_or(1);
    }
}

/// The p-quantile (0..=1) of sorted samples.
fn pct(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(us: u32) -> String {
    format!("{:.2} ms", f64::from(us) / 1000.0)
}

/// CPU time all processes used so far (user, nice, system, steal; not interrupts), from /proc/stat.
fn system_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal
    [0, 1, 2, 7].iter().filter_map(|&i| f.get(i)).sum::<f64>() / CLOCK_TICKS
}

fn workers_cpu(workers: &[Worker]) -> f64 {
    workers.iter().filter_map(|w| sample(w.pid).ok()).map(|s| s.cpu_secs).sum()
}

async fn coordinate(args: RunArgs) -> anyhow::Result<()> {
    let bin = args.server_bin.clone().unwrap_or_else(default_server_bin);
    if !bin.is_file() {
        bail!(
            "server binary {} not found: build it first with `cargo build --release -p tandem-signaling` (or pass --server-bin)",
            bin.display()
        );
    }
    if args.sessions == 0 || args.sessions_per_worker == 0 || !(1..=250).contains(&args.source_ips) {
        bail!("--sessions and --sessions-per-worker must be positive, --source-ips 1 to 250");
    }
    let dir = tempfile::Builder::new().prefix("tandem-load-").tempdir()?;
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        "# Written by signaling-load: per-IP limits lifted, since every client comes from loopback.\n\
         [limits]\nmessages_per_sec = 100000\nmessage_burst = 100000\njoins_per_minute = 100000000\n\
         signins_per_minute = 1000\nmax_connections = 1000000\n\n[auth]\ntoken_ttl_secs = 86400\n",
    )?;
    let data = dir.path().join("data");
    let password = "load-test-password";

    let mut add = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["agent", "add", "Load CSR", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    add.stdin.take().expect("piped").write_all(format!("{password}\n").as_bytes())?;
    let out = add.wait_with_output()?;
    if !out.status.success() {
        bail!("agent add failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = args.server_log.clone().unwrap_or_else(|| dir.path().join("server.log"));
    let log_file = std::fs::File::create(&log)?;
    let server = ServerProc {
        child: std::process::Command::new(&bin)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--listen", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?,
        log,
    };
    let started = Instant::now();
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/healthz", "").await {
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            bail!("the server did not come up in 15 s; its log:\n{}", server.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = json!({"name": "Load CSR", "password": password}).to_string();
    let (status, reply) = http(addr, "POST", "/api/v1/signin", &body).await?;
    if status != 200 {
        bail!("sign-in failed: HTTP {status}: {reply}");
    }
    let token = serde_json::from_str::<Value>(&reply)?["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token in {reply}"))?
        .to_owned();

    let n = args.sessions;
    let pid = server.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = sample(pid)?;
    let limit = nofile_limit(pid);
    println!(
        "server pid {pid} at {addr}: {} KB RSS idle, {} fds open, open-files limit {}",
        base.rss_kb,
        base.fds,
        limit.map_or("?".into(), |l| l.to_string())
    );
    if let Some(limit) = limit
        && base.fds as u64 + 2 * n as u64 > limit
    {
        let most = (limit - base.fds as u64) / 2;
        eprintln!(
            "warning: the server's open-files limit is {limit} and it already has {} fds open: \
             it can hold at most {most} sessions ({} WebSockets), not {n}. \
             The hard limit cannot be raised here without CAP_SYS_RESOURCE.",
            base.fds,
            2 * most
        );
    }

    // Workers: equal shares of the sessions.
    let n_workers = n.div_ceil(args.sessions_per_worker);
    let exe = std::env::current_exe()?;
    let (ev_tx, mut events) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    let setup_start = Instant::now();
    let cpu0 = sample(pid)?.cpu_secs;
    let busy0 = system_busy_secs();
    let own0 = sample(std::process::id())?.cpu_secs;
    let mut first = 0;
    for i in 0..n_workers {
        let share = n / n_workers + usize::from(i < n % n_workers);
        let mut child = tokio::process::Command::new(&exe)
            .args(["worker", "--addr", &addr.to_string(), "--token", &token])
            .args(["--first", &first.to_string(), "--sessions", &share.to_string()])
            .args(["--concurrency", &args.concurrency.to_string()])
            .args(["--source-ips", &args.source_ips.to_string()])
            .args(["--sdp-bytes", &args.sdp_bytes.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        first += share;
        let stdout = child.stdout.take().expect("piped");
        let stdin = child.stdin.take().expect("piped");
        let tx = ev_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                let ev = match lines.next_line().await {
                    Ok(Some(l)) => serde_json::from_str(&l).map_err(|e| anyhow!("bad line {l:.100}: {e}")),
                    Ok(None) => Err(anyhow!("exited")),
                    Err(e) => Err(e.into()),
                };
                let stop = ev.is_err();
                if tx.send((i, ev)).is_err() || stop {
                    return;
                }
            }
        });
        let pid = child.id().unwrap_or(0);
        workers.push(Worker { child, stdin, pid });
    }
    drop(ev_tx);
    println!("opening {n} sessions ({} WebSockets) from {n_workers} worker process(es)...", 2 * n);
    let mut peak = base.rss_kb;
    let setup = gather(&mut events, n_workers, "setup", &server, &mut peak).await?;
    let setup_secs = setup_start.elapsed().as_secs_f64();
    // The rate counts until the last successful set-up (failed ones may wait for a timeout).
    let ok_secs = setup.iter().filter_map(|e| e["last_ok_secs"].as_f64()).fold(0.0, f64::max).max(1e-3);
    let setup_cpu = sample(pid)?.cpu_secs - cpu0;
    let setup_client_cpu = workers_cpu(&workers);
    let setup_other = system_busy_secs()
        - busy0
        - setup_cpu
        - setup_client_cpu
        - (sample(std::process::id())?.cpu_secs - own0);
    let opened = sum(&setup, "opened");
    let setup_failed = sum(&setup, "failed");
    let setup_lat = u32s(&setup, "setup_us");
    let mut errs = std::collections::BTreeMap::new();
    errors(&setup, &mut errs);
    println!(
        "set-up: {opened}/{n} sessions in {ok_secs:.1} s = {:.0} sessions/s (failed {setup_failed})",
        opened as f64 / ok_secs
    );

    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let held = sample(pid)?;
    peak = peak.max(held.rss_kb);
    let conns = 2 * opened;
    let per_conn_kb = (held.rss_kb.saturating_sub(base.rss_kb)) as f64 / conns.max(1) as f64;
    println!(
        "held: server {} KB RSS ({:+} KB, {per_conn_kb:.2} KB per connection), {} fds",
        held.rss_kb,
        held.rss_kb as i64 - base.rss_kb as i64,
        held.fds
    );

    // Load phase.
    let rounds_per_sec = f64::from(args.rate) / f64::from(MSGS_PER_ROUND) / n_workers as f64;
    println!(
        "relaying ~{} msgs/s for {} s ({} KB offers/answers, {CANDIDATES} candidates each way)...",
        args.rate,
        args.duration,
        args.sdp_bytes / 1000
    );
    let cpu1 = sample(pid)?.cpu_secs;
    let ccpu1 = workers_cpu(&workers);
    let busy1 = system_busy_secs();
    let own1 = sample(std::process::id())?.cpu_secs;
    let relay_start = Instant::now();
    command_all(&mut workers, &format!("relay {rounds_per_sec} {}", args.duration)).await?;
    let relay = gather(&mut events, n_workers, "relay", &server, &mut peak).await?;
    let relay_secs = relay_start.elapsed().as_secs_f64();
    let relay_cpu = sample(pid)?.cpu_secs - cpu1;
    let relay_client_cpu = workers_cpu(&workers) - ccpu1;
    let relay_other = system_busy_secs()
        - busy1
        - relay_cpu
        - relay_client_cpu
        - (sample(std::process::id())?.cpu_secs - own1);
    let after_relay = sample(pid)?;
    let kinds: Vec<Vec<u32>> = (0..4)
        .map(|k| {
            let mut v: Vec<u32> = relay
                .iter()
                .filter_map(|e| e["by_kind"][k].as_array())
                .flatten()
                .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    let mut lat: Vec<u32> = kinds.concat();
    lat.sort_unstable();
    let relayed = sum(&relay, "received");
    let rounds = sum(&relay, "rounds");
    let skipped = sum(&relay, "skipped");
    errors(&relay, &mut errs);

    // Everything still there? One more round on every session.
    command_all(&mut workers, "verify").await?;
    let verify = gather(&mut events, n_workers, "verify", &server, &mut peak).await?;
    let verified = sum(&verify, "verified");
    let disconnected = sum(&verify, "disconnected");
    let live_sessions = sum(&verify, "live");
    errors(&verify, &mut errs);
    let end = sample(pid)?;
    peak = peak.max(end.rss_kb);
    // Stop the server first: it then closes the connections actively, so the TIME_WAIT
    // states stay on its side and the next run finds the clients' ports free.
    drop(server);
    let _ = command_all(&mut workers, "quit").await;
    for w in &mut workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
    }

    // Report.
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let achieved = relayed as f64 / relay_secs;
    let p99 = pct(&lat, 0.99);
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    println!();
    println!("## signaling-load: {n} sessions, {} WebSockets ({cores} cores, {cpu_model})", 2 * n);
    println!();
    println!("| Measure | Result | Target | Met |");
    println!("|---|---|---|---|");
    println!(
        "| Sessions held (all open, each completing a relay round at the end) | {verified} / {n} ({} WebSockets) | 10,000 (20,000) | {} |",
        2 * verified,
        yes(verified >= 10_000)
    );
    println!(
        "| Session set-up rate | {:.0} sessions/s ({opened} in {ok_secs:.1} s, {} in flight) | - | - |",
        opened as f64 / ok_secs,
        args.concurrency * n_workers
    );
    println!(
        "| Set-up time per session p50 / p99 | {} / {} | - | - |",
        ms(pct(&setup_lat, 0.5)),
        ms(pct(&setup_lat, 0.99))
    );
    println!(
        "| Relay load | {achieved:.0} msgs/s for {relay_secs:.0} s ({relayed} msgs, {rounds} rounds) | - | - |"
    );
    println!(
        "| Relay latency p50 / p95 / p99 / max | {} / {} / {} / {} | p99 < 10 ms | {} |",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.95)),
        ms(p99),
        ms(lat.last().copied().unwrap_or(0)),
        yes(!lat.is_empty() && p99 < 10_000)
    );
    let names = ["offer", "answer", "candidate, first of a burst", "candidate, second of a burst"];
    for (name, v) in names.iter().zip(&kinds) {
        println!(
            "| - {name}: p50 / p99 / max ({} msgs) | {} / {} / {} | - | - |",
            v.len(),
            ms(pct(v, 0.5)),
            ms(pct(v, 0.99)),
            ms(v.last().copied().unwrap_or(0))
        );
    }
    println!(
        "| Server RSS idle / all held / after load / peak | {} / {} / {} / {} MB | - | - |",
        base.rss_kb / 1024,
        held.rss_kb / 1024,
        after_relay.rss_kb / 1024,
        peak.max(end.hwm_kb) / 1024
    );
    println!(
        "| Server RSS per connection, all held before any relay ((held - idle) / {conns}) | {per_conn_kb:.2} KB | < 15 KB | {} |",
        yes(per_conn_kb < 15.0)
    );
    let after_kb = (after_relay.rss_kb.saturating_sub(base.rss_kb)) as f64 / conns.max(1) as f64;
    println!(
        "| Server RSS per connection after the load phase ((after - idle) / {conns}) | {after_kb:.2} KB | < 15 KB | {} |",
        yes(after_kb < 15.0)
    );
    println!(
        "| Server CPU, set-up | {setup_cpu:.1} s in {setup_secs:.1} s ({:.0}% of one core) | - | - |",
        100.0 * setup_cpu / setup_secs
    );
    println!(
        "| Server CPU, load phase | {relay_cpu:.1} s in {relay_secs:.1} s ({:.0}% of one core) | - | - |",
        100.0 * relay_cpu / relay_secs
    );
    println!(
        "| Load generator CPU, set-up / load phase | {setup_client_cpu:.1} s / {relay_client_cpu:.1} s | - | - |"
    );
    println!(
        "| CPU used by other processes, set-up / load phase (should be ~0) | {:.1} s / {:.1} s | - | - |",
        setup_other.max(0.0),
        relay_other.max(0.0)
    );
    println!(
        "| Server fds idle / held; open-files limit | {} / {}; {} | - | - |",
        base.fds,
        held.fds,
        limit.map_or("?".into(), |l| l.to_string())
    );
    println!();
    println!(
        "set-up failures: {setup_failed}; disconnected during the run: {disconnected}; live at the end: {live_sessions}; rounds skipped (session busy): {skipped}"
    );
    for (e, count) in errs.iter().take(10) {
        println!("  error ({count}x): {e}");
    }
    drop(dir);
    if verified < n as u64 {
        bail!("only {verified} of {n} sessions held");
    }
    Ok(())
}

// --------------------------------------------------------------------- worker

type Ws = WebSocketStream<TcpStream>;

/// What the worker's driver tells a session task.
#[derive(Debug, Clone, Copy)]
enum Cmd {
    Round,
    Verify,
}

const PHASE_SETUP: u8 = 0;
const PHASE_RELAY: u8 = 1;
const PHASE_VERIFY: u8 = 2;

/// Counters and samples shared by a worker's session tasks (one thread: the locks are uncontended).
struct Stats {
    epoch: Instant,
    phase: AtomicU8,
    /// Relay latencies by kind: offer, answer, first candidate of a burst, later candidates.
    latency_us: Mutex<[Vec<u32>; 4]>,
    setup_us: Mutex<Vec<u32>>,
    received: AtomicU64,
    rounds_started: AtomicU64,
    rounds_done: AtomicU64,
    verified: AtomicU64,
    disconnected: AtomicU64,
    /// Error texts with how often each occurred.
    errors: Mutex<std::collections::BTreeMap<String, u64>>,
    /// When the last successful set-up finished (µs since `epoch`).
    last_setup_us: AtomicU64,
    sdp_pad: String,
}

impl Stats {
    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn error(&self, e: String) {
        *self.errors.lock().expect("not poisoned").entry(e).or_insert(0) += 1;
    }

    /// The errors so far, as "N x text", emptied.
    fn take_errors(&self) -> Vec<String> {
        let errs = std::mem::take(&mut *self.errors.lock().expect("not poisoned"));
        errs.into_iter().map(|(e, n)| format!("{n} x {e}")).collect()
    }
}

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let need = 2 * args.sessions as u64 + 64;
    let limit = rlimit::increase_nofile_limit(need).context("raising the open-files limit")?;
    if limit < need {
        bail!(
            "this worker needs {need} file descriptors but RLIMIT_NOFILE allows {limit}: lower --sessions-per-worker"
        );
    }
    let stats = Arc::new(Stats {
        epoch: Instant::now(),
        phase: AtomicU8::new(PHASE_SETUP),
        latency_us: Mutex::new(Default::default()),
        setup_us: Mutex::new(Vec::with_capacity(args.sessions)),
        received: AtomicU64::new(0),
        rounds_started: AtomicU64::new(0),
        rounds_done: AtomicU64::new(0),
        verified: AtomicU64::new(0),
        disconnected: AtomicU64::new(0),
        errors: Mutex::new(Default::default()),
        last_setup_us: AtomicU64::new(0),
        sdp_pad: sdp_padding(args.sdp_bytes),
    });
    let token = AuthToken::parse(args.token.clone()).map_err(|e| anyhow!("token: {e}"))?;

    // Set-up: `concurrency` sessions in flight; each task then runs its session.
    let sem = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Option<mpsc::Sender<Cmd>>>();
    let started = Instant::now();
    for i in args.first..args.first + args.sessions {
        let permit = sem.clone().acquire_owned().await?;
        let (stats, token, ready) = (stats.clone(), token.clone(), ready_tx.clone());
        let a = args.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let src = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(a.source_ips)) as u8);
            let r = open_session(i, a.addr, src, &token).await;
            drop(permit);
            match r {
                Ok(session) => {
                    let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                    stats.setup_us.lock().expect("not poisoned").push(us);
                    stats.last_setup_us.fetch_max(stats.now_us(), Ordering::SeqCst);
                    let (tx, rx) = mpsc::channel(4);
                    let _ = ready.send(Some(tx));
                    run_session(session, rx, stats).await;
                }
                Err(e) => {
                    stats.error(format!("set-up: {e:#}"));
                    let _ = ready.send(None);
                }
            }
        });
    }
    drop(ready_tx);
    let mut sessions = Vec::with_capacity(args.sessions);
    let mut failed = 0u64;
    for k in 0..args.sessions {
        match ready_rx.recv().await {
            Some(Some(tx)) => sessions.push(tx),
            Some(None) => failed += 1,
            None => break,
        }
        if (k + 1) % 2000 == 0 {
            emit(&json!({"event": "progress", "text": format!("{} sessions set up", k + 1)}));
        }
    }
    let setup_secs = started.elapsed().as_secs_f64();
    emit(&json!({
        "event": "setup",
        "opened": sessions.len(),
        "failed": failed,
        "secs": setup_secs,
        "last_ok_secs": stats.last_setup_us.load(Ordering::SeqCst) as f64 / 1e6,
        "setup_us": std::mem::take(&mut *stats.setup_us.lock().expect("not poisoned")),
        "errors": stats.take_errors(),
    }));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["relay", rate, secs] => {
                let rate: f64 = rate.parse()?;
                let secs: u64 = secs.parse()?;
                let ev = relay_phase(&sessions, &stats, rate, Duration::from_secs(secs)).await;
                emit(&ev);
            }
            ["verify"] => {
                let ev = verify_phase(&sessions, &stats).await;
                emit(&ev);
            }
            ["quit"] => break,
            _ => bail!("unknown command {line:?}"),
        }
    }
    Ok(())
}

/// Runs rounds at `rate` a second over all sessions in turn for `dur`, then lets them finish.
async fn relay_phase(sessions: &[mpsc::Sender<Cmd>], stats: &Stats, rate: f64, dur: Duration) -> Value {
    *stats.latency_us.lock().expect("not poisoned") = Default::default();
    stats.phase.store(PHASE_RELAY, Ordering::SeqCst);
    let received0 = stats.received.load(Ordering::SeqCst);
    let started0 = stats.rounds_started.load(Ordering::SeqCst);
    let done0 = stats.rounds_done.load(Ordering::SeqCst);
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let (mut issued, mut skipped, mut next) = (0u64, 0u64, 0usize);
    while start.elapsed() < dur && !sessions.is_empty() {
        tick.tick().await;
        let due = (start.elapsed().min(dur).as_secs_f64() * rate) as u64;
        while issued < due {
            if sessions[next % sessions.len()].try_send(Cmd::Round).is_err() {
                skipped += 1;
            }
            next += 1;
            issued += 1;
        }
    }
    // Let rounds in flight finish (they count; the phase ends when they have).
    let drain = Instant::now();
    while stats.rounds_done.load(Ordering::SeqCst) < stats.rounds_started.load(Ordering::SeqCst)
        && drain.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stats.phase.store(PHASE_VERIFY, Ordering::SeqCst);
    json!({
        "event": "relay",
        "secs": start.elapsed().as_secs_f64(),
        "received": stats.received.load(Ordering::SeqCst) - received0,
        "rounds": stats.rounds_done.load(Ordering::SeqCst) - done0,
        "started": stats.rounds_started.load(Ordering::SeqCst) - started0,
        "skipped": skipped,
        "by_kind": std::mem::take(&mut *stats.latency_us.lock().expect("not poisoned")),
        "errors": stats.take_errors(),
    })
}

/// One more round on every session, paced; counts the sessions that complete it.
async fn verify_phase(sessions: &[mpsc::Sender<Cmd>], stats: &Stats) -> Value {
    stats.phase.store(PHASE_VERIFY, Ordering::SeqCst);
    let mut live = 0u64;
    for chunk in sessions.chunks(200) {
        for tx in chunk {
            // A full queue means the task is busy but alive: wait for room.
            if tx.send(Cmd::Verify).await.is_ok() {
                live += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    while stats.verified.load(Ordering::SeqCst) < live && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    json!({
        "event": "verify",
        "live": live,
        "verified": stats.verified.load(Ordering::SeqCst),
        "disconnected": stats.disconnected.load(Ordering::SeqCst),
        "errors": stats.take_errors(),
    })
}

/// Both ends of one session.
struct Session {
    csr: Ws,
    cust: Ws,
    csr_id: ParticipantId,
    cust_id: ParticipantId,
}

/// Longest wait for any one step of a session's set-up.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one set-up step, naming it in the error (also when it times out).
async fn step<T>(what: &str, f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(r) => r.with_context(|| what.to_owned()),
        Err(_) => Err(anyhow!("{what}: no answer within {} s", STEP_TIMEOUT.as_secs())),
    }
}

async fn open_ws(who: &str, addr: SocketAddr, src: Ipv4Addr) -> anyhow::Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddrV4::new(src, 0).into()).with_context(|| format!("{who}: binding {src}:0"))?;
    let stream = step(&format!("{who}: TCP connect"), async { Ok(sock.connect(addr).await?) }).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let url = format!("ws://{addr}/ws");
    let (ws, _) = step(&format!("{who}: WebSocket handshake"), async {
        Ok(tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?)
    })
    .await?;
    Ok(ws)
}

async fn send(ws: &mut Ws, msg: &ClientMessage) -> anyhow::Result<()> {
    ws.send(Message::text(tandem_wire::encode(msg))).await?;
    Ok(())
}

/// The next protocol message (pings are answered by tungstenite while reading).
async fn recv(ws: &mut Ws) -> anyhow::Result<ServerMessage> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return tandem_wire::decode(t.as_str())
                    .map_err(|e| anyhow!("undecodable server message: {e}"));
            }
            Some(Ok(Message::Close(f))) => bail!("closed by the server: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("connection closed"),
        }
    }
}

/// Reads until `pick` accepts a message; a server error ends it.
async fn expect<T>(
    ws: &mut Ws,
    what: &str,
    mut pick: impl FnMut(ServerMessage) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        match recv(ws).await? {
            ServerMessage::Error { code, message, .. } => {
                bail!("waiting for {what}: {code:?}: {message}")
            }
            m => {
                if let Some(t) = pick(m) {
                    return Ok(t);
                }
            }
        }
    }
}

async fn open_session(
    i: usize,
    addr: SocketAddr,
    src: Ipv4Addr,
    token: &AuthToken,
) -> anyhow::Result<Session> {
    let mut csr = open_ws("CSR", addr, src).await?;
    step("CSR: hello", expect(&mut csr, "hello", |m| matches!(m, ServerMessage::Hello { .. }).then_some(())))
        .await?;
    send(
        &mut csr,
        &ClientMessage::CreateSession { token: token.clone(), session_type: None, tracking_code: None },
    )
    .await?;
    let created = expect(&mut csr, "session_created", |m| match m {
        ServerMessage::SessionCreated { session, participant_id, invite_token, .. } => {
            Some((session.session_number, invite_token, participant_id))
        }
        _ => None,
    });
    let (number, invite, csr_id) = step("CSR: create_session", created).await?;
    let mut cust = open_ws("customer", addr, src).await?;
    step(
        "customer: hello",
        expect(&mut cust, "hello", |m| matches!(m, ServerMessage::Hello { .. }).then_some(())),
    )
    .await?;
    let name = DisplayName::parse(format!("Customer {i}")).map_err(|e| anyhow!("{e}"))?;
    send(&mut cust, &ClientMessage::Join { session_number: number, name, invite_token: Some(invite) })
        .await?;
    let joined = expect(&mut cust, "joined", |m| match m {
        ServerMessage::Joined { participant_id, .. } => Some(participant_id),
        _ => None,
    });
    let cust_id = step("customer: join", joined).await?;
    Ok(Session { csr, cust, csr_id, cust_id })
}

/// SDP body after the timestamped `o=` line: realistic lines, padded to `bytes`.
fn sdp_padding(bytes: usize) -> String {
    let mut s = String::from(
        "s=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
         a=ice-ufrag:Wq3v\r\na=ice-pwd:8b3KxJ5rYl3nZ2pQ1oM4nR6s\r\na=ice-options:trickle\r\n\
         a=fingerprint:sha-256 4A:1B:7C:9D:2E:3F:50:61:72:83:94:A5:B6:C7:D8:E9:FA:0B:1C:2D:3E:4F:50:61:72:83:94:A5:B6:C7:D8:E9\r\n\
         a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n\
         a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n\
         a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n",
    );
    let mut k = 0;
    while s.len() < bytes.saturating_sub(40) {
        s.push_str(&format!("a=ssrc:{} cname:loadtest{k:06}\r\n", 1_000_000 + k));
        k += 1;
    }
    s
}

fn sdp(stats: &Stats, kind: &str) -> Sdp {
    let text =
        format!("v=0\r\no=- {} 2 IN IP4 127.0.0.1\r\n{}a=x-kind:{kind}\r\n", stats.now_us(), stats.sdp_pad);
    Sdp::parse(text).expect("a valid SDP")
}

fn candidate(stats: &Stats, k: u32) -> IceCandidate {
    let text = format!(
        "candidate:{} 1 udp 2122260223 127.0.0.1 {} typ host generation 0",
        stats.now_us(),
        50_000 + k
    );
    IceCandidate {
        candidate: IceText::parse(text).expect("valid"),
        sdp_mid: Some(IceText::parse("0").expect("valid")),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    }
}

/// The send timestamp carried by a relayed message.
fn stamp(msg: &ServerMessage) -> Option<u64> {
    let text = match msg {
        ServerMessage::Offer { sdp, .. } | ServerMessage::Answer { sdp, .. } => {
            sdp.as_str().split_once("o=- ")?.1
        }
        ServerMessage::Candidate { ice, .. } => ice.candidate.as_str().strip_prefix("candidate:")?,
        _ => return None,
    };
    text.split(' ').next()?.parse().ok()
}

/// Where a session is in its round.
#[derive(Default)]
struct Round {
    active: bool,
    verify: bool,
    queued: u32,
    queued_verify: bool,
    to_customer: u32,
    to_csr: u32,
}

/// Holds one session: reads both sockets, answers relayed messages, runs rounds on command.
async fn run_session(mut s: Session, mut cmds: mpsc::Receiver<Cmd>, stats: Arc<Stats>) {
    let mut round = Round::default();
    let mut commands_open = true;
    let result: anyhow::Result<()> = async {
        loop {
            tokio::select! {
                m = recv(&mut s.csr) => {
                    let m = m.context("CSR socket")?;
                    if on_message(&stats, &m, round.to_csr)? {
                        // The customer's answer, then its candidates.
                        if matches!(m, ServerMessage::Answer { .. }) {
                            for k in 0..CANDIDATES {
                                send(&mut s.csr, &ClientMessage::Candidate { to: s.cust_id, ice: candidate(&stats, k) }).await?;
                            }
                        } else {
                            round.to_csr += 1;
                            if round.to_csr == CANDIDATES {
                                finish_round(&stats, &mut round);
                                if round.queued > 0 {
                                    round.queued -= 1;
                                    let verify = std::mem::take(&mut round.queued_verify);
                                    start_round(&stats, &mut s, &mut round, verify).await?;
                                }
                            }
                        }
                    }
                }
                m = recv(&mut s.cust) => {
                    let m = m.context("customer socket")?;
                    if on_message(&stats, &m, round.to_customer)? {
                        if matches!(m, ServerMessage::Offer { .. }) {
                            send(&mut s.cust, &ClientMessage::Answer { to: s.csr_id, sdp: sdp(&stats, "answer") }).await?;
                        } else {
                            round.to_customer += 1;
                            if round.to_customer == CANDIDATES {
                                for k in 0..CANDIDATES {
                                    send(&mut s.cust, &ClientMessage::Candidate { to: s.csr_id, ice: candidate(&stats, k) }).await?;
                                }
                            }
                        }
                    }
                }
                c = cmds.recv(), if commands_open => match c {
                    Some(c) => {
                        let verify = matches!(c, Cmd::Verify);
                        if round.active {
                            round.queued += 1;
                            round.queued_verify |= verify;
                        } else {
                            start_round(&stats, &mut s, &mut round, verify).await?;
                        }
                    }
                    None => commands_open = false,
                },
            }
        }
    }
    .await;
    if let Err(e) = result {
        stats.disconnected.fetch_add(1, Ordering::SeqCst);
        stats.error(format!("{e:#}"));
    }
}

async fn start_round(stats: &Stats, s: &mut Session, round: &mut Round, verify: bool) -> anyhow::Result<()> {
    round.active = true;
    round.verify |= verify;
    round.to_customer = 0;
    round.to_csr = 0;
    stats.rounds_started.fetch_add(1, Ordering::SeqCst);
    send(&mut s.csr, &ClientMessage::Offer { to: s.cust_id, sdp: sdp(stats, "offer") }).await
}

fn finish_round(stats: &Stats, round: &mut Round) {
    round.active = false;
    stats.rounds_done.fetch_add(1, Ordering::SeqCst);
    if std::mem::take(&mut round.verify) {
        stats.verified.fetch_add(1, Ordering::SeqCst);
    }
}

/// Records a relayed message's latency (`candidates_before`: candidates already
/// received in this round on this socket); true for relayed messages, false for
/// others (participant lists); a server error is an error.
fn on_message(stats: &Stats, m: &ServerMessage, candidates_before: u32) -> anyhow::Result<bool> {
    let kind = match m {
        ServerMessage::Offer { .. } => 0,
        ServerMessage::Answer { .. } => 1,
        _ => 2 + usize::from(candidates_before > 0),
    };
    match m {
        ServerMessage::Offer { .. } | ServerMessage::Answer { .. } | ServerMessage::Candidate { .. } => {
            let sent = stamp(m).ok_or_else(|| anyhow!("relayed message without a timestamp"))?;
            let us = u32::try_from(stats.now_us().saturating_sub(sent)).unwrap_or(u32::MAX);
            stats.received.fetch_add(1, Ordering::Relaxed);
            if stats.phase.load(Ordering::Relaxed) == PHASE_RELAY {
                stats.latency_us.lock().expect("not poisoned")[kind].push(us);
            }
            Ok(true)
        }
        ServerMessage::Error { code, message, in_reply_to } => {
            bail!("server error {code:?} ({message}) in reply to {in_reply_to:?}")
        }
        ServerMessage::SessionEnded { reason } => bail!("session ended: {reason:?}"),
        _ => Ok(false),
    }
}
