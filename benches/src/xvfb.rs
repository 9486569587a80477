//! A benchmark's own X server: Xvfb at the measured size, stopped when dropped.
//! Shared by `video-bench` and `control-bench`.
//!
//! Xvfb picks a free display number itself (`-displayfd`) and says it once it
//! accepts connections, so there is no race with other X servers, nor with a
//! stale socket a killed run left behind.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub struct Xvfb {
    child: Child,
    /// `:N`
    pub display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its socket and lock file.
        // SAFETY: a plain system call on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xvfb {
    /// Starts Xvfb with one screen of `width`×`height`×24 and returns once it accepts connections.
    pub fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let size = format!("{width}x{height}x24");
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &size, "-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (apt-get install xvfb)")?;
        let stdout = child.stdout.take().context("Xvfb's stdout")?;
        // Built before the check, so that a failed start is still stopped.
        let mut xvfb = Self { child, display: String::new() };
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).context("reading Xvfb's display number")?;
        match line.trim().parse::<u32>() {
            Ok(n) => xvfb.display = format!(":{n}"),
            Err(_) => bail!("Xvfb did not say its display number (it said {line:?})"),
        }
        Ok(xvfb)
    }
}
