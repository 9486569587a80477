//! TURN relay benchmark (issue 5): the embedded relay against coturn, side by
//! side in one run on loopback; figures go to BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p tandem-benches
//! target/release/relay-bench            # about 2 minutes
//! ```
//!
//! 1. **Throughput and CPU.** Both relays run as child processes (see
//!    `relay_bench/relays.rs`). For each, a client allocates with a minted
//!    REST credential and binds a channel to a UDP socket on 127.0.0.1 (the
//!    "peer"). Then, for each offered rate, it sends 1,200-byte payloads for
//!    `--seconds`: as ChannelData from the client (client → relay → peer),
//!    and raw from the peer, which the relay wraps in ChannelData (peer →
//!    relay → client). Counted at the receiving end: packets/s, Mbit/s of
//!    payload, loss; from `/proc/PID/stat`: the relay process's CPU time over
//!    the run, hence packets per CPU-second ("per core"). Sender and receiver
//!    use `sendmmsg`/`recvmmsg` on their own threads, whose CPU is reported
//!    too, so a client bottleneck shows. The two relays take turns at each
//!    rate, so neither runs while the other is measured.
//! 2. **Join to first frame through the relay** (`relay_bench/first_frame.rs`):
//!    two native peers in this process with the relay-only ICE policy, the
//!    media through each relay in turn, `--joins` times each; p50 and p95.

#[path = "../relay_bench/blast.rs"]
mod blast;
#[path = "../relay_bench/first_frame.rs"]
mod first_frame;
#[path = "../relay_bench/relays.rs"]
mod relays;
#[path = "../relay_bench/turn_client.rs"]
mod turn_client;

#[path = "../machine.rs"]
mod machine;
#[path = "../proc_cpu.rs"]
mod proc_cpu;

use machine::{cpu_model, kernel, nproc};

use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use blast::{Framing, Receiver};
use clap::{Parser, Subcommand};
use relays::{RelayKind, RelayProc};
use tandem_wire::CandidateType;
use turn_client::TurnAllocation;

#[derive(Parser)]
#[command(about = "TURN relay benchmark: the embedded relay and coturn side by side on loopback (issue 5)")]
struct Cli {
    #[command(subcommand)]
    hidden: Option<Hidden>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Offered rates, packets a second; `max` sends as fast as one thread can.
    #[arg(long, value_delimiter = ',', default_value = "20000,50000,max")]
    rates: Vec<Rate>,
    /// Also measure peer → relay → client at each rate.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    reverse: bool,
    /// Joins per relay for the time to the first frame (0: skip).
    #[arg(long, default_value_t = 10)]
    joins: usize,
    /// Skip the throughput part.
    #[arg(long)]
    skip_throughput: bool,
    /// Run the embedded relay as this `tandem-signaling` binary (`serve`) instead of
    /// this program's `embedded-relay` subcommand, which runs the same server code.
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Hidden {
    /// Internal: the signaling server with its embedded relay, as `serve` runs it, until stdin closes.
    #[command(hide = true)]
    EmbeddedRelay {
        #[arg(long)]
        config: PathBuf,
    },
}

/// An offered rate.
#[derive(Debug, Clone, Copy)]
enum Rate {
    Fixed(f64),
    Max,
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "max" => Ok(Self::Max),
            n => n.parse::<f64>().ok().filter(|r| *r > 0.0).map(Self::Fixed).ok_or(format!("bad rate {n:?}")),
        }
    }
}

impl Rate {
    fn per_sec(self) -> Option<f64> {
        match self {
            Self::Fixed(r) => Some(r),
            Self::Max => None,
        }
    }

    fn label(self) -> String {
        match self {
            Self::Fixed(r) => thousands(r),
            Self::Max => "max".into(),
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.hidden {
        Some(Hidden::EmbeddedRelay { config }) => relays::serve_embedded(&config),
        None => run(cli.run),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    // `RUST_LOG=tandem_peer=debug,webrtc=debug` shows what the peers of part 2 do.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let started = Instant::now();
    println!("# TURN relay benchmark\n");
    println!("machine: {} cores; {}; Linux {}\n", nproc(), cpu_model(), kernel());
    let embedded = RelayProc::embedded(args.server_bin.as_deref(), (42_000, 42_999))?;
    let coturn = RelayProc::coturn((43_000, 43_999))?;
    for r in [&embedded, &coturn] {
        println!("- {}: pid {}, UDP {}, {} threads", r.kind.name(), r.pid(), r.addr, r.threads());
    }
    let mut unsupported = coturn.log_lines("Bad configuration format");
    unsupported.dedup();
    if !unsupported.is_empty() {
        println!("- coturn ignored these generated lines: {}", unsupported.join("; "));
    }
    println!();
    if !args.skip_throughput {
        throughput(&args, &[&embedded, &coturn])?;
    }
    if args.joins > 0 {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        runtime.block_on(joins(&args, &[&embedded, &coturn]))?;
    }
    println!("\ntotal time {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------- part 1

#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    /// Client → relay → peer: ChannelData in, raw UDP out.
    ToPeer,
    /// Peer → relay → client: raw UDP in, ChannelData out.
    ToClient,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Self::ToPeer => "client → peer",
            Self::ToClient => "peer → client",
        }
    }
}

/// One relay's allocation and its two ends.
struct Rig<'a> {
    relay: &'a RelayProc,
    alloc: TurnAllocation,
    client: Arc<UdpSocket>,
    peer: Arc<UdpSocket>,
}

impl<'a> Rig<'a> {
    fn new(relay: &'a RelayProc, id: &str) -> anyhow::Result<Self> {
        let mut alloc = relay.allocate(id).with_context(|| format!("allocating on {}", relay.kind.name()))?;
        let peer = blast::socket()?;
        peer.connect(alloc.relayed)?; // it only ever talks to the relayed address
        alloc.bind_channel(peer.local_addr()?).context("ChannelBind")?;
        let client = Arc::new(alloc.socket.try_clone()?);
        blast::tune(&client)?;
        Ok(Self { relay, alloc, client, peer: Arc::new(peer) })
    }
}

/// One measurement.
struct Point {
    kind: RelayKind,
    direction: Direction,
    rate: Rate,
    sent: u64,
    received: u64,
    secs: f64,
    relay_cpu: f64,
    sender_cpu: f64,
    receiver_cpu: f64,
    /// CPU used by anything but the relay and this program (should be ~0).
    other_cpu: f64,
    softirq: f64,
}

impl Point {
    fn pps(&self) -> f64 {
        self.received as f64 / self.secs
    }
    fn mbps(&self) -> f64 {
        self.pps() * (blast::PAYLOAD * 8) as f64 / 1e6
    }
    fn loss(&self) -> f64 {
        1.0 - self.received as f64 / self.sent.max(1) as f64
    }
    fn per_cpu_sec(&self) -> f64 {
        if self.relay_cpu > 0.0 { self.received as f64 / self.relay_cpu } else { f64::NAN }
    }
}

/// Other programs may use up to this share of one core during a measurement…
const NOISE: f64 = 0.10;
/// …or it is taken again, at most this many times in all.
const TRIES: u32 = 3;

fn throughput(args: &RunArgs, relays: &[&RelayProc]) -> anyhow::Result<()> {
    let mut rigs = relays
        .iter()
        .enumerate()
        .map(|(i, r)| Rig::new(r, &format!("00000000000000b{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let length = Duration::from_secs(args.seconds);
    let directions: &[Direction] =
        if args.reverse { &[Direction::ToPeer, Direction::ToClient] } else { &[Direction::ToPeer] };
    let mut points = Vec::new();
    let mut run_id = 1u32;
    for &direction in directions {
        for &rate in &args.rates {
            for rig in &mut rigs {
                // Another program's CPU use skews both the rate and the relay's CPU time: measure again.
                let mut tries = 0;
                let p = loop {
                    let p = measure(rig, direction, rate, length, run_id)?;
                    run_id += 1;
                    tries += 1;
                    if p.other_cpu <= NOISE * p.secs || tries == TRIES {
                        break p;
                    }
                    eprintln!(
                        "  {} {} {}: other programs used {:.0} % of a core, measuring again",
                        p.kind.name(),
                        direction.label(),
                        rate.label(),
                        100.0 * p.other_cpu / p.secs
                    );
                };
                eprintln!(
                    "  {} {} {}: {} pkt/s, loss {:.2} %, relay CPU {:.2} s",
                    p.kind.name(),
                    direction.label(),
                    rate.label(),
                    thousands(p.pps()),
                    p.loss() * 100.0,
                    p.relay_cpu
                );
                points.push(p);
            }
        }
    }
    for rig in &mut rigs {
        rig.alloc.release();
    }

    println!(
        "## Relayed throughput: 1,200-byte payloads, ChannelData on the client side, {} s per run\n",
        args.seconds
    );
    println!(
        "| Relay | Direction | Offered pkt/s | Delivered pkt/s | Mbit/s (payload) | Loss | Relay CPU (% of one core) | Pkts per relay CPU-second | Sender / receiver thread CPU | Other programs' CPU | softirq |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for p in &points {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} % | {:.0} % | {} | {:.0} % / {:.0} % | {:.0} %{} | {:.0} % |",
            p.kind.name(),
            p.direction.label(),
            p.rate.label(),
            thousands(p.pps()),
            p.mbps(),
            p.loss() * 100.0,
            100.0 * p.relay_cpu / p.secs,
            thousands(p.per_cpu_sec()),
            100.0 * p.sender_cpu / p.secs,
            100.0 * p.receiver_cpu / p.secs,
            100.0 * p.other_cpu / p.secs,
            if p.other_cpu > NOISE * p.secs { " (noisy)" } else { "" },
            100.0 * p.softirq / p.secs,
        );
    }
    println!("\n### Embedded ÷ coturn\n");
    println!("| Direction | Offered pkt/s | Delivered pkt/s | Pkts per relay CPU-second (target ≥ 1.0) |");
    println!("|---|---|---|---|");
    for pair in points.chunks(2) {
        let [e, c] = pair else { continue };
        println!(
            "| {} | {} | {:.2} | **{:.2}** |",
            e.direction.label(),
            e.rate.label(),
            e.pps() / c.pps(),
            e.per_cpu_sec() / c.per_cpu_sec()
        );
    }
    println!();
    Ok(())
}

fn measure(
    rig: &mut Rig,
    direction: Direction,
    rate: Rate,
    length: Duration,
    run: u32,
) -> anyhow::Result<Point> {
    // Keep the allocation and the channel (and its permission) fresh, whatever the length of the whole run.
    rig.alloc.refresh().context("Refresh")?;
    rig.alloc.bind_channel(rig.peer.local_addr()?).context("ChannelBind refresh")?;
    std::thread::sleep(Duration::from_millis(200)); // let the previous run's packets drain
    let (from, to, out_framing, in_framing) = match direction {
        Direction::ToPeer => (&rig.client, &rig.peer, Framing::ChannelData, Framing::Raw),
        Direction::ToClient => (&rig.peer, &rig.client, Framing::Raw, Framing::ChannelData),
    };
    let receiver = Receiver::spawn(to.clone(), in_framing, run);
    let relay0 = rig.relay.cpu();
    let own0 = proc_cpu::pid_cpu(std::process::id());
    let (busy0, soft0) = proc_cpu::machine_cpu_and_softirq();
    let sent = blast::send(from, out_framing, run, rate.per_sec(), length);
    std::thread::sleep(Duration::from_millis(300)); // what is still queued in the relay arrives
    let received = receiver.finish();
    let relay_cpu = (rig.relay.cpu() - relay0).as_secs_f64();
    let own = (proc_cpu::pid_cpu(std::process::id()) - own0).as_secs_f64();
    let (busy1, soft1) = proc_cpu::machine_cpu_and_softirq();
    if received.packets == 0 {
        bail!(
            "{} relayed nothing {}; its log:\n{}",
            rig.relay.kind.name(),
            direction.label(),
            rig.relay.log_tail()
        );
    }
    Ok(Point {
        kind: rig.relay.kind,
        direction,
        rate,
        sent: sent.packets,
        received: received.packets,
        secs: sent.elapsed.as_secs_f64(),
        relay_cpu,
        sender_cpu: sent.cpu.as_secs_f64(),
        receiver_cpu: received.cpu.as_secs_f64(),
        other_cpu: ((busy1 - busy0).as_secs_f64() - relay_cpu - own).max(0.0),
        softirq: (soft1 - soft0).as_secs_f64(),
    })
}

// ---------------------------------------------------------------- part 2

async fn joins(args: &RunArgs, relays: &[&RelayProc]) -> anyhow::Result<()> {
    let mut stages = Vec::new();
    for r in relays {
        stages.push((r.kind, first_frame::Stage::start(r.addr).await?));
    }
    let mut samples: Vec<Vec<first_frame::Sample>> = vec![Vec::new(); stages.len()];
    let mut failures = vec![Vec::new(); stages.len()];
    for i in 0..args.joins {
        for (s, (kind, stage)) in stages.iter().enumerate() {
            match stage.join_once().await {
                Ok(sample) => {
                    eprintln!(
                        "  join {} via {}: first frame {:.0} ms, connected {:.0} ms, paths {}",
                        i + 1,
                        kind.name(),
                        ms(sample.first_frame),
                        ms(sample.connected),
                        sample
                            .paths
                            .iter()
                            .map(|p| format!("{:?}/{:?}", p.local, p.remote).to_lowercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    samples[s].push(sample);
                }
                Err(e) => {
                    eprintln!("  join {} via {}: FAILED: {e:#}", i + 1, kind.name());
                    failures[s].push(format!("{e:#}"));
                }
            }
        }
    }
    println!(
        "## Join to first decoded frame through the relay ({} joins per relay, 1280x720 test screen)\n",
        args.joins
    );
    println!(
        "| Relay | Joins ok | First frame p50 / p95 / max | Connected (ICE + DTLS) p50 | Selected pairs reported relay/relay |"
    );
    println!("|---|---|---|---|---|");
    for (s, (kind, _)) in stages.iter().enumerate() {
        let mut first: Vec<Duration> = samples[s].iter().map(|x| x.first_frame).collect();
        let mut conn: Vec<Duration> = samples[s].iter().map(|x| x.connected).collect();
        first.sort();
        conn.sort();
        let reports: usize = samples[s].iter().map(|x| x.paths.len()).sum();
        let relayed: usize = samples[s]
            .iter()
            .map(|x| {
                x.paths
                    .iter()
                    .filter(|p| p.local == CandidateType::Relay && p.remote == CandidateType::Relay)
                    .count()
            })
            .sum();
        println!(
            "| {} | {} of {} | {:.0} / {:.0} / {:.0} ms | {:.0} ms | {relayed} of {reports} |",
            kind.name(),
            samples[s].len(),
            args.joins,
            ms(first_frame::percentile(&first, 50.0)),
            ms(first_frame::percentile(&first, 95.0)),
            ms(first.last().copied().unwrap_or_default()),
            ms(first_frame::percentile(&conn, 50.0)),
        );
        for f in &failures[s] {
            println!("\n- {} failure: {f}", kind.name());
        }
    }
    for (_, stage) in stages {
        stage.stop().await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 12345.6 → "12,346".
fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
