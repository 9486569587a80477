//! A native peer's session running as a task in a bench's process: its
//! commands, its events (read at once, so that the session never waits on
//! a bench that is busy measuring), and a stop. Shared by the bench binaries
//! (`#[path]` module).

use std::time::Duration;

use anyhow::bail;
use tandem_peer::session::{self, Command, Event, Setup};
use tandem_peer::signaling::Entry;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long one step of setting up may take.
pub const STEP: Duration = Duration::from_secs(30);

pub struct PeerTask {
    pub commands: mpsc::Sender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    task: JoinHandle<Result<Option<tandem_wire::EndReason>, tandem_peer::PeerError>>,
}

impl PeerTask {
    pub fn spawn(server: &str, entry: Entry, setup: Setup) -> Self {
        let (commands, command_rx) = mpsc::channel(64);
        let (event_tx, mut event_rx) = mpsc::channel(64);
        let (forward_tx, events) = mpsc::unbounded_channel();
        let server = server.to_owned();
        let task =
            tokio::spawn(async move { session::run(&server, entry, setup, command_rx, event_tx).await });
        // The session waits on a full event channel: read it at once, whatever the bench is doing.
        tokio::spawn(async move {
            while let Some(event) = event_rx.recv().await {
                if forward_tx.send(event).is_err() {
                    break;
                }
            }
        });
        Self { commands, events, task }
    }

    /// The first event `pick` takes, within [`STEP`].
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => bail!("no {what} within {STEP:?}"),
                Ok(None) => bail!("the session ended before {what}"),
                Ok(Some(event)) => {
                    if let Some(t) = pick(&event) {
                        return Ok(t);
                    }
                }
            }
        }
    }

    /// Leaves the session and waits (a little) for the task to end.
    pub async fn stop(self) {
        let _ = self.commands.send(Command::Leave).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}
