//! The native peer's consent windows (issue 6, SHR-1..8, NAT-1): the prompt
//! that asks the person at this machine, and the indicator that stays on
//! screen while anything is viewed or controlled. Never a terminal.
//!
//! The windows run on a thread of their own (egui through eframe, OpenGL via
//! glutin, X11). The session drives them through a [`ConsentUi`] handle whose
//! methods never block, and reads the person's answers from an unbounded
//! channel:
//!
//! ```text
//! session::run --Prompt / ClosePrompt / SetActive--> window thread (eframe)
//!      ^                                                  |
//!      +--------- UiEvent (Decision, EndAndReport, StopAll)+
//! ```
//!
//! [`crate::consent::Action::Prompt`] becomes [`ConsentUi::prompt`] (with the
//! requester's name and organisation as the server gave them),
//! [`crate::consent::Action::ClosePrompt`] becomes [`ConsentUi::close_prompt`];
//! [`UiEvent::Decision`] goes to [`crate::consent::ConsentBook::decide`],
//! [`UiEvent::StopAll`] to [`crate::consent::ConsentBook::revoke_all`]; after
//! each change the session passes what is active to [`ConsentUi::set_active`].
//!
//! Several prompts may be pending: the window shows the oldest, and says how
//! many wait ([`queue`]). Its buttons take clicks only [`queue::ARM_DELAY`]
//! after a prompt appears, and it ignores the keyboard, so that neither a
//! stray click nor typing meant for another window can answer it. Closing
//! the prompt window with its title bar button denies the prompt shown.
//!
//! A prompt for one application window (view or control) lists this
//! machine's windows ([`picker`]); Allow takes a click only once one is
//! chosen, and its [`UiEvent::Decision`] names that window.
//!
//! Texts live in [`catalog`], sizes and button places in [`layout`], the
//! managed machine's policy file in [`policy`].

pub mod catalog;
pub mod layout;
pub mod picker;
pub mod policy;
pub mod queue;
mod window;

use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eframe::egui;
use tandem_wire::ParticipantId;
use tandem_wire::channels::{Capability, RequestId};
use tokio::sync::mpsc;

use crate::session::{Direction, FilesAsk};
use crate::video::WindowId;

/// How long [`ConsentUi::start`] waits for the first window to exist.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long dropping a [`ConsentUi`] waits for its thread to end.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// What a prompt asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// To see or control this screen or one window, or (an offer) to share ours.
    Capability(Capability),
    /// Advanced file transfer, one transfer, or system information (TOOL-5, TOOL-7).
    Files(FilesAsk),
}

/// A question for the person at this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub from: ParticipantId,
    pub request_id: RequestId,
    pub question: Question,
    /// The requester's name as the server verified it (shown as text).
    pub requester_name: String,
    /// The requester's organisation as the server verified it; `None` when it gave none.
    pub organisation: Option<String>,
    /// This machine's own offer (`share_view` / `share_control` to `from`), confirmed
    /// here before `from` is asked; otherwise `from` asks this machine.
    pub offer: bool,
}

impl Prompt {
    /// Whether the person chooses a window before Allow (view or control one application).
    pub fn needs_window(&self) -> bool {
        matches!(self.question, Question::Capability(c) if picker::needs_window(c))
    }
}

/// Something allowed and active now, for the indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveGrant {
    pub with: ParticipantId,
    /// The other participant's name as the server gave it.
    pub name: String,
    pub capability: Capability,
}

/// File transfer allowed to one participant, for the indicator (TOOL-5: the
/// customer sees what is going on, and Stop ends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesActivity {
    pub with: ParticipantId,
    /// The other participant's name as the server gave it.
    pub name: String,
    /// The transfers running now.
    pub transfers: Vec<TransferLine>,
}

/// One running transfer, as the indicator shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferLine {
    pub item: String,
    pub direction: Direction,
    /// Bytes confirmed by the receiver so far, of `total`.
    pub done: u64,
    pub total: u64,
}

/// What the person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEvent {
    /// Allow or Deny on a prompt. `window` is the window chosen on an
    /// application prompt that was allowed; `None` otherwise.
    Decision { from: ParticipantId, request_id: RequestId, allowed: bool, window: Option<WindowId> },
    /// "End session and report" on a prompt (X-5): deny it, leave the
    /// session and flag it in the report.
    EndAndReport { from: ParticipantId, request_id: RequestId },
    /// The indicator's Stop: end everything allowed.
    StopAll,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    #[error(
        "no X display to show consent prompts on (DISPLAY is not set); \
         the native peer cannot ask the person at this machine"
    )]
    NoDisplay,
    #[error("the consent window could not start: {0}")]
    Start(String),
    #[error("the consent window did not appear within {0:?}")]
    StartTimeout(Duration),
    #[error("the consent window has stopped")]
    Closed,
}

/// The session's handle on the consent windows. Dropping it closes them.
///
/// Only one may exist per process, and only once: the windowing library
/// (winit) creates its event loop once per process; a second
/// [`ConsentUi::start`] fails with [`UiError::Start`].
pub struct ConsentUi {
    commands: std_mpsc::Sender<Command>,
    ctx: egui::Context,
    thread: Option<JoinHandle<()>>,
}

/// From the handle to the window thread.
#[derive(Debug)]
enum Command {
    Prompt(Prompt),
    ClosePrompt { from: ParticipantId, request_id: RequestId },
    SetActive(Vec<ActiveGrant>),
    SetFiles(Vec<FilesActivity>),
    Shutdown,
}

impl ConsentUi {
    /// Opens the display and starts the window thread; nothing is shown
    /// until a prompt or an active grant arrives. The receiver yields the
    /// person's answers and ends if the windows stop.
    pub fn start() -> Result<(ConsentUi, mpsc::UnboundedReceiver<UiEvent>), UiError> {
        check_display(std::env::var_os("DISPLAY"))?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = std_mpsc::channel();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("consent-ui".to_owned())
            .spawn(move || window::run(commands_rx, events_tx, ready_tx))
            .map_err(|e| UiError::Start(e.to_string()))?;
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(ctx)) => Ok((ConsentUi { commands: commands_tx, ctx, thread: Some(thread) }, events_rx)),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(UiError::Start(message))
            }
            // The thread is stuck opening the display or OpenGL: it cannot be
            // stopped from here, so it is left behind and ends with the process.
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(UiError::StartTimeout(START_TIMEOUT)),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
                Err(UiError::Start("the window thread ended before its first window".to_owned()))
            }
        }
    }

    /// Asks the person; queued behind any prompt already shown. The same
    /// (from, request_id) again replaces the earlier one.
    pub fn prompt(&self, prompt: Prompt) -> Result<(), UiError> {
        self.send(Command::Prompt(prompt))
    }

    /// Withdraws a prompt (answered elsewhere, timed out, stopped by the requester).
    pub fn close_prompt(&self, from: ParticipantId, request_id: RequestId) -> Result<(), UiError> {
        self.send(Command::ClosePrompt { from, request_id })
    }

    /// What is viewed or controlled now; the indicator shows while this is not empty.
    pub fn set_active(&self, grants: Vec<ActiveGrant>) -> Result<(), UiError> {
        self.send(Command::SetActive(grants))
    }

    /// Who may browse this machine's files and what is being copied; the indicator
    /// shows while this or [`ConsentUi::set_active`] is not empty.
    pub fn set_files(&self, files: Vec<FilesActivity>) -> Result<(), UiError> {
        self.send(Command::SetFiles(files))
    }

    fn send(&self, command: Command) -> Result<(), UiError> {
        self.commands.send(command).map_err(|_| UiError::Closed)?;
        self.ctx.request_repaint();
        Ok(())
    }
}

/// The windows need an X display: `DISPLAY` set and not empty.
fn check_display(display: Option<std::ffi::OsString>) -> Result<(), UiError> {
    match display {
        Some(d) if !d.is_empty() => Ok(()),
        _ => Err(UiError::NoDisplay),
    }
}

impl Drop for ConsentUi {
    fn drop(&mut self) {
        if self.send(Command::Shutdown).is_err() {
            // Already stopped.
        }
        let Some(thread) = self.thread.take() else { return };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            tracing::warn!("the consent window thread did not stop within {STOP_TIMEOUT:?}; left behind");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_x_display_start_says_so() {
        assert!(matches!(check_display(None), Err(UiError::NoDisplay)));
        assert!(matches!(check_display(Some("".into())), Err(UiError::NoDisplay)));
        assert!(check_display(Some(":0".into())).is_ok());
        assert!(UiError::NoDisplay.to_string().contains("DISPLAY is not set"));
    }
}
