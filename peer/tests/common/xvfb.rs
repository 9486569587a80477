//! A private X server for a test: Xvfb on a display number it picks, stopped when dropped.

use std::process::{Child, Command};

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its socket and lock file; SIGKILL would leave them behind.
        // SAFETY: plain system call on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Starts Xvfb with one screen of `size` (`640x480x24`) on a display number it
/// picks itself (`-displayfd`: it says the number once it accepts connections,
/// and its lock files make the choice race-free between parallel tests).
pub fn start_xvfb(size: &str) -> Xvfb {
    use std::io::BufRead;
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", size, "-nolisten", "tcp", "-noreset"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("Xvfb must be installed (scripts/debian-packages/peer.txt)");
    let mut line = String::new();
    let read = std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    // Built before the check, so that a failed start is still stopped.
    let xvfb = Xvfb { child, display: format!(":{}", line.trim()) };
    assert!(
        read.is_ok() && line.trim().parse::<u32>().is_ok(),
        "Xvfb did not say its display number: {line:?}"
    );
    xvfb
}
