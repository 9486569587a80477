//! The harness of the advanced file transfer tests (`files*.rs`): the real
//! server, a native CSR and a native customer whose granted folder is a temp
//! dir, both sessions as tasks whose events are drained into unbounded queues
//! (so that a session never waits on a test looking at the other one), and
//! seeded file contents with their SHA-256.
#![allow(dead_code)] // each test file uses part of it

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tandem_peer::PeerError;
use tandem_peer::session::{self, Command, Event, FilesAsk, FilesConfig};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::{RelativePath, RemotePath, RootId, TransferErrorCode};
use tandem_wire::{DisplayName, EndReason, ParticipantId};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[path = "../common/mod.rs"]
pub mod common;

/// Time for one step of a test (a big transfer included) on 2 shared cores.
pub const STEP: Duration = Duration::from_secs(45);

pub struct Side {
    pub commands: mpsc::Sender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub task: JoinHandle<Result<Option<EndReason>, PeerError>>,
    /// The other participant, as this side knows it.
    pub other: ParticipantId,
}

impl Side {
    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
                .unwrap_or_else(|| panic!("session ended before {what}"));
            if let Some(t) = pick(&event) {
                return t;
            }
            if let Event::TransferFailed { .. } | Event::FilesClosed { .. } = event {
                tracing::info!(?event, "while waiting for {what}");
            }
        }
    }

    /// Waits until this side sees transfer `id` at least half confirmed; returns the
    /// bytes confirmed then. Panics if it ends before.
    pub async fn half_confirmed(&mut self, id: TransferId) -> u64 {
        self.wait_for("half of the transfer", |e| match e {
            Event::TransferProgress { id: i, progress, .. }
                if *i == id && progress.confirmed_bytes * 2 >= progress.total_bytes =>
            {
                Some(progress.confirmed_bytes)
            }
            Event::TransferFinished { id: i, .. } if *i == id => panic!("finished before half was reported"),
            Event::TransferFailed { id: i, code, .. } if *i == id => panic!("failed before half: {code:?}"),
            _ => None,
        })
        .await
    }

    /// Waits for transfer `id` to fail on this side; its code. Panics if it goes through.
    pub async fn failed(&mut self, id: TransferId) -> TransferErrorCode {
        self.wait_for("the transfer's failure", |e| match e {
            Event::TransferFailed { id: i, code, .. } if *i == id => Some(*code),
            Event::TransferFinished { id: i, .. } if *i == id => panic!("transfer {} went through", id.0),
            _ => None,
        })
        .await
    }

    /// Everything that arrived so far, without waiting.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    pub async fn send(&self, command: Command) {
        self.commands.send(command).await.expect("session running");
    }

    /// Answers the next file transfer prompt (the consent window's stand-in); returns what it asked.
    pub async fn answer(&mut self, allowed: bool) -> FilesAsk {
        let (from, request_id, ask) = self
            .wait_for("a file transfer prompt", |e| match e {
                Event::FilesPrompt { from, request_id, ask, .. } => Some((*from, *request_id, ask.clone())),
                _ => None,
            })
            .await;
        self.send(Command::Decide { from, request_id, allowed, window: None }).await;
        ask
    }

    /// Answers the next per-transfer prompt; returns what it said.
    pub async fn answer_transfer(&mut self, allowed: bool) -> session::TransferSummary {
        match self.answer(allowed).await {
            FilesAsk::Transfer(summary) => summary,
            other => panic!("a transfer prompt was expected, not {other:?}"),
        }
    }
}

/// A session task: commands in, events out (unbounded), its outcome.
type Running =
    (mpsc::Sender<Command>, mpsc::UnboundedReceiver<Event>, JoinHandle<Result<Option<EndReason>, PeerError>>);

fn spawn(
    server: &str,
    entry: Entry,
    media: tandem_peer::media::Media,
    link: tandem_peer::link::LinkConfig,
    files: FilesConfig,
) -> Running {
    let (commands, command_rx) = mpsc::channel(16);
    let (event_tx, mut session_events) = mpsc::channel(64);
    let (tx, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(e) = session_events.recv().await {
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    let server = server.to_owned();
    let task = tokio::spawn(async move {
        let setup = session::Setup { link, media, files, ..Default::default() };
        session::run(&server, entry, setup, command_rx, event_tx).await
    });
    (commands, events, task)
}

/// A CSR and a customer in one session, connected; the customer grants `root`.
pub struct Pair {
    pub csr: Side,
    pub customer: Side,
    /// The session, and the CSR's sign-in token (for the session report).
    pub session_id: String,
    pub token: String,
    pub _server: tandem_signaling::server::RunningServer,
    pub _dir: tempfile::TempDir,
}

pub async fn pair(root: &Path, files: impl FnOnce(&mut FilesConfig)) -> Pair {
    pair_with_media(root, files, Default::default()).await
}

/// [`pair`] with the customer sending `media`.
pub async fn pair_with_media(
    root: &Path,
    files: impl FnOnce(&mut FilesConfig),
    media: tandem_peer::media::Media,
) -> Pair {
    pair_configured(root, files, media, common::loopback()).await
}

/// [`pair_with_media`] with both peers' network settings.
pub async fn pair_configured(
    root: &Path,
    files: impl FnOnce(&mut FilesConfig),
    media: tandem_peer::media::Media,
    link: tandem_peer::link::LinkConfig,
) -> Pair {
    let (server, dir) = common::start_server().await;
    let tls = tandem_peer::tls::client_config(&[]).unwrap();
    let token =
        tandem_peer::signaling::sign_in_trusting(&server.url, "carla", common::PASSWORD, tls).await.unwrap();
    let auth = token.clone();
    let (commands, events, task) = spawn(
        &server.url,
        Entry::CreateSession { token },
        Default::default(),
        link.clone(),
        FilesConfig::default(),
    );
    let mut csr = Side { commands, events, task, other: ParticipantId::from_raw(0) };
    let (number, invite, session_id) = csr
        .wait_for("session created", |e| match e {
            Event::Joined { session, invite: Some((invite, _)), .. } => {
                Some((session.session_number, invite.clone(), session.session_id.to_string()))
            }
            _ => None,
        })
        .await;
    let mut config = FilesConfig { roots: vec![root.to_path_buf()], ..FilesConfig::default() };
    files(&mut config);
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let name = DisplayName::parse("Ines").unwrap();
    let (commands, events, task) = spawn(&server.url, Entry::Customer { target, name }, media, link, config);
    let mut customer = Side { commands, events, task, other: ParticipantId::from_raw(0) };
    csr.other = csr
        .wait_for("the customer connected", |e| match e {
            Event::Connected(id) => Some(*id),
            _ => None,
        })
        .await;
    customer.other = customer
        .wait_for("the CSR connected", |e| match e {
            Event::Connected(id) => Some(*id),
            _ => None,
        })
        .await;
    let token = auth.as_str().to_owned();
    Pair { csr, customer, session_id, token, _server: server, _dir: dir }
}

impl Pair {
    /// The session's report as the server's API gives it, once `done` holds (the customer's
    /// records reach the server a little after the events that caused them).
    pub async fn report_until(&self, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let url = format!("{}/api/v1/reports/{}", self._server.url, self.session_id);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let response = reqwest::Client::new().get(&url).bearer_auth(&self.token).send().await.unwrap();
            let report: serde_json::Value = response.json().await.unwrap_or_default();
            if done(&report) {
                return report;
            }
            assert!(tokio::time::Instant::now() < deadline, "the report never showed it: {report:#}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The CSR opens file transfer and the customer allows it.
    pub async fn open(&mut self) {
        self.csr.send(Command::FilesOpen { to: self.csr.other }).await;
        let asked = self.customer.answer(true).await;
        assert!(matches!(asked, FilesAsk::Open { .. }), "{asked:?}");
        self.csr
            .wait_for("file transfer opened", |e| matches!(e, Event::FilesOpened { .. }).then_some(()))
            .await;
    }

    /// Waits for transfer `id` to finish on `side`; panics on its failure.
    pub async fn finished(side: &mut Side, id: TransferId) -> tandem_peer::files::transfer::Progress {
        side.wait_for("the transfer's end", |e| match e {
            Event::TransferFinished { id: i, progress, .. } if *i == id => Some(*progress),
            Event::TransferFailed { id: i, code, .. } if *i == id => {
                panic!("transfer {} failed: {code:?}", id.0)
            }
            _ => None,
        })
        .await
    }
}

pub fn at(path: &str) -> RemotePath {
    RemotePath { root: RootId(0), path: RelativePath::parse(path).unwrap() }
}

/// Writes `len` bytes from a seeded generator (xorshift64*) to `path`; returns their SHA-256 (hex).
pub fn seeded_file(path: &Path, len: u64, seed: u64) -> String {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).unwrap();
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    file.flush().unwrap();
    hex(&hasher.finalize())
}

/// The SHA-256 of a file on disk (hex).
pub fn sha256_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex(&hasher.finalize())
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every path below `dir` (relative, sorted; folders end with `/`).
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                out.push(format!("{rel}/"));
                pending.push(entry.path());
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}
