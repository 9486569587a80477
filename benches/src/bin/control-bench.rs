//! Remote control latency (issue 6's benchmark): input latency and
//! motion-to-photon on loopback at 720p; figures go to BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p tandem-benches
//! target/release/control-bench              # about 3 minutes
//! ```
//!
//! One run, one X server: Xvfb at 1280×720 (`xvfb.rs`) with
//! the bench's own window covering it (`control_bench/x_probe.rs`), which
//! stamps each ButtonPress on arrival and repaints itself in a new colour.
//! The real signaling server, a native customer sharing that display through
//! the real screen pipeline with input injected on it, and a native CSR run
//! in this process (`control_bench/stage.rs`); the CSR's dashboard runs in
//! Chromium (`control_bench/dashboard.rs`). Both CSRs ask for
//! `control_desktop`, and the bench, as the person at the customer's
//! machine, allows it. Then, in rounds, each controller clicks once at a new
//! point of the screen, one after the other, spaced so that pictures do not
//! pile up:
//!
//! - **input latency**: the controller's event → the ButtonPress at the X
//!   client, on `CLOCK_REALTIME` (the page's clock is compared with it
//!   before and after; its offset is applied);
//! - **motion-to-photon**: the same event → the first picture decoded at the
//!   native CSR that shows the new colour (and, for the dashboard's clicks,
//!   the first frame the page itself presented with it);
//! - the anchors: the same click through the customer peer's injector
//!   alone, and raw XTest from the bench, neither crossing the network.
//!
//! Other programs' CPU use is measured per round (`control_bench/cpu_load.rs`).

#[path = "../control_bench/clicks.rs"]
mod clicks;
#[path = "../control_bench/cpu_load.rs"]
mod cpu_load;
#[path = "../control_bench/dashboard.rs"]
mod dashboard;
#[path = "../control_bench/pipeline_tap.rs"]
mod pipeline_tap;
#[path = "../control_bench/report.rs"]
mod report;
#[path = "../control_bench/stage.rs"]
mod stage;
#[path = "../control_bench/x_probe.rs"]
mod x_probe;
#[path = "../xvfb.rs"]
mod xvfb;

#[path = "../machine.rs"]
mod machine;
#[path = "../node_driver.rs"]
mod node_driver;
#[path = "../peer_task.rs"]
mod peer_task;
#[path = "../proc_cpu.rs"]
mod proc_cpu;

use machine::{cpu_model, kernel, nproc};

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Parser;
use clicks::{POSITIONS, Rig};
use cpu_load::{Reading, Usage};
use dashboard::{ClockCheck, Dashboard};
use report::Controller;
use stage::{Origin, Stage, Video};
use tandem_peer::control::x11::X11Injector;
use tandem_peer::link::LinkConfig;
use tandem_peer::video::DisplayMode;
use tandem_peer::video::pipeline::PipelineSettings;
use x_probe::{XProbe, XTestPointer};

#[derive(Parser)]
#[command(about = "Remote control latency: input and motion-to-photon on loopback at 720p (issue 6)")]
struct Args {
    /// Clicks per controller.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Least time from one click's start to the next (a few ms more are added, varying, so
    /// that clicks fall at every phase of the capture clock).
    #[arg(long, default_value_t = 150)]
    spacing_ms: u64,
    /// The screen pipeline's highest frame rate.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// The screen's display mode (SHR-11).
    #[arg(long, value_enum, default_value_t = Mode::Standard)]
    display_mode: Mode,
    /// Screen size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (u16, u16),
    /// Leave out the Chromium dashboard (native controller and anchors only).
    #[arg(long)]
    no_dashboard: bool,
    /// Keep rounds in which other programs used more than 10 % of a core. By default such a
    /// round is discarded and run again, and a round starts only after a second in which
    /// other programs stayed under 10 % (the machine is shared).
    #[arg(long)]
    keep_noisy: bool,
    /// Pause between rounds (the screen stays still meanwhile, as between a person's actions).
    /// Unless `--keep-noisy`, it is also the window in which other programs must stay under
    /// 10 % of a core before the next round starts.
    #[arg(long, default_value_t = 1000)]
    round_gap_ms: u64,
    /// Keep the screen busy: a small square changes this many times a second (0: a still
    /// screen between clicks, which the pipeline refreshes once a second).
    #[arg(long, default_value_t = 0)]
    ticker_fps: u32,
    /// Give up waiting for quiet rounds after this many seconds (and report what was kept).
    #[arg(long, default_value_t = 1800)]
    max_wait_s: u64,
    /// Also write every sample's timestamps to this CSV file.
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
    /// Local UDP address of the native peers' WebRTC. Chromium offers no loopback candidates,
    /// so the default (every interface but loopback) is what lets it reach the customer.
    #[arg(long, default_value = "0.0.0.0:0")]
    bind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Standard,
    Sampling,
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
    let n = |v: &str| v.parse::<u16>().map_err(|e| e.to_string());
    Ok((n(w)?, n(h)?))
}

/// Wall-clock time in ms since the epoch (`CLOCK_REALTIME`), the one clock of every stamp.
pub fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Other programs may use this much of one core in a round before it counts as noisy.
const NOISY_PERCENT: f64 = 10.0;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let result = xvfb::Xvfb::start(u32::from(args.size.0), u32::from(args.size.1)).and_then(|xvfb| {
        // The screen capture (scrap) opens `$DISPLAY`; set before any other thread exists.
        // SAFETY: single-threaded here: no runtime, no pipeline yet.
        unsafe { std::env::set_var("DISPLAY", &xvfb.display) };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        // Ctrl-C or SIGTERM drop the run, so that Chromium, node and Xvfb are stopped as on an error.
        let outcome = runtime.block_on(async {
            tokio::select! {
                outcome = run(&args, &xvfb) => outcome,
                signal = interrupted() => Err(anyhow::anyhow!("stopped by {signal}")),
            }
        });
        runtime.shutdown_timeout(Duration::from_secs(5));
        outcome
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, xvfb: &xvfb::Xvfb) -> anyhow::Result<()> {
    let started = Instant::now();
    let (width, height) = args.size;
    let display = xvfb.display.as_str();
    let mut probe = XProbe::start(display, width, height)?;
    let video = Video {
        mode: match args.display_mode {
            Mode::Standard => DisplayMode::Standard,
            Mode::Sampling => DisplayMode::ScreenSampling,
        },
        settings: PipelineSettings { max_fps: args.fps.clamp(1, 60), ..Default::default() },
    };
    let link_config = LinkConfig { udp_addrs: vec![args.bind.clone()], ..LinkConfig::default() };

    let server = stage::server().await?;
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut dashboard = if args.no_dashboard { None } else { Some(Dashboard::start(root, &server.0.url)?) };
    let origin = match &mut dashboard {
        Some(d) => {
            let link = d.expect("link", Duration::from_secs(60)).await?;
            Origin::Dashboard { link: link.as_str().context("the link is a string")?.to_owned() }
        }
        None => Origin::NativeCsr,
    };
    eprintln!("setting up ({} s)", started.elapsed().as_secs());
    let mut stage = Stage::start(server, origin, display, video, link_config).await?;
    stage.first_picture().await?;
    let mut clock_checks: Vec<ClockCheck> = Vec::new();
    if let Some(d) = &mut dashboard {
        let ready = d.expect("ready", Duration::from_secs(90)).await?;
        eprintln!("dashboard ready: {ready}");
        clock_checks.push(d.clock(20).await?);
    }
    let _ticker = match args.ticker_fps {
        0 => None,
        fps => Some(x_probe::Ticker::start(display, &probe, fps)?),
    };
    let xtest = XTestPointer::connect(display)?;
    let injector = X11Injector::start(Some(display.to_owned()))?;
    // Let set-up traffic (first keyframes, the dashboard's first click) settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("sampling ({} s)", started.elapsed().as_secs());

    let mut controllers = vec![Controller::Native, Controller::PeerInjector, Controller::XTest];
    if dashboard.is_some() {
        controllers.insert(0, Controller::Dashboard);
    }
    let captured0 = stage.pipeline_stats().captured.load(Ordering::Relaxed);
    let encoded0 = stage.pipeline_stats().encoded.load(Ordering::Relaxed);
    let keyframes0 = stage.pipeline_stats().keyframes.load(Ordering::Relaxed);
    let page_before = match &mut dashboard {
        Some(d) => Some(d.stats().await?),
        None => None,
    };
    let phase_start = (Instant::now(), Reading::now());
    let mut rig =
        Rig { probe: &mut probe, stage: &mut stage, dashboard: dashboard.as_mut(), xtest, injector };
    let mut samples = Vec::new();
    let mut rounds: Vec<Usage> = Vec::new();
    let mut discarded: Vec<Usage> = Vec::new();
    let mut order = controllers.clone();
    let mut k = 0usize;
    let give_up = Instant::now() + Duration::from_secs(args.max_wait_s);
    let mut waited = Duration::ZERO;
    while rounds.len() < args.samples {
        if Instant::now() > give_up {
            eprintln!(
                "  gave up after {} s: {} quiet rounds of {}",
                args.max_wait_s,
                rounds.len(),
                args.samples
            );
            break;
        }
        let (t, reading) = (Instant::now(), Reading::now());
        tokio::time::sleep(Duration::from_millis(args.round_gap_ms)).await;
        if !args.keep_noisy
            && args.round_gap_ms > 0
            && reading.until(&Reading::now(), t.elapsed()).other_percent() > NOISY_PERCENT
        {
            waited += t.elapsed();
            continue;
        }
        let (t, reading) = (Instant::now(), Reading::now());
        let mut round = Vec::new();
        for &controller in &order {
            let start = tokio::time::Instant::now();
            let (px, py) = POSITIONS[k % POSITIONS.len()];
            k += 1;
            round.push(rig.click(controller, px, py, (width, height)).await?);
            // 150 ms and a varying 0-33 ms more: clicks meet the 30 fps capture clock at every phase.
            let gap = Duration::from_millis(args.spacing_ms + (k as u64 * 7) % 34);
            let next = (start + gap).max(tokio::time::Instant::now() + Duration::from_millis(30));
            tokio::time::sleep_until(next).await;
        }
        order.rotate_left(1);
        let usage = reading.until(&Reading::now(), t.elapsed());
        let noisy = usage.other_percent() > NOISY_PERCENT;
        if noisy && !args.keep_noisy {
            eprintln!(
                "  round discarded: other programs used {:.0} % of a core ({} kept, {} discarded)",
                usage.other_percent(),
                rounds.len(),
                discarded.len() + 1
            );
            discarded.push(usage);
            continue;
        }
        samples.extend(round);
        rounds.push(usage);
        if rounds.len().is_multiple_of(10) {
            eprintln!(
                "  {} rounds kept, {} discarded; {:.0} s waited for quiet",
                rounds.len(),
                discarded.len(),
                waited.as_secs_f64()
            );
        }
    }
    let total = phase_start.1.until(&Reading::now(), phase_start.0.elapsed());
    let captured = rig.stage.pipeline_stats().captured.load(Ordering::Relaxed) - captured0;
    let encoded = rig.stage.pipeline_stats().encoded.load(Ordering::Relaxed) - encoded0;
    let keyframes = rig.stage.pipeline_stats().keyframes.load(Ordering::Relaxed) - keyframes0;
    let mut page_after = None;
    if let Some(d) = &mut rig.dashboard {
        page_after = Some(d.stats().await?);
        clock_checks.push(d.clock(20).await?);
    }
    let injected = rig.stage.input.injected.load(Ordering::Relaxed);
    let dropped = rig.stage.input.dropped.load(Ordering::Relaxed);
    let prompts = rig.stage.prompts.load(Ordering::Relaxed);

    // ---------------------------------------------------------------- report
    println!("# Remote control latency\n");
    println!("- machine: {} cores; {}; Linux {}", nproc(), cpu_model(), kernel());
    println!(
        "- screen {width}x{height} (Xvfb), pipeline max {} fps (min {}), openh264 {:?}, start bitrate {:.1} Mbit/s; WebRTC on {}",
        video.settings.max_fps,
        video.settings.min_fps,
        video.mode,
        f64::from(video.settings.start_bitrate) / 1e6,
        args.bind
    );
    let secs = total.wall.as_secs_f64();
    println!(
        "- while sampling: captured {captured} frames ({:.1}/s), encoded {encoded} ({:.1}/s; unchanged frames are not encoded), of which {keyframes} keyframes; {}",
        captured as f64 / secs,
        encoded as f64 / secs,
        match args.ticker_fps {
            0 => "the screen is still between clicks".to_owned(),
            fps => format!("a 32×32 square changes {fps} times a second between clicks"),
        }
    );
    println!(
        "- {} samples per controller, {} ms + 0-33 ms apart, in rounds of one click each with {} ms between rounds; consent prompts answered {prompts}; control messages injected {injected}, dropped {dropped}",
        args.samples, args.spacing_ms, args.round_gap_ms
    );
    for (when, c) in ["before", "after"].iter().zip(&clock_checks) {
        println!(
            "- page clock {when} sampling: {:+.2} ms from the bench's (± {:.2} ms, half the tightest of 20 round trips); applied",
            c.offset_ms,
            c.round_trip_ms / 2.0
        );
    }
    report::load_lines(total, &rounds, &discarded, waited);
    if let (Some(before), Some(after)) = (&page_before, &page_after) {
        report::page_receiver_lines(before, after);
    }
    println!("\n## Input latency: the controller's click → ButtonPress at the X client\n");
    report::input_table(&samples, &controllers);
    println!(
        "\n## Motion-to-photon: the click → the first picture decoded at the native CSR with the new colour\n"
    );
    report::photon_table(&samples, &controllers);
    println!("\n## Where the picture's time goes (all samples)\n");
    report::steps_table(&samples);
    if let Some(path) = &args.csv {
        report::write_csv(path, &samples).with_context(|| format!("writing {}", path.display()))?;
        println!("\nevery sample's timestamps: {}", path.display());
    }
    println!("\ntotal time {:.0} s", started.elapsed().as_secs_f64());

    drop(dashboard);
    stage.stop().await?;
    drop(probe);
    Ok(())
}

/// Waits for SIGINT or SIGTERM; returns which.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}
