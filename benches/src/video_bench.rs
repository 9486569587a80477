//! The native peer's video benchmark (issue 3); figures go to BENCHMARKS.md.
//!
//! 1. Per-frame cost at 720p and 1080p: capture (`scrap` from an Xvfb this
//!    program starts), BGRA→I420 (`yuv`), and encode with openh264 in both
//!    display modes, for a static and a busy screen (the test pattern over a
//!    page of detail that scrolls 8 px per frame). The same frames go through
//!    the `x264` CLI (ultrafast, zerolatency) as the software-encoder anchor.
//! 2. End to end on loopback, in this process: the real signaling server, a
//!    customer peer streaming the busy screen through the real pipeline
//!    (latest-frame-wins, congestion-controlled bitrate) and a CSR peer that
//!    decodes it. Each frame's counter is stamped at capture and read back
//!    from the decoded pixels: latency = decode time − capture time (one
//!    clock). Reported: delivered frames per second, p50/p95 latency, p50 of
//!    the first and the last 10 s (flat = no backlog), and the process's peak
//!    RSS (server + both peers: an upper bound for the sending peer).

#[path = "xvfb.rs"]
mod xvfb;

#[path = "machine.rs"]
mod machine;

use machine::{cpu_model, kernel, nproc};

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use tandem_peer::link::LinkConfig;
use tandem_peer::media::inbound::{VideoSink, VideoSinkFactory};
use tandem_peer::media::{Feed, Media, MediaKind};
use tandem_peer::session::{self, Command as SessionCommand, Event};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_peer::video::convert::bgra_to_i420;
use tandem_peer::video::openh264_encoder::OpenH264Encoder;
use tandem_peer::video::pipeline::{PipelineSettings, VideoPipeline};
use tandem_peer::video::test_pattern::{TestPattern, read_counter_downscaled};
use tandem_peer::video::{DisplayMode, I420Frame, VideoEncoder, VideoError, VideoSource};
use tandem_wire::channels::Capability;
use tandem_wire::{DisplayName, ParticipantId};
use tokio::sync::mpsc;
use xvfb::Xvfb;

#[derive(Parser)]
#[command(about = "Video benchmark of the native peer (issue 3)")]
struct Args {
    /// Length of each end-to-end run, seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Frames per per-frame measurement.
    #[arg(long, default_value_t = 150)]
    frames: usize,
    /// Skip part 1 (per-frame costs).
    #[arg(long)]
    skip_frames: bool,
    /// Skip part 2 (end to end).
    #[arg(long)]
    skip_e2e: bool,
    /// Only the memory run of the `tandem-peer` binary.
    #[arg(long)]
    memory_only: bool,
    /// The `tandem-peer` binary for the memory run (a release build).
    #[arg(long, default_value = "target/release/tandem-peer")]
    peer_bin: std::path::PathBuf,
}

const SIZES: [(&str, usize, usize); 2] = [("720p", 1280, 720), ("1080p", 1920, 1080)];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("# Native peer video benchmark\n");
    println!("machine: {} cores; {}; Linux {}\n", nproc(), cpu_model(), kernel());
    if !args.skip_frames {
        per_frame_costs(&args)?;
    }
    if !args.skip_e2e {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        if !args.memory_only {
            println!("## End to end on loopback ({} s per run, busy screen, max 30 fps)\n", args.seconds);
            println!(
                "| Size | Delivered fps | Latency p50 / p95 | p50 first 10 s / last 10 s | Encoded at | Peak RSS (server + 2 peers) |"
            );
            println!("|---|---|---|---|---|---|");
        }
        for (name, w, h) in SIZES.iter().copied().filter(|_| !args.memory_only) {
            let r = runtime.block_on(end_to_end(w, h, Duration::from_secs(args.seconds), None))?;
            println!(
                "| {name} | {:.1} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {} | {:.0} MB |",
                r.fps, r.p50, r.p95, r.first_p50, r.last_p50, r.sizes, r.peak_rss_mb
            );
        }
        println!("\n## Memory of the sending peer alone (the `tandem-peer` binary, busy 720p test screen)\n");
        let r = runtime.block_on(end_to_end(
            1280,
            720,
            Duration::from_secs(args.seconds / 2),
            Some(&args.peer_bin),
        ))?;
        println!(
            "| Run | Delivered fps | RSS of `tandem-peer` after 10 s / at the end / peak |\n|---|---|---|"
        );
        println!(
            "| {} s, 720p busy | {:.1} | {:.0} / {:.0} / {:.0} MB |\n",
            args.seconds / 2,
            r.fps,
            r.rss_10s_mb,
            r.rss_end_mb,
            r.peak_rss_mb
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- part 1

fn per_frame_costs(args: &Args) -> anyhow::Result<()> {
    println!("## Per-frame cost, one core (ms per frame, mean / p95)\n");
    println!(
        "| Size | Screen | Capture (scrap) | BGRA→I420 (yuv) | openh264 standard | openh264 screen sampling | x264 ultrafast zerolatency, 1 thread | x264, 2 threads |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, w, h) in SIZES {
        let xvfb = Xvfb::start(w as u32, h as u32)?;
        let (capture, convert) = capture_and_convert(&xvfb.display, args.frames)?;
        drop(xvfb);
        for busy in [false, true] {
            let frames: Vec<I420Frame> = if busy {
                let p = TestPattern::busy(w, h);
                (0..args.frames as u64).map(|n| p.draw(n)).collect()
            } else {
                vec![TestPattern::new(w, h).draw(0); args.frames]
            };
            let standard = encode_cost(&frames, DisplayMode::Standard)?;
            let sampling = encode_cost(&frames, DisplayMode::ScreenSampling)?;
            let x264_1 = x264_cost(&frames, 1)?;
            let x264_2 = x264_cost(&frames, 2)?;
            println!(
                "| {name} | {} | {} | {} | {} | {} | {x264_1:.1} | {x264_2:.1} |",
                if busy { "busy" } else { "static" },
                capture,
                convert,
                standard,
                sampling
            );
        }
    }
    println!();
    Ok(())
}

struct Stat(Vec<f64>);

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        write!(f, "{mean:.1} / {:.1}", percentile(&v, 0.95))
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn capture_and_convert(display: &str, frames: usize) -> anyhow::Result<(Stat, Stat)> {
    // SAFETY: part 1 runs before any other thread of this process exists; scrap reads DISPLAY.
    unsafe { std::env::set_var("DISPLAY", display) };
    let d = scrap::Display::primary().context("opening the Xvfb display")?;
    let mut capturer = scrap::Capturer::new(d).context("scrap capturer")?;
    let (w, h) = (capturer.width(), capturer.height());
    let (mut cap, mut conv) = (Vec::new(), Vec::new());
    while cap.len() < frames {
        let t0 = Instant::now();
        let frame = match capturer.frame() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => bail!("capture: {e}"),
        };
        cap.push(t0.elapsed().as_secs_f64() * 1e3);
        let t1 = Instant::now();
        let stride = frame.len() / h;
        bgra_to_i420(&frame, stride, w, h)?;
        conv.push(t1.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok((Stat(cap), Stat(conv)))
}

fn encode_cost(frames: &[I420Frame], mode: DisplayMode) -> anyhow::Result<Stat> {
    let mut encoder = OpenH264Encoder::new(mode, 2_500_000, 30.0)?;
    let mut times = Vec::new();
    for f in frames {
        let t0 = Instant::now();
        encoder.encode(f)?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Stat(times))
}

/// Encodes the same frames with the x264 CLI; ms per frame from its own fps figure.
fn x264_cost(frames: &[I420Frame], threads: u32) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("frames.yuv");
    let mut raw = Vec::new();
    for f in frames {
        raw.extend_from_slice(f.y());
        raw.extend_from_slice(f.u());
        raw.extend_from_slice(f.v());
    }
    std::fs::write(&input, raw)?;
    let (w, h) = (frames[0].width, frames[0].height);
    let out = Command::new("x264")
        .args(["--preset", "ultrafast", "--tune", "zerolatency", "--bitrate", "2500"])
        .args(["--input-res", &format!("{w}x{h}"), "--input-csp", "i420", "--fps", "30"])
        .args(["--threads", &threads.to_string(), "-o", "/dev/null"])
        .arg(&input)
        .output()
        .context("running x264 (apt-get install x264)")?;
    let log = String::from_utf8_lossy(&out.stderr);
    // "encoded 150 frames, 123.45 fps, 2500.00 kb/s"
    let fps: f64 = log
        .lines()
        .find_map(|l| {
            l.strip_prefix("encoded ").and_then(|r| r.split(", ").nth(1)).and_then(|f| f.strip_suffix(" fps"))
        })
        .and_then(|f| f.trim().parse().ok())
        .with_context(|| format!("x264 said: {log}"))?;
    Ok(1000.0 / fps)
}

/// Waits for the native peer's consent window on `display` and clicks its
/// Allow button (after the window's 0.5 s arming), as the person would.
/// The layout is `peer/src/ui/layout.rs`'s: a 480-point-wide prompt, Allow at (75, 168).
fn click_allow(display: &str) -> anyhow::Result<()> {
    let xdotool = |args: &[&str]| -> anyhow::Result<String> {
        let out =
            Command::new("xdotool").args(args).env("DISPLAY", display).output().context("running xdotool")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let id = loop {
        let found = xdotool(&["search", "--onlyvisible", "--name", "asks to see"])?;
        if let Some(id) = found.lines().next() {
            break id.to_owned();
        }
        if std::time::Instant::now() > deadline {
            bail!("no consent window within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let geometry = xdotool(&["getwindowgeometry", "--shell", &id])?;
    let width: f64 = geometry
        .lines()
        .find_map(|l| l.strip_prefix("WIDTH=")?.parse().ok())
        .context("the consent window's width")?;
    let scale = width / 480.0;
    std::thread::sleep(Duration::from_millis(700));
    let (x, y) = ((75.0 * scale).round().to_string(), (168.0 * scale).round().to_string());
    xdotool(&["mousemove", "--window", &id, &x, &y, "click", "1"])?;
    Ok(())
}

fn rss_mb(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/status".to_owned(), |p| format!("/proc/{p}/status"));
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

// ---------------------------------------------------------------- part 2

/// Capture instants by frame counter, shared by the stamping source and the sink.
type Stamps = Arc<Mutex<HashMap<u64, Instant>>>;

/// The busy pattern, recording when each frame was captured.
struct Stamping {
    pattern: TestPattern,
    n: u64,
    stamps: Stamps,
}

impl VideoSource for Stamping {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        let frame = self.pattern.draw(self.n);
        self.stamps.lock().unwrap_or_else(|p| p.into_inner()).insert(self.n & 0xffff, Instant::now());
        self.n += 1;
        Ok(frame)
    }
}

struct Latencies {
    width: usize,
    stamps: Stamps,
    out: mpsc::UnboundedSender<(Instant, Option<f64>, usize)>,
}

impl VideoSinkFactory for Latencies {
    fn open(&self, _from: ParticipantId, _kind: MediaKind) -> Box<dyn VideoSink> {
        Box::new(LatencySink { width: self.width, stamps: self.stamps.clone(), out: self.out.clone() })
    }
}

struct LatencySink {
    width: usize,
    stamps: Stamps,
    out: mpsc::UnboundedSender<(Instant, Option<f64>, usize)>,
}

impl VideoSink for LatencySink {
    fn frame(&mut self, frame: I420Frame, _rtp_timestamp: u32) {
        let now = Instant::now();
        let factor = self.width / frame.width.max(1);
        let n = read_counter_downscaled(&frame, factor);
        // Unknown when the sender runs in another process (the memory run).
        let latency = self
            .stamps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&n)
            .map(|t| (now - *t).as_secs_f64() * 1e3);
        let _ = self.out.send((now, latency, frame.width));
    }
}

/// One received picture: seconds since the first, latency (ms) when known, decoded width.
type Sample = (f64, Option<f64>, usize);

struct E2e {
    fps: f64,
    p50: f64,
    p95: f64,
    first_p50: f64,
    last_p50: f64,
    sizes: String,
    peak_rss_mb: f64,
    rss_10s_mb: f64,
    rss_end_mb: f64,
}

async fn end_to_end(
    w: usize,
    h: usize,
    length: Duration,
    peer_bin: Option<&std::path::Path>,
) -> anyhow::Result<E2e> {
    let dir = tempfile::tempdir()?;
    let config = tandem_signaling::config::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().into(),
        ..Default::default()
    };
    let store = tandem_signaling::store::open(&config.database_url()).await?;
    let hash =
        tandem_signaling::auth::hash_password("bench password 1").map_err(|e| anyhow::anyhow!("{e}"))?;
    store.add_agent(&DisplayName::parse("bench")?, &hash, tandem_signaling::hub::now()).await?;
    store.close().await;
    let server = tandem_signaling::server::start(config).await?;
    let loopback = LinkConfig::loopback;

    let stamps: Stamps = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sinks = Latencies { width: w, stamps: stamps.clone(), out: tx };
    let csr_media = Media { feeds: vec![], video_sinks: Some(Arc::new(sinks)), audio_sinks: None };
    let token = sign_in(&server.url, "bench", "bench password 1").await?;
    let (csr_cmd, csr_cmd_rx) = mpsc::channel(4);
    let (csr_ev_tx, mut csr_ev) = mpsc::channel(64);
    let url = server.url.clone();
    let csr = tokio::spawn(async move {
        let setup = session::Setup { link: loopback(), media: csr_media, ..Default::default() };
        session::run(&url, Entry::CreateSession { token }, setup, csr_cmd_rx, csr_ev_tx).await
    });
    let (number, invite, link) = loop {
        match csr_ev.recv().await.context("CSR session ended")? {
            Event::Joined { session, invite: Some((invite, link)), .. } => {
                break (session.session_number, invite, link);
            }
            _ => continue,
        }
    };
    let mut child = None;
    // The child's consent window needs a display; the bench clicks its Allow like a person.
    let mut _consent_display = None;
    if let Some(bin) = peer_bin {
        let size = format!("{w}x{h}");
        let args = ["join", &link, "--name", "Bench", "--screen", "test-busy", "--test-size", &size];
        let xvfb = Xvfb::start(1024, 768)?;
        let display = xvfb.display.clone();
        _consent_display = Some(xvfb);
        tokio::task::spawn_blocking({
            let display = display.clone();
            move || {
                if let Err(e) = click_allow(&display) {
                    eprintln!("warning: could not allow the view request in the child's window: {e:#}");
                }
            }
        });
        child = Some(
            tokio::process::Command::new(bin)
                .args(args)
                .env("DISPLAY", &display)
                .args(["--audio-out", "none", "--bind", "127.0.0.1:0"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| {
                    format!("starting {} (cargo build --release -p tandem-peer)", bin.display())
                })?,
        );
    }
    let child_pid = child.as_ref().and_then(|c| c.id());

    let feed = Feed::new(MediaKind::Screen);
    let source_stamps = stamps.clone();
    let source = Box::new(move || {
        Ok(Box::new(Stamping { pattern: TestPattern::busy(w, h), n: 0, stamps: source_stamps })
            as Box<dyn VideoSource>)
    });
    let encoder = Box::new(|fps: f32, bps: u32| {
        OpenH264Encoder::new(DisplayMode::Standard, bps, fps).map(|e| Box::new(e) as Box<dyn VideoEncoder>)
    });
    // In the memory run the customer is the child process; this one joins nobody.
    let pipeline = if child.is_none() {
        Some(VideoPipeline::start(source, encoder, feed.clone(), PipelineSettings::default())?)
    } else {
        None
    };
    let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let (cust_cmd, cust_cmd_rx) = mpsc::channel(4);
    let (cust_ev_tx, mut cust_ev) = mpsc::channel(64);
    let url = server.url.clone();
    let in_process = child.is_none();
    let customer = tokio::spawn(async move {
        if !in_process {
            return Ok(None);
        }
        let entry = Entry::Customer { target, name: DisplayName::parse("Bench customer").expect("valid") };
        let setup = session::Setup { link: loopback(), media, ..Default::default() };
        session::run(&url, entry, setup, cust_cmd_rx, cust_ev_tx).await
    });
    // The customer's person allows the CSR's view request at once; the CSR asks as soon as the
    // customer is in (SHR-1: nothing of the screen goes out before).
    let answers = cust_cmd.clone();
    tokio::spawn(async move {
        while let Some(ev) = cust_ev.recv().await {
            if let Event::ConsentPrompt { from, request_id, .. } = ev {
                let _ = answers
                    .send(SessionCommand::Decide { from, request_id, allowed: true, window: None })
                    .await;
            }
        }
    });
    let asks = csr_cmd.clone();
    tokio::spawn(async move {
        let mut asked = false;
        while let Some(ev) = csr_ev.recv().await {
            if let Event::Participants(list) = ev
                && !asked
                && let Some(customer) = list.iter().find(|p| p.role == tandem_wire::Role::PrimaryCustomer)
            {
                asked = true;
                let ask =
                    SessionCommand::RequestConsent { to: customer.id, capability: Capability::ViewDesktop };
                let _ = asks.send(ask).await;
            }
        }
    });

    // Wait for the first picture, then measure.
    let first = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await?.context("no picture")?;
    let start = first.0;
    let mut samples: Vec<Sample> = Vec::new();
    let mut peak_rss = rss_mb(child_pid);
    let mut rss_10s = 0.0;
    let mut next_rss = Instant::now();
    while start.elapsed() < length {
        if let Ok(Some((at, ms, width))) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            samples.push(((at - start).as_secs_f64(), ms, width));
        }
        if Instant::now() >= next_rss {
            let now = rss_mb(child_pid);
            peak_rss = peak_rss.max(now);
            if rss_10s == 0.0 && start.elapsed() >= Duration::from_secs(10) {
                rss_10s = now;
            }
            next_rss += Duration::from_secs(1);
        }
    }
    let rss_end = rss_mb(child_pid);
    drop(pipeline);
    drop(child);
    drop(cust_cmd);
    drop(csr_cmd);
    let _ = tokio::time::timeout(Duration::from_secs(5), customer).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), csr).await;
    server.shutdown().await?;

    let secs = length.as_secs_f64();
    let sorted = |pick: &dyn Fn(&Sample) -> bool| {
        let mut v: Vec<f64> = samples.iter().filter(|s| pick(s)).filter_map(|s| s.1).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let all = sorted(&|_| true);
    let first10 = sorted(&|s| s.0 < 10.0);
    let last10 = sorted(&|s| s.0 >= secs - 10.0);
    let mut widths: Vec<usize> = samples.iter().map(|s| s.2).collect();
    widths.sort_unstable();
    widths.dedup();
    let sizes = widths.iter().map(|wd| format!("{wd}x{}", wd * h / w)).collect::<Vec<_>>().join(", ");
    Ok(E2e {
        fps: samples.len() as f64 / secs,
        p50: percentile(&all, 0.5),
        p95: percentile(&all, 0.95),
        first_p50: percentile(&first10, 0.5),
        last_p50: percentile(&last10, 0.5),
        sizes,
        peak_rss_mb: peak_rss,
        rss_10s_mb: rss_10s,
        rss_end_mb: rss_end,
    })
}
