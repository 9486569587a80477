//! A private X server for a test: Xvfb on a free display number, killed when dropped.

use std::process::{Child, Command};
use std::time::Duration;

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Xvfb with one screen of `size` (`640x480x24`).
pub fn start_xvfb(size: &str) -> Xvfb {
    for n in 90..130 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
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
