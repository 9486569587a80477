//! The anchor: the same number of bytes Chromium → Chromium over one
//! reliable, ordered data channel on loopback, driven by
//! `tests/web/e2e/drivers/files-bench-chromium.mjs` (playwright-core under
//! node, Debian's Chromium, headless). One page holds both peer connections;
//! the sender generates each 64 KiB chunk with `crypto.getRandomValues`,
//! hashes it and sends it while the channel buffers at most the high-water
//! mark (`bufferedamountlow` resumes it); the receiver hashes what arrives:
//! with WebCrypto (SHA-256 of each chunk, then of the digests: native code,
//! the browser at its best), or with the web client's own incremental
//! SHA-256 in JavaScript (`web/js/sha256.js`), or not at all ([`Pacing::hash`]).
//!
//! One JSON object a line each way: the driver says `{"ready"}`, then
//! answers each `{"cmd":"run","id","bytes"}` with `{"done":{…}}` (or
//! `{"error"}`). Closing its stdin closes the browser; dropping [`Chromium`]
//! does that, and kills what is left of node's process tree after a deadline.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};

use crate::node_driver;
use crate::proc_cpu::{start_time, tree_cpu, tree_cpu_between, tree_pids};

const DRIVER: &str = "tests/web/e2e/drivers/files-bench-chromium.mjs";

/// How the page sends.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub chunk_bytes: usize,
    /// Stop sending while the channel buffers more than this.
    pub high_water: usize,
    /// `bufferedAmountLowThreshold`: go on when the buffer drains to this.
    pub low_water: usize,
    /// How both ends hash: `js` (web/js/sha256.js), `webcrypto` (each chunk), `none`.
    pub hash: &'static str,
}

/// One timed transfer in the page.
#[derive(Debug, Clone)]
pub struct ChromiumRun {
    pub seconds: f64,
    /// CPU time of node and every Chromium process during the run.
    pub cpu_seconds: f64,
}

pub struct Chromium {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    next_id: u64,
    /// The browser's version, as it says.
    pub version: String,
}

impl Chromium {
    /// Starts the driver (from the repository at `root`) and waits until the page's two peers are connected.
    pub fn start(root: &Path, pacing: Pacing) -> anyhow::Result<Self> {
        let args = [
            "--chunk".to_owned(),
            pacing.chunk_bytes.to_string(),
            "--high-water".to_owned(),
            pacing.high_water.to_string(),
            "--low-water".to_owned(),
            pacing.low_water.to_string(),
            "--hash".to_owned(),
            pacing.hash.to_owned(),
        ];
        let (tx, lines) = mpsc::channel();
        let (child, stdin) =
            node_driver::spawn(root, DRIVER, &args, "chromium", "--no-chromium", move |v| {
                tx.send(v).is_ok()
            })?;
        let mut chromium = Self { child, stdin, lines, next_id: 0, version: String::new() };
        let ready = chromium.expect("ready", Duration::from_secs(60))?;
        chromium.version = ready["version"].as_str().unwrap_or("?").to_owned();
        Ok(chromium)
    }

    /// Sends `bytes` through a new data channel; checks both ends' SHA-256 agree.
    pub fn transfer(&mut self, bytes: u64) -> anyhow::Result<ChromiumRun> {
        self.next_id += 1;
        let id = self.next_id;
        let cpu_before = tree_cpu(self.child.id());
        let stdin = self.stdin.as_mut().context("the driver's stdin is closed")?;
        writeln!(stdin, "{}", json!({ "cmd": "run", "id": id, "bytes": bytes }))?;
        stdin.flush()?;
        let done = self.expect("done", Duration::from_secs(1800))?;
        let cpu = tree_cpu_between(&cpu_before, &tree_cpu(self.child.id()));
        if done["id"].as_u64() != Some(id) {
            bail!("answer out of order: {done}");
        }
        let (sent, received) = (&done["sent_sha256"], &done["received_sha256"]);
        if sent != received || !sent.is_string() {
            bail!("the page's SHA-256s differ: sent {sent}, received {received}");
        }
        if done["received"].as_u64() != Some(bytes) {
            bail!("the page received {} bytes, not {bytes}", done["received"]);
        }
        let ms = done["ms"].as_f64().context("ms")?;
        Ok(ChromiumRun { seconds: ms / 1e3, cpu_seconds: cpu.as_secs_f64() })
    }

    /// The next answer carrying `key`; an `error` answer or the driver's end fails.
    fn expect(&mut self, key: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => {
                    anyhow!("the Chromium driver gave no {key:?} within {within:?}")
                }
                mpsc::RecvTimeoutError::Disconnected => anyhow!("the Chromium driver ended before {key:?}"),
            })?;
            if let Some(e) = line.get("error") {
                bail!("the Chromium driver failed: {e}");
            }
            if let Some(v) = line.get(key) {
                return Ok(v.clone());
            }
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Chromium's processes are node's children: remember them before node can go.
        let ours: Vec<(u32, u64)> =
            tree_pids(self.child.id()).into_iter().filter(|&(p, _)| p != self.child.id()).collect();
        drop(self.stdin.take()); // the driver closes the browser and exits
        if !wait_exit(&mut self.child, Duration::from_secs(10)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for (pid, started) in ours {
            if start_time(pid) == Some(started) {
                // SAFETY: a plain system call on the same process we saw under node (same pid and start time).
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
