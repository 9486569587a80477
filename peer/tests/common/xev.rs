//! `xev` on a window covering a test X display: what the X server delivers
//! (pointer positions, buttons, keys and their text), line by line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Xev {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Xev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xev {
    /// Starts `xev` over the top-left `width`x`height` of `display`, logging keys and buttons,
    /// and waits until its window can receive input.
    pub fn start(display: &str, width: u32, height: u32) -> Self {
        let geometry = format!("{width}x{height}+0+0");
        let mut child = Command::new("xev")
            .args(["-display", display, "-geometry", &geometry, "-event", "keyboard", "-event", "button"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("xev (x11-utils) must be installed");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (out, sink) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        wait_viewable(display, "Event Tester");
        Self { child, lines }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// How many logged lines start with `what` (e.g. `ButtonPress`).
    pub fn count(&self, what: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.starts_with(what)).count()
    }

    /// Waits (blocking) until `pred` holds for the log.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pred(&self.text()) {
            assert!(Instant::now() < deadline, "xev never showed {what}:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (without blocking the runtime) until the log contains `what`.
    pub async fn wait_for(&self, what: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !self.text().contains(what) {
            assert!(tokio::time::Instant::now() < deadline, "xev never showed {what}:\n{}", self.text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Waits until the window named `name` is mapped and viewable (no window manager: then it gets input).
pub fn wait_viewable(display: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out =
            Command::new("xwininfo").args(["-display", display, "-name", name]).output().expect("xwininfo");
        if String::from_utf8_lossy(&out.stdout).contains("IsViewable") {
            return;
        }
        assert!(Instant::now() < deadline, "window {name:?} never became viewable");
        std::thread::sleep(Duration::from_millis(20));
    }
}
