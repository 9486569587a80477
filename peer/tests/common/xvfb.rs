//! A private X server for a test: Xvfb on a free display number, killed when dropped.

use std::process::{Child, Command};
use std::time::Duration;

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

/// Whether display `n` is taken by a live X server; removes what a dead one left behind.
fn taken(n: u32) -> bool {
    let (socket, lock) = (format!("/tmp/.X11-unix/X{n}"), format!("/tmp/.X{n}-lock"));
    let exists = |p: &str| std::path::Path::new(p).exists();
    let pid = std::fs::read_to_string(&lock).ok().map(|s| s.trim().parse::<u32>());
    match pid {
        Some(Ok(pid)) if exists(&format!("/proc/{pid}")) => true,
        // A lock being written by a server starting now.
        Some(Err(_)) => true,
        // A dead server's lock, or a socket without a lock: left behind.
        Some(Ok(_)) | None if exists(&lock) || exists(&socket) => {
            let _ = std::fs::remove_file(&socket);
            let _ = std::fs::remove_file(&lock);
            false
        }
        _ => false,
    }
}

/// Starts Xvfb with one screen of `size` (`640x480x24`).
pub fn start_xvfb(size: &str) -> Xvfb {
    for n in 90..130 {
        if taken(n) {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([&display, "-screen", "0", size, "-nolisten", "tcp", "-noreset"])
            .spawn()
            .expect("Xvfb must be installed (scripts/debian-packages/peer.txt)");
        let mut xvfb = Xvfb { child, display };
        for _ in 0..100 {
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return xvfb;
            }
            if let Ok(Some(_)) = xvfb.child.try_wait() {
                break; // lost a race for this number: try the next
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = xvfb.child.kill();
    }
    panic!("could not start Xvfb on any display :90..:129");
}
