//! Between the session and the person at this machine: consent prompts go to
//! the consent window ([`crate::ui`]), its answers come back as session
//! commands (an allowed application request with the window the person
//! chose, [`Command::Decide`]'s `window`), and the on-screen indicator shows
//! what is allowed now. File transfer, each transfer and system information
//! ([`Event::FilesPrompt`]) are asked in the same window. Without a display there is nobody to ask, and every
//! request is denied.

use std::collections::{BTreeMap, HashMap};

use tandem_wire::channels::{Capability, RequestId, TransferId};
use tandem_wire::{ConsentOutcome, ParticipantId};
use tokio::sync::mpsc;

use crate::session::{Command, Event};
use crate::ui::{ActiveGrant, ConsentUi, FilesActivity, Prompt, Question, TransferLine, UiEvent};

/// The consent window (if any) and what it shows.
pub struct ConsentDesk {
    ui: Option<ConsentUi>,
    commands: mpsc::Sender<Command>,
    names: HashMap<ParticipantId, String>,
    /// What is allowed now, both directions, by (other participant, request).
    /// What is allowed now, by (participant, request id, incoming): request ids are per
    /// requester, so ours and theirs may share a number. Worded as seen from this machine.
    active: BTreeMap<(ParticipantId, RequestId, bool), Capability>,
    /// Who may browse this machine's files, and the transfers running for them, by id.
    files: BTreeMap<ParticipantId, BTreeMap<TransferId, TransferLine>>,
}

impl ConsentDesk {
    /// Opens the consent window when there is a display; its answers go to `commands`.
    /// The error says why there is none (every request is then denied).
    pub fn start(commands: mpsc::Sender<Command>) -> (Self, Option<crate::ui::UiError>) {
        let (ui, error) = match ConsentUi::start() {
            Ok((ui, answers)) => {
                tokio::spawn(forward(answers, commands.clone()));
                (Some(ui), None)
            }
            Err(e) => (None, Some(e)),
        };
        (Self { ui, commands, names: HashMap::new(), active: BTreeMap::new(), files: BTreeMap::new() }, error)
    }

    /// Follows one session event.
    pub async fn on_event(&mut self, event: &Event) {
        match event {
            Event::Participants(list) => {
                self.names = list.iter().map(|p| (p.id, p.name.as_str().to_owned())).collect();
                let before = self.files.len();
                self.files.retain(|with, _| self.names.contains_key(with));
                if self.files.len() != before {
                    self.show_files();
                }
            }
            // The customer sees what file transfer does (TOOL-5), and the indicator's Stop ends it.
            Event::FilesAccess { with, open } => {
                if *open {
                    self.files.entry(*with).or_default();
                } else {
                    self.files.remove(with);
                }
                self.show_files();
            }
            Event::HostTransfer { with, id, summary } => {
                let line = TransferLine {
                    item: summary.item.clone(),
                    direction: summary.direction,
                    done: 0,
                    total: summary.bytes,
                };
                self.files.entry(*with).or_default().insert(*id, line);
                self.show_files();
            }
            Event::TransferProgress { with, id, progress } => {
                if let Some(line) = self.files.get_mut(with).and_then(|t| t.get_mut(id)) {
                    line.done = progress.confirmed_bytes;
                    line.total = progress.total_bytes;
                    self.show_files();
                }
            }
            Event::TransferFinished { with, id, .. } | Event::TransferFailed { with, id, .. }
                if self.files.get_mut(with).and_then(|t| t.remove(id)).is_some() =>
            {
                self.show_files();
            }
            Event::ConsentPrompt { from, name, request_id, capability } => {
                self.ask(*from, *request_id, name, Question::Capability(*capability), false).await;
            }
            // File transfer, one transfer, system information: the same window asks.
            Event::FilesPrompt { from, name, request_id, ask } => {
                self.ask(*from, *request_id, name, Question::Files(ask.clone()), false).await;
            }
            // This machine's own share offer: its person confirms it on screen (never in a
            // terminal); the answer comes back as a Decide the session routes to the offer.
            Event::ConfirmOffer { to, name, request_id, capability } => {
                self.ask(*to, *request_id, name, Question::Capability(*capability), true).await;
            }
            Event::ConsentPromptClosed { from, request_id } => {
                if let Some(ui) = &self.ui {
                    let _ = ui.close_prompt(*from, *request_id);
                }
            }
            Event::Consent { with, request_id, capability, incoming, outcome } => {
                let key = (*with, *request_id, *incoming);
                if *outcome == ConsentOutcome::Allowed {
                    let here = if *incoming { *capability } else { as_seen_here(*capability) };
                    self.active.insert(key, here);
                } else {
                    self.active.remove(&key);
                }
                if let Some(ui) = &self.ui {
                    let grants = self
                        .active
                        .iter()
                        .map(|((with, _, _), capability)| ActiveGrant {
                            with: *with,
                            name: self.names.get(with).cloned().unwrap_or_else(|| with.to_string()),
                            capability: *capability,
                        })
                        .collect();
                    let _ = ui.set_active(grants);
                }
            }
            _ => {}
        }
    }

    fn show_files(&self) {
        let Some(ui) = &self.ui else { return };
        let files = self
            .files
            .iter()
            .map(|(with, transfers)| FilesActivity {
                with: *with,
                name: self.names.get(with).cloned().unwrap_or_else(|| with.to_string()),
                transfers: transfers.values().cloned().collect(),
            })
            .collect();
        let _ = ui.set_files(files);
    }

    /// Shows a prompt (`from` asks, or for an offer `from` is whom we offer to); with no
    /// window to show it in, nobody can say yes: denied at once.
    async fn ask(
        &self,
        from: ParticipantId,
        request_id: RequestId,
        name: &str,
        question: Question,
        offer: bool,
    ) {
        let prompt =
            Prompt { from, request_id, question, requester_name: name.to_owned(), organisation: None, offer };
        if self.ui.as_ref().is_none_or(|ui| ui.prompt(prompt).is_err()) {
            self.deny(from, request_id).await;
        }
    }

    async fn deny(&self, from: ParticipantId, request_id: RequestId) {
        let _ = self.commands.send(Command::Decide { from, request_id, allowed: false, window: None }).await;
    }
}

/// The person's answers, as session commands.
async fn forward(mut answers: mpsc::UnboundedReceiver<UiEvent>, commands: mpsc::Sender<Command>) {
    while let Some(answer) = answers.recv().await {
        let batch = match answer {
            UiEvent::Decision { from, request_id, allowed, window } => {
                vec![Command::Decide { from, request_id, allowed, window }]
            }
            UiEvent::StopAll => vec![Command::StopAll],
            // deny, report the requester to the site, and leave.
            UiEvent::EndAndReport { from, request_id } => vec![
                Command::Decide { from, request_id, allowed: false, window: None },
                Command::Report { about: from },
                Command::Leave,
            ],
        };
        for command in batch {
            if commands.send(command).await.is_err() {
                return;
            }
        }
    }
}

/// What a grant this machine asked for means here, in the indicator's words:
/// what we offered (`share_*`) is our screen seen or controlled; what we asked
/// to see or control is theirs.
fn as_seen_here(capability: Capability) -> Capability {
    match capability {
        Capability::ShareView => Capability::ViewDesktop,
        Capability::ShareControl => Capability::ControlDesktop,
        Capability::ViewDesktop | Capability::ViewApplication => Capability::ShareView,
        Capability::ControlDesktop | Capability::ControlApplication => Capability::ShareControl,
    }
}
