//! What one sample measured, and the tables printed from them (Markdown, for BENCHMARKS.md).

use super::cpu_load::Usage;
use super::pipeline_tap::Captured;
use super::x_probe::Press;

/// Who sends the click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// The CSR's dashboard in Chromium: pointerdown on the remote screen → `control` data channel.
    Dashboard,
    /// A native CSR (`Command::Control`) → `control` data channel.
    Native,
    /// Anchor: the customer peer's own injector (`X11Injector`, enigo over XTest), no network.
    PeerInjector,
    /// Anchor: XTest requests straight from the bench (x11rb), no network, no peer.
    XTest,
}

impl Controller {
    pub fn label(self) -> &'static str {
        match self {
            Self::Dashboard => "Dashboard (Chromium) → native customer",
            Self::Native => "Native CSR → native customer",
            Self::PeerInjector => "Anchor: the peer's injector alone (enigo/XTest, no network)",
            Self::XTest => "Anchor: raw XTest from the bench (no network, no peer)",
        }
    }

    /// What `sent_ms` is for this controller.
    pub fn start_point(self) -> &'static str {
        match self {
            Self::Dashboard => "the page's pointerdown (`event.timeStamp`)",
            Self::Native => "`Command::Control` handed to the session",
            Self::PeerInjector => "`X11Injector::inject`",
            Self::XTest => "`xtest_fake_input` sent",
        }
    }
}

/// One click and what followed, all on `CLOCK_REALTIME` in ms.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub controller: Controller,
    pub sent_ms: f64,
    /// Dashboard only: after the page's listener had sent the button on the data channel.
    pub page_sent_ms: Option<f64>,
    /// The press at the bench's X client (`None`: lost within the deadline).
    pub press: Option<Press>,
    /// The native CSR's first decoded picture showing the press's colour.
    pub decoded_ms: Option<f64>,
    /// The width of that picture.
    pub decoded_width: Option<usize>,
    /// Dashboard only: the first frame the page presented with that colour.
    pub page_shown_ms: Option<f64>,
    /// The customer's first captured frame with that colour.
    pub captured: Option<Captured>,
    /// When that frame's encoded sample left the encoder.
    pub encoded_ms: Option<f64>,
}

impl Sample {
    pub fn input_ms(&self) -> Option<f64> {
        self.press.map(|p| p.arrived_ms - self.sent_ms)
    }
    pub fn photon_ms(&self) -> Option<f64> {
        self.decoded_ms.map(|d| d - self.sent_ms)
    }
    /// From the repaint being in the framebuffer to the decoded picture: capture, encode, send, decode.
    pub fn video_ms(&self) -> Option<f64> {
        Some(self.decoded_ms? - self.press?.painted_ms)
    }
    pub fn repaint_ms(&self) -> Option<f64> {
        self.press.map(|p| p.painted_ms - p.arrived_ms)
    }
}

/// p50 / p95 / max over some values.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Self { n: v.len(), p50: percentile(&v, 50.0), p95: percentile(&v, 95.0), max: v[v.len() - 1] })
    }

    pub fn cells(spread: Option<Self>) -> String {
        match spread {
            Some(s) => format!("{:.1} | {:.1} | {:.1}", s.p50, s.p95, s.max),
            None => "– | – | –".into(),
        }
    }
}

/// Nearest rank (`p` in 0..=100) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints the input-latency table.
pub fn input_table(samples: &[Sample], controllers: &[Controller]) {
    println!("| Controller | From | Samples (lost) | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for &c in controllers {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.controller == c).collect();
        let spread = Spread::of(of.iter().filter_map(|s| s.input_ms()));
        let lost = of.iter().filter(|s| s.press.is_none()).count();
        println!(
            "| {} | {} | {} ({lost}) | {} |",
            c.label(),
            c.start_point(),
            spread.map_or(0, |s| s.n),
            Spread::cells(spread)
        );
    }
    let dashboard: Vec<&Sample> = samples.iter().filter(|s| s.controller == Controller::Dashboard).collect();
    if !dashboard.is_empty() {
        let in_page = Spread::of(dashboard.iter().filter_map(|s| Some(s.page_sent_ms? - s.sent_ms)));
        let after = Spread::of(dashboard.iter().filter_map(|s| Some(s.press?.arrived_ms - s.page_sent_ms?)));
        println!("\nThe dashboard's samples split at the page's send (ms, p50 | p95 | max):\n");
        println!("| Part | p50 | p95 | max |");
        println!("|---|---|---|---|");
        println!(
            "| pointerdown → the dashboard's listener has sent the button | {} |",
            Spread::cells(in_page)
        );
        println!(
            "| sent → ButtonPress at the X client (browser's SCTP, network, customer, XTest) | {} |",
            Spread::cells(after)
        );
    }
}

/// Prints the motion-to-photon table.
pub fn photon_table(samples: &[Sample], controllers: &[Controller]) {
    println!(
        "| Controller | Samples (no picture) | input → decoded p50 ms | p95 | max | repaint in framebuffer → decoded p50 ms | p95 | max |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &c in controllers {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.controller == c).collect();
        let photon = Spread::of(of.iter().filter_map(|s| s.photon_ms()));
        let video = Spread::of(of.iter().filter_map(|s| s.video_ms()));
        let missed = of.iter().filter(|s| s.decoded_ms.is_none()).count();
        println!(
            "| {} | {} ({missed}) | {} | {} |",
            c.label(),
            photon.map_or(0, |s| s.n),
            Spread::cells(photon),
            Spread::cells(video)
        );
    }
    let dashboard: Vec<&Sample> = samples.iter().filter(|s| s.controller == Controller::Dashboard).collect();
    if !dashboard.is_empty() {
        let shown = Spread::of(dashboard.iter().filter_map(|s| Some(s.page_shown_ms? - s.sent_ms)));
        let video = Spread::of(dashboard.iter().filter_map(|s| Some(s.page_shown_ms? - s.press?.painted_ms)));
        let missed = dashboard.iter().filter(|s| s.page_shown_ms.is_none()).count();
        println!(
            "| Dashboard (Chromium), **the page's own picture** (first frame presented with the new colour) | {} ({missed}) | {} | {} |",
            shown.map_or(0, |s| s.n),
            Spread::cells(shown),
            Spread::cells(video)
        );
    }
    let repaint = Spread::of(samples.iter().filter_map(|s| s.repaint_ms()));
    println!(
        "\nThe bench's repaint (ButtonPress → the fill is in the framebuffer), all samples, ms: {}",
        Spread::cells(repaint).replace(" | ", " / ")
    );
    let mut widths = std::collections::BTreeMap::<usize, usize>::new();
    for w in samples.iter().filter_map(|s| s.decoded_width) {
        *widths.entry(w).or_default() += 1;
    }
    let widths: Vec<String> = widths.iter().map(|(w, n)| format!("{n} at width {w}")).collect();
    println!("The native CSR's pictures that showed the change: {}", widths.join(", "));
}

/// Writes every sample's timestamps (ms since the epoch, empty when missing), one line each.
pub fn write_csv(path: &std::path::Path, samples: &[Sample]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "controller,sent,page_sent,x_arrived,painted,capture_called,capture_returned,encoded,decoded_native,page_presented,decoded_width"
    )?;
    let t = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    for s in samples {
        writeln!(
            out,
            "{:?},{},{},{},{},{},{},{},{},{},{}",
            s.controller,
            t(Some(s.sent_ms)),
            t(s.page_sent_ms),
            t(s.press.map(|p| p.arrived_ms)),
            t(s.press.map(|p| p.painted_ms)),
            t(s.captured.map(|c| c.called_ms)),
            t(s.captured.map(|c| c.returned_ms)),
            t(s.encoded_ms),
            t(s.decoded_ms),
            t(s.page_shown_ms),
            s.decoded_width.map_or(String::new(), |w| w.to_string()),
        )?;
    }
    out.flush()
}

/// Prints where the time of the picture goes, step by step, over all samples.
pub fn steps_table(samples: &[Sample]) {
    let step = |f: &dyn Fn(&Sample) -> Option<f64>| Spread::of(samples.iter().filter_map(f));
    let rows: [(&str, Option<Spread>); 6] = [
        ("ButtonPress → the repaint is in the framebuffer (the bench's X client)", step(&|s| s.repaint_ms())),
        (
            "repaint → the pipeline's next capture starts (waiting for its tick)",
            step(&|s| Some(s.captured?.called_ms - s.press?.painted_ms)),
        ),
        (
            "capture: X image over shared memory, BGRA→I420",
            step(&|s| Some(s.captured?.returned_ms - s.captured?.called_ms)),
        ),
        (
            "returned → encoded sample out of openh264",
            step(&|s| Some(s.encoded_ms? - s.captured?.returned_ms)),
        ),
        (
            "encoded → decoded at the native CSR (RTP over loopback, depacketizing, openh264 decode)",
            step(&|s| Some(s.decoded_ms? - s.encoded_ms?)),
        ),
        (
            "encoded → presented by the dashboard's video (Chromium: RTP, jitter buffer, decode, compositing)",
            step(&|s| Some(s.page_shown_ms? - s.encoded_ms?)),
        ),
    ];
    println!("| Step | Samples | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (what, spread) in rows {
        println!("| {what} | {} | {} |", spread.map_or(0, |s| s.n), Spread::cells(spread));
    }
}

/// Prints what the page's receiver of the customer's screen did while sampling, from two
/// getStats readings (webrtc-stats: delays are sums in seconds over emitted/decoded frames).
pub fn page_receiver_lines(before: &serde_json::Value, after: &serde_json::Value) {
    let d = |k: &str| after[k].as_f64().unwrap_or(0.0) - before[k].as_f64().unwrap_or(0.0);
    let per = |sum: &str, count: &str| {
        let n = d(count);
        if n > 0.0 { format!("{:.1} ms", 1e3 * d(sum) / n) } else { "–".into() }
    };
    println!(
        "- the dashboard's receiver while sampling (getStats): {:.0} frames decoded ({:.0} keyframes), {:.0} dropped, {:.0} freezes; \
         per frame: jitter buffer delay {}, its target {}, its minimum {}, decode {}, receive-to-decoded {}; {:.0} NACKs, {:.0} PLIs; {}x{}",
        d("framesDecoded"),
        d("keyFramesDecoded"),
        d("framesDropped"),
        d("freezeCount"),
        per("jitterBufferDelay", "jitterBufferEmittedCount"),
        per("jitterBufferTargetDelay", "jitterBufferEmittedCount"),
        per("jitterBufferMinimumDelay", "jitterBufferEmittedCount"),
        per("totalDecodeTime", "framesDecoded"),
        per("totalProcessingDelay", "framesDecoded"),
        d("nackCount"),
        d("pliCount"),
        after["frameWidth"],
        after["frameHeight"],
    );
}

/// Prints other programs' CPU use over the rounds kept and those discarded for it.
pub fn load_lines(total: Usage, kept: &[Usage], discarded: &[Usage], waited: std::time::Duration) {
    let worst = kept.iter().map(Usage::other_percent).fold(0.0, f64::max);
    let mean = |rounds: &[Usage]| {
        let wall: f64 = rounds.iter().map(|u| u.wall.as_secs_f64()).sum();
        let other: f64 = rounds.iter().map(|u| u.other.as_secs_f64()).sum();
        if wall > 0.0 { format!("{:.1} %", 100.0 * other / wall) } else { "–".into() }
    };
    println!(
        "- CPU while sampling ({:.0} s in all, {:.0} s of it waiting for other programs to quieten): the bench's processes (server, peers, Xvfb, node, Chromium) {:.0} % of one core; \
         **other programs {}** over the {} rounds kept (worst round {:.1} %); {} rounds discarded because other programs used more than 10 % (mean {})",
        total.wall.as_secs_f64(),
        waited.as_secs_f64(),
        total.ours_percent(),
        mean(kept),
        kept.len(),
        worst,
        discarded.len(),
        mean(discarded)
    );
}
