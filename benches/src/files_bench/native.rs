//! The native side of the file transfer benchmark, all in the bench's
//! process: the real signaling server on 127.0.0.1:0, a native customer
//! (`session::run` with `Setup::files`) granting a folder that holds the test file,
//! and a native CSR that downloads it into another folder, both with
//! loopback-only WebRTC. The bench answers the customer's prompts (file
//! transfer, then each download) with yes, as the person at that machine.
//!
//! One session carries every run: each download is a new transfer (a new
//! `rfile-<id>` channel) of the same file, timed from the CSR's command to
//! its `TransferFinished`, which comes once the last byte is written, the
//! receiver's SHA-256 matched the sender's and the file was renamed into
//! place. Both ends hash as the bytes pass, as in every transfer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use tandem_peer::link::LinkConfig;
use tandem_peer::session::{self, Command, Event, FilesAsk, FilesConfig};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_signaling::server::RunningServer;
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::{RelativePath, RemotePath, RootId};
use tandem_wire::{DisplayName, ParticipantId};
use tokio::sync::mpsc;

use crate::peer_task::PeerTask;
use crate::proc_cpu::process_cpu;

const CSR: (&str, &str) = ("nora", "bench password 1");
/// How long one transfer may take (1 GiB at 2 MB/s would still fit).
const TRANSFER: Duration = Duration::from_secs(600);

/// One timed download.
#[derive(Debug, Clone, Copy)]
pub struct NativeRun {
    pub seconds: f64,
    /// CPU time of the whole process (server, both peers) during the run.
    pub cpu_seconds: f64,
}

/// The server and the two connected peers, file transfer open.
pub struct Native {
    server: RunningServer,
    _server_dir: tempfile::TempDir,
    csr: PeerTask,
    customer: PeerTask,
    customer_id: ParticipantId,
    /// Where downloads land (emptied after each run).
    into: PathBuf,
    file_name: String,
    next_id: u32,
}

impl Native {
    /// Starts everything; the customer grants `root`, which holds `file_name`; downloads go to `into`.
    /// `sctp_mtu` overrides the links' SCTP packet size.
    pub async fn start(
        root: &Path,
        file_name: &str,
        into: &Path,
        sctp_mtu: Option<u32>,
    ) -> anyhow::Result<Self> {
        let (server, server_dir) = server().await?;
        let url = server.url.clone();
        let link = LinkConfig { sctp_mtu, ..LinkConfig::loopback() };
        let token = sign_in(&url, CSR.0, CSR.1).await?;
        let mut csr = PeerTask::spawn(
            &url,
            Entry::CreateSession { token },
            session::Setup { link: link.clone(), ..Default::default() },
        );
        let (number, invite) = csr
            .wait_for("the CSR's session", |e| match e {
                Event::Joined { session, invite: Some((invite, _)), .. } => {
                    Some((session.session_number, invite.clone()))
                }
                _ => None,
            })
            .await?;
        let files = FilesConfig { roots: vec![root.to_path_buf()], ..FilesConfig::default() };
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let entry = Entry::Customer { target, name: DisplayName::parse("Bench customer")? };
        let mut customer = PeerTask::spawn(&url, entry, session::Setup { link, files, ..Default::default() });
        let customer_id = csr
            .wait_for("the connection to the customer", |e| match e {
                Event::Connected(id) => Some(*id),
                _ => None,
            })
            .await?;
        // The person at the customer's machine says yes to file transfer and to every transfer.
        let customer_events = std::mem::replace(&mut customer.events, mpsc::unbounded_channel().1);
        tokio::spawn(allow_every_prompt(customer_events, customer.commands.clone()));
        csr.commands.send(Command::FilesOpen { to: customer_id }).await?;
        csr.wait_for("file transfer open", |e| match e {
            Event::FilesOpened { .. } => Some(Ok(())),
            Event::FilesClosed { code, .. } => Some(Err(anyhow!("file transfer refused: {code:?}"))),
            _ => None,
        })
        .await??;
        Ok(Self {
            server,
            _server_dir: server_dir,
            csr,
            customer,
            customer_id,
            into: into.to_path_buf(),
            file_name: file_name.to_owned(),
            next_id: 1,
        })
    }

    /// Downloads the file once; checks the receiver's SHA-256 against `want`
    /// and the size on disk, then removes the copy.
    pub async fn download(&mut self, want: &str, size: u64) -> anyhow::Result<NativeRun> {
        let id = TransferId(self.next_id);
        self.next_id += 1;
        let path = RemotePath { root: RootId(0), path: RelativePath::parse(self.file_name.as_str())? };
        let landed = self.into.join(&self.file_name);
        let cpu_before = process_cpu();
        let started = Instant::now();
        self.csr
            .commands
            .send(Command::FilesDownload { from: self.customer_id, id, path, into: self.into.clone() })
            .await?;
        let deadline = tokio::time::Instant::now() + TRANSFER;
        let mut hash = None;
        loop {
            let event = tokio::time::timeout_at(deadline, self.csr.events.recv())
                .await
                .map_err(|_| anyhow!("transfer {} not done within {TRANSFER:?}", id.0))?
                .context("the CSR's session ended")?;
            match event {
                Event::TransferFile { id: i, sha256, .. } if i == id => {
                    hash = Some(sha256.as_str().to_owned())
                }
                Event::TransferFinished { id: i, .. } if i == id => break,
                Event::TransferFailed { id: i, code, .. } if i == id => {
                    bail!("transfer {} failed: {code:?}", id.0)
                }
                _ => {}
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu_seconds = (process_cpu() - cpu_before).as_secs_f64();
        let hash = hash.context("no TransferFile before TransferFinished")?;
        if hash != want {
            bail!("the receiver's SHA-256 {hash} is not the file's {want}");
        }
        let on_disk = std::fs::metadata(&landed).with_context(|| landed.display().to_string())?.len();
        if on_disk != size {
            bail!("{} holds {on_disk} bytes, not {size}", landed.display());
        }
        std::fs::remove_file(&landed)?;
        Ok(NativeRun { seconds, cpu_seconds })
    }

    /// Both peers leave, the server stops.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.csr.stop().await;
        self.customer.stop().await;
        self.server.shutdown().await
    }
}

/// The server with the CSR's account.
async fn server() -> anyhow::Result<(RunningServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let config = tandem_signaling::config::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().into(),
        ..Default::default()
    };
    let store = tandem_signaling::store::open(&config.database_url()).await?;
    let hash = tandem_signaling::auth::hash_password(CSR.1).map_err(|e| anyhow!("{e}"))?;
    store.add_agent(&DisplayName::parse(CSR.0)?, &hash, tandem_signaling::hub::now()).await?;
    store.close().await;
    Ok((tandem_signaling::server::start(config).await?, dir))
}

/// The customer's person: allows file transfer and every transfer.
async fn allow_every_prompt(mut events: mpsc::UnboundedReceiver<Event>, commands: mpsc::Sender<Command>) {
    while let Some(event) = events.recv().await {
        if let Event::FilesPrompt {
            from,
            request_id,
            ask: FilesAsk::Open { .. } | FilesAsk::Transfer(_),
            ..
        } = event
        {
            let decide = Command::Decide { from, request_id, allowed: true, window: None };
            if commands.send(decide).await.is_err() {
                return;
            }
        }
    }
}
