//! The bench's own X server: Xvfb at the measured size on a free display
//! number (:180..:219, away from the Rust tests' :90..:129 and the web tests' :140..:179), stopped when dropped.

use std::path::Path;
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
    /// Starts Xvfb with one screen of `width`×`height`×24 and waits for its socket.
    pub fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let size = format!("{width}x{height}x24");
        for n in 180..220 {
            if taken(n) {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([&display, "-screen", "0", &size, "-nolisten", "tcp", "-noreset"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb (apt-get install xvfb)")?;
            let mut xvfb = Self { child, display };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Ok(xvfb);
                }
                if let Ok(Some(_)) = xvfb.child.try_wait() {
                    break; // lost a race for this number: try the next
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Dropping `xvfb` stops it.
        }
        bail!("could not start Xvfb on any display :180..:219")
    }
}

/// Whether display `n` belongs to a live X server (or one starting now).
fn taken(n: u32) -> bool {
    let lock = format!("/tmp/.X{n}-lock");
    match std::fs::read_to_string(&lock).map(|s| s.trim().parse::<u32>()) {
        Ok(Ok(pid)) => Path::new(&format!("/proc/{pid}")).exists(),
        Ok(Err(_)) => true,
        Err(_) => Path::new(&format!("/tmp/.X11-unix/X{n}")).exists(),
    }
}
