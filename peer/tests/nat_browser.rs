//! Chromium across real NATs (issue 5, NET-2): a CSR's dashboard in Chromium,
//! started inside peer A's network namespace by the driver script
//! `tests/web/e2e/drivers/nat-csr.mjs`, meets a native customer (the peer's
//! `session::run` on a runtime in peer B's namespace, sharing a test-pattern
//! H.264 screen) through the signaling server and coturn on the public
//! segment. The page reports what it sees (the screen playing, the selected
//! ICE candidate pair from getStats, the path on the dashboard) as JSON lines
//! on the driver's stdout; the native customer reports its selected path.
//!
//! Needs `node_modules` at the repository root (`npm ci`), `/usr/bin/chromium`
//! and coturn's `turnserver`; runs as root (network namespaces).

mod common;
#[path = "common/nat_world.rs"]
mod nat_world;

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::netns::{Firewall, Host, Nat, kill_processes_in};
use common::*;
use nat_world::{Relay, SIGNALING_PORT, TURN_PORT, World, relayed, world};
use serde_json::Value;
use tandem_peer::link::{LinkConfig, Path};
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::{Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::VideoSource;
use tandem_peer::video::test_pattern::TestPattern;
use tandem_wire::DisplayName;

/// The repository root: the driver script and `node_modules` are there.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const DRIVER: &str = "tests/web/e2e/drivers/nat-csr.mjs";
/// From the page's link to its last check: the driver's own deadlines end first, with its diagnosis.
const MEETING_DEADLINE: Duration = Duration::from_secs(90);
/// The chat line the page sends, and the customer's answer.
const PING: &str = "Can you see my screen?";
const PONG: &str = "Yes, through the relay";
/// The customer's test pattern (its smallest size).
const SCREEN: (u64, u64) = (512, 256);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_behind_a_symmetric_nat_meets_a_native_peer_through_the_relay() {
    let mut world = world(Nat::Symmetric, Nat::Symmetric, Firewall::Open, Relay::Coturn).await;
    let meeting = meet_in_chromium(&mut world).await;
    meeting.assert_screen_plays();
    let (local, remote) = meeting.pair();
    assert!(
        local["candidateType"] == "relay" || remote["candidateType"] == "relay",
        "symmetric NATs leave only the relay, but the page selected {local} ↔ {remote}"
    );
    let (mine, _) = meeting.path_reports();
    assert!(mine["local"] == "relay" || mine["remote"] == "relay", "the page's path report: {mine}");
    assert!(
        relayed(&meeting.customer_path),
        "the customer's path is relayed, not {:?}",
        meeting.customer_path
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_udp_chromium_reaches_the_relay_over_tcp() {
    let open = &[SIGNALING_PORT, TURN_PORT];
    let mut world = world(Nat::Cone, Nat::Cone, Firewall::TcpOnlyTo(open), Relay::Coturn).await;
    let meeting = meet_in_chromium(&mut world).await;
    meeting.assert_screen_plays();
    let (local, remote) = meeting.pair();
    assert_eq!(
        (&local["candidateType"], &local["relayProtocol"]),
        (&Value::from("relay"), &Value::from("tcp")),
        "the page reaches coturn over TCP: {local} ↔ {remote}"
    );
    assert!(
        relayed(&meeting.customer_path),
        "the customer's path is relayed, not {:?}",
        meeting.customer_path
    );
    // What the page reported to the server (for the dashboard, the session report, /metrics).
    let (mine, theirs) = meeting.path_reports();
    assert_eq!(
        (&mine["local"], &mine["protocol"]),
        (&Value::from("relay"), &Value::from("tcp")),
        "the page's path report: {mine}"
    );
    // The customer's row on the dashboard, in the English catalog's words. It puts the
    // customer's own report first (network-path.js): relayed via TCP (the page's end),
    // unless the customer reports its own end relayed too (seen once in ~25 runs: the
    // native peer selected relay ↔ relay while Chromium selected relay ↔ srflx).
    let protocol =
        if theirs["local"] == "relay" { theirs["protocol"].as_str().unwrap_or("?") } else { "tcp" };
    let template = meeting.page["relayedText"].as_str().expect("the catalog's path.relayed");
    assert_eq!(
        meeting.page["dashboardPath"],
        serde_json::json!([template.replace("{protocol}", protocol)]),
        "the customer's row on the dashboard; the customer reported {theirs}"
    );
}

/// What the page and the customer saw of one session.
struct Meeting {
    /// The driver's result: `video`, `pair`, `selfId`, `paths`, `dashboardPath`, `relayedText`, `pageErrors`.
    page: Value,
    /// The customer's last reported path.
    customer_path: Path,
}

impl Meeting {
    /// The native screen played in the page: its size, frames presented, time advancing.
    fn assert_screen_plays(&self) {
        let video = &self.page["video"];
        // The pipeline may halve the pattern's size under load, never change its shape.
        let size = (video["width"].as_u64().unwrap_or(0), video["height"].as_u64().unwrap_or(0));
        assert!(size.0 > 0 && size.0 * SCREEN.1 == size.1 * SCREEN.0, "the screen's size: {video}");
        let red = |i: usize| video["red"][i].as_u64().unwrap_or(0);
        assert!(red(0) > 200 && red(1) < 60 && red(2) < 60, "the pattern's red block is red: {video}");
        assert!(video["frames"].as_u64().unwrap_or(0) >= 10, "frames presented: {video}");
        assert!(video["advanced"].as_f64().unwrap_or(0.0) > 0.0, "currentTime advances: {video}");
        assert_eq!(self.page["pageErrors"], serde_json::json!([]), "no page errors");
    }

    /// The path reports the page holds: its own, and the customer's.
    fn path_reports(&self) -> (&Value, &Value) {
        let paths = self.page["paths"].as_array().map(Vec::as_slice).unwrap_or_default();
        let me = &self.page["selfId"];
        let mine = paths.iter().find(|p| p["from"] == *me);
        let theirs = paths.iter().find(|p| p["with"] == *me);
        match (mine, theirs) {
            (Some(mine), Some(theirs)) => (mine, theirs),
            _ => panic!("both ends' path reports, not {}", self.page["paths"]),
        }
    }

    /// The page's selected candidate pair: its local and remote candidates.
    fn pair(&self) -> (&Value, &Value) {
        (&self.page["pair"]["local"], &self.page["pair"]["remote"])
    }
}

/// The driver starts Chromium in A, signs in as the CSR and starts a session; the native
/// customer joins from B by the invitation link and answers the page's chat line.
/// Returns once the page has checked everything, with the customer's path.
async fn meet_in_chromium(world: &mut World) -> Meeting {
    let start = Instant::now();
    let mut driver = Driver::start(world);
    let deadline = tokio::time::Instant::now() + MEETING_DEADLINE;
    let link = driver.next(deadline).await;
    let link = link["link"].as_str().unwrap_or_else(|| panic!("an invitation link, not {link}"));
    let target = JoinTarget::parse(link).unwrap();
    eprintln!("{:.1} s: the page started a session: {link}", start.elapsed().as_secs_f32());

    let (screen, _pipeline) = video_feed(
        MediaKind::Screen,
        Box::new(|| {
            Ok(Box::new(TestPattern::new(SCREEN.0 as usize, SCREEN.1 as usize)) as Box<dyn VideoSource>)
        }),
    );
    let media = Media { feeds: vec![screen], video_sinks: None, audio_sinks: None };
    let entry = Entry::Customer { target, name: DisplayName::parse("Dana").unwrap() };
    let config = LinkConfig { tls_roots: world.tls_roots.clone(), ..LinkConfig::default() };
    let rt_b = world.topology.runtime(Host::B);
    let mut customer = {
        let _in_b = rt_b.enter();
        spawn_peer_configured(&world.url, entry, media, config)
    };

    let (mut customer_path, mut page) = (None, None);
    while customer_path.is_none() || page.is_none() {
        tokio::select! {
            line = driver.lines.recv() => page = Some(driver.result(line)),
            event = customer.events.recv() => match event {
                Some(Event::Path { path, .. }) => {
                    eprintln!("{:.1} s: the customer's path: {path:?}", start.elapsed().as_secs_f32());
                    customer_path = Some(path);
                }
                Some(Event::Chat { text, .. }) if text == PING => customer.chat(PONG).await,
                // The page asks to see the screen; the customer allows it.
                Some(Event::ConsentPrompt { from, request_id, .. }) => {
                    let allow = Command::Decide { from, request_id, allowed: true, window: None };
                    customer.commands.send(allow).await.unwrap();
                }
                Some(_) => {}
                None => panic!("the customer's session ended: {:?}", customer.task.await),
            },
            () = tokio::time::sleep_until(deadline) => panic!(
                "within {MEETING_DEADLINE:?}: customer's path {customer_path:?}, page result {page:?}; the driver said:\n{}",
                driver.log()
            ),
        }
    }
    let page = page.expect("waited for above");
    eprintln!("{:.1} s: the page's checks: {page}", start.elapsed().as_secs_f32());
    driver.finish().await;
    eprintln!("{:.1} s: the browser closed", start.elapsed().as_secs_f32());
    Meeting { page, customer_path: customer_path.expect("waited for above") }
}

/// The driver script running in A's namespace: its stdout lines, its stderr, and
/// (on drop) the end of every process left in the namespace, Chromium's included.
struct Driver {
    namespace: String,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    log: Arc<Mutex<String>>,
}

impl Driver {
    fn start(world: &mut World) -> Self {
        let root = std::path::Path::new(ROOT).canonicalize().expect("the repository root");
        assert!(
            root.join("node_modules/playwright-core").is_dir(),
            "node_modules/playwright-core is missing: run `npm ci` in {} first",
            root.display()
        );
        let script = root.join(DRIVER);
        let args = [script.to_str().unwrap(), &world.url, world.cert_pem.to_str().unwrap(), PING, PONG];
        let namespace = world.topology.ns(Host::A);
        // The new interfaces' IPv6 link-local addresses leave their tentative state
        // a second or two later; Chromium takes that for a network change and fails
        // what it is loading (net::ERR_NETWORK_CHANGED). The test needs IPv4 only.
        let sysctl = std::process::Command::new("ip")
            .args(["netns", "exec", &namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            .status()
            .expect("sysctl");
        assert!(sysctl.success(), "disabling IPv6 in {namespace}");
        let node = world.topology.spawn(Host::A, "node", &args);
        let (stdout, mut stderr) = (node.stdout.take().unwrap(), node.stderr.take().unwrap());
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Driver { namespace, lines, log }
    }

    /// The next message, or a panic with the driver's error and log.
    async fn next(&mut self, deadline: tokio::time::Instant) -> Value {
        match tokio::time::timeout_at(deadline, self.lines.recv()).await {
            Ok(line) => self.message(line),
            Err(_) => panic!("no word from the driver within {MEETING_DEADLINE:?}; it said:\n{}", self.log()),
        }
    }

    /// Parses a line of the driver's stdout (`None`: it exited).
    fn message(&self, line: Option<String>) -> Value {
        let Some(line) = line else { panic!("the driver exited early; it said:\n{}", self.log()) };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the driver wrote {line:?} ({e}); it said:\n{}", self.log()));
        if let Some(error) = message.get("error") {
            panic!("the page failed: {error}\nthe driver said:\n{}", self.log());
        }
        message
    }

    /// The driver's result line (`None`: it exited).
    fn result(&self, line: Option<String>) -> Value {
        let message = self.message(line);
        message.get("result").cloned().unwrap_or_else(|| panic!("the driver's result, not {message}"))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Lets the driver close the browser and exit by itself (a few seconds at most).
    async fn finish(&mut self) {
        let exited = tokio::time::timeout(Duration::from_secs(10), async {
            while self.lines.recv().await.is_some() {}
        });
        if exited.await.is_err() {
            eprintln!("the driver did not exit within 10 s; killing it");
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_processes_in(&self.namespace);
    }
}
