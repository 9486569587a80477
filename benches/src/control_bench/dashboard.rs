//! The CSR's dashboard in Debian's Chromium, driven by
//! `tests/web/e2e/drivers/control-bench-csr.mjs` (playwright-core under node):
//! the driver signs in, starts the session, asks the native customer for
//! control from the Desktop tab and then clicks on the remote screen when
//! told to. One JSON object a line each way (stdin: commands; stdout:
//! answers). The page stamps each `pointerdown` with
//! `performance.timeOrigin + event.timeStamp`, and each frame its video
//! presents with `performance.timeOrigin + presentationTime`
//! (requestVideoFrameCallback); [`Dashboard::clock`] compares that clock
//! with the bench's `CLOCK_REALTIME`.
//!
//! Dropping it closes the driver's stdin (it closes the browser and exits),
//! and kills what is left of node and its Chromium by pid after a deadline.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::node_driver;
use crate::now_ms;
use crate::proc_cpu::{start_time, tree_pids};

const DRIVER: &str = "tests/web/e2e/drivers/control-bench-csr.mjs";

/// One pointerdown on the dashboard's remote screen, page times converted to the bench's clock.
#[derive(Debug, Clone, Copy)]
pub struct PageClick {
    /// The event's own time (`event.timeStamp`: when the browser took the input).
    pub event_ms: f64,
    /// When the dashboard's listener had sent the button on the `control` channel.
    pub sent_ms: f64,
}

/// A comparison of the page's clock with the bench's.
#[derive(Debug, Clone, Copy)]
pub struct ClockCheck {
    /// Page time minus the bench's time at the midpoint of the round trip, ms.
    pub offset_ms: f64,
    /// The round trip (the offset is known to ± half of it), ms.
    pub round_trip_ms: f64,
}

pub struct Dashboard {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    next_id: u64,
    /// Applied to page times: the latest [`ClockCheck`]'s offset.
    offset_ms: f64,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // Chromium's processes are node's children: remember them before node can go.
        let ours: Vec<(u32, u64)> =
            tree_pids(self.child.id()).into_iter().filter(|&(pid, _)| pid != self.child.id()).collect();
        drop(self.stdin.take()); // the driver closes the browser and exits
        if !wait_exit(&mut self.child, Duration::from_secs(10)) {
            // SAFETY: a plain system call on our own child's pid; playwright closes Chromium on SIGTERM.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            if !wait_exit(&mut self.child, Duration::from_secs(5)) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        for (pid, started) in ours {
            if start_time(pid) == Some(started) {
                // SAFETY: the same process we saw under node (same pid and start time).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Dashboard {
    /// Starts the driver against the server at `url`; `root` is the repository (driver and `node_modules`).
    pub fn start(root: &Path, url: &str) -> anyhow::Result<Self> {
        let (tx, lines) = mpsc::unbounded_channel();
        let (child, stdin) =
            node_driver::spawn(root, DRIVER, &[url.to_owned()], "dashboard", "--no-dashboard", move |v| {
                tx.send(v).is_ok()
            })?;
        Ok(Self { child, stdin, lines, next_id: 0, offset_ms: 0.0 })
    }

    /// The next answer carrying `key`; an `error` answer or the driver's end fails.
    pub async fn expect(&mut self, key: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .map_err(|_| anyhow!("the dashboard driver gave no {key:?} within {within:?}"))?
                .ok_or_else(|| anyhow!("the dashboard driver ended before {key:?}"))?;
            if let Some(e) = line.get("error") {
                bail!("the dashboard driver failed: {e}");
            }
            if let Some(v) = line.get(key) {
                return Ok(v.clone());
            }
        }
    }

    fn send(&mut self, mut command: Value) -> anyhow::Result<u64> {
        self.next_id += 1;
        command["id"] = json!(self.next_id);
        let stdin = self.stdin.as_mut().context("the driver's stdin is closed")?;
        writeln!(stdin, "{command}")?;
        stdin.flush()?;
        Ok(self.next_id)
    }

    /// Compares clocks `rounds` times and keeps the tightest round trip; page times are
    /// corrected by its offset from now on.
    pub async fn clock(&mut self, rounds: usize) -> anyhow::Result<ClockCheck> {
        let mut best: Option<ClockCheck> = None;
        for _ in 0..rounds {
            let before = now_ms();
            let id = self.send(json!({ "cmd": "clock" }))?;
            let answer = self.expect("clock", Duration::from_secs(10)).await?;
            let after = now_ms();
            if answer["id"].as_u64() != Some(id) {
                bail!("clock answer out of order: {answer}");
            }
            let page = answer["page_ms"].as_f64().context("page_ms")?;
            let check =
                ClockCheck { offset_ms: page - (before + after) / 2.0, round_trip_ms: after - before };
            if best.is_none_or(|b| check.round_trip_ms < b.round_trip_ms) {
                best = Some(check);
            }
        }
        let best = best.context("no clock round")?;
        self.offset_ms = best.offset_ms;
        Ok(best)
    }

    /// Clicks the remote screen at the surface point (`fx`, `fy`); returns the page's stamps.
    pub async fn click(&mut self, fx: f64, fy: f64) -> anyhow::Result<PageClick> {
        let id = self.send(json!({ "cmd": "click", "x": fx, "y": fy }))?;
        let answer = self.expect("clicked", Duration::from_secs(10)).await?;
        if answer["id"].as_u64() != Some(id) {
            bail!("click answer out of order: {answer}");
        }
        let page = |k: &str| {
            answer[k].as_f64().map(|t| t - self.offset_ms).with_context(|| format!("{k} in {answer}"))
        };
        Ok(PageClick { event_ms: page("event_ms")?, sent_ms: page("sent_ms")? })
    }

    /// The page's inbound-rtp counters of the customer's screen (W3C webrtc-stats names).
    pub async fn stats(&mut self) -> anyhow::Result<Value> {
        let id = self.send(json!({ "cmd": "stats" }))?;
        let answer = self.expect("stats", Duration::from_secs(10)).await?;
        if answer["id"].as_u64() != Some(id) {
            bail!("stats answer out of order: {answer}");
        }
        Ok(answer)
    }

    /// When the page first presented a frame showing `rgb` (0xRRGGBB) over the remote
    /// screen after the last click (`None`: not within the driver's 3 s).
    pub async fn photon(&mut self, rgb: u32) -> anyhow::Result<Option<f64>> {
        let channels = [(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff];
        let id = self.send(json!({ "cmd": "photon", "rgb": channels }))?;
        let answer = self.expect("photon", Duration::from_secs(10)).await?;
        if answer["id"].as_u64() != Some(id) {
            bail!("photon answer out of order: {answer}");
        }
        Ok(answer["shown_ms"].as_f64().map(|t| t - self.offset_ms))
    }
}
