//! The window thread: one eframe application whose root window is the
//! prompt (hidden while nothing is asked) and whose second window, the
//! indicator, exists only while something is active. It owns the prompt
//! queue and the list of active grants; the [`super::ConsentUi`] handle
//! talks to it over a channel and wakes it with a repaint request.

use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

use eframe::egui::{
    self, Align, Button, CentralPanel, Color32, Frame, Label, Layout, RichText, UiBuilder, ViewportBuilder,
    ViewportCommand, ViewportId, WindowLevel, pos2,
};
use tokio::sync::mpsc::UnboundedSender;

use super::queue::{Answer, PromptQueue};
use super::{ActiveGrant, Command, UiEvent, catalog, layout};

/// Past this many characters the question is drawn smaller (three lines of 18 points hold about 110).
const LONG_QUESTION_CHARS: usize = 110;

/// The indicator's colour: unmistakable, whatever is under it.
const INDICATOR_FILL: Color32 = Color32::from_rgb(176, 32, 32);

/// Runs the windows until [`Command::Shutdown`]. Reports the egui context
/// (or why there is none) on `ready` once the first window exists.
pub(super) fn run(
    commands: Receiver<Command>,
    events: UnboundedSender<UiEvent>,
    ready: SyncSender<Result<egui::Context, String>>,
) {
    let options = eframe::NativeOptions {
        viewport: ViewportBuilder::default()
            .with_title(catalog::IDLE_TITLE)
            .with_app_id("tandem-consent")
            .with_inner_size(layout::PROMPT_SIZE)
            .with_resizable(false)
            .with_maximize_button(false)
            .with_visible(false),
        centered: true,
        renderer: eframe::Renderer::Glow,
        event_loop_builder: Some(Box::new(|builder| {
            // The session owns the main thread; X11 has no objection to another one.
            #[cfg(target_os = "linux")]
            {
                use winit::platform::x11::EventLoopBuilderExtX11;
                builder.with_any_thread(true);
            }
            #[cfg(not(target_os = "linux"))]
            let _ = builder;
        })),
        ..Default::default()
    };
    let first_window = ready.clone();
    let result = eframe::run_native(
        "tandem-consent",
        options,
        Box::new(move |cc| {
            cc.egui_ctx.set_theme(egui::Theme::Light);
            let _ = first_window.send(Ok(cc.egui_ctx.clone()));
            Ok(Box::new(ConsentApp {
                commands,
                events,
                queue: PromptQueue::default(),
                active: Vec::new(),
                title: catalog::IDLE_TITLE.to_owned(),
                // eframe shows the root window after its first frame; the first update hides it.
                visible: true,
                shutting_down: false,
            }))
        }),
    );
    match result {
        Ok(()) => tracing::debug!("consent windows closed"),
        Err(e) => {
            tracing::warn!("consent windows failed: {e}");
            // Nobody listens any more if the first window had already appeared.
            let _ = ready.try_send(Err(e.to_string()));
        }
    }
}

struct ConsentApp {
    commands: Receiver<Command>,
    events: UnboundedSender<UiEvent>,
    queue: PromptQueue,
    active: Vec<ActiveGrant>,
    /// The root window's title and visibility as last set.
    title: String,
    visible: bool,
    shutting_down: bool,
}

impl eframe::App for ConsentApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Prompt(prompt) => self.queue.push(prompt, now),
                Command::ClosePrompt { from, request_id } => self.queue.close(from, request_id, now),
                Command::SetActive(grants) => self.active = grants,
                Command::Shutdown => self.shutting_down = true,
            }
        }
        if self.shutting_down {
            ctx.send_viewport_cmd(ViewportCommand::Close);
            return;
        }
        if ctx.input(|i| i.viewport().close_requested()) {
            // The title bar's close button: a "no" to the prompt shown, never the end of the windows.
            ctx.send_viewport_cmd(ViewportCommand::CancelClose);
            if let Some(event) = self.queue.dismiss(now) {
                self.emit(event);
            }
        }

        self.show_prompt(ctx, now);
        self.show_indicator(ctx);

        let title = self.queue.front().map_or_else(|| catalog::IDLE_TITLE.to_owned(), catalog::prompt_title);
        if title != self.title {
            ctx.send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        let visible = self.queue.front().is_some();
        if visible != self.visible {
            ctx.send_viewport_cmd(ViewportCommand::Visible(visible));
            self.visible = visible;
        }
        if let Some(at) = self.queue.arms_at(now) {
            ctx.request_repaint_after(at - now);
        }
    }

    /// Answers are clicks only: typing meant for another window (Tab, Space,
    /// Enter) must never press Allow.
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        raw_input.events.retain(|e| {
            !matches!(
                e,
                egui::Event::Key { .. } | egui::Event::Text(_) | egui::Event::Paste(_) | egui::Event::Ime(_)
            )
        });
    }
}

impl ConsentApp {
    fn show_prompt(&mut self, ctx: &egui::Context, now: Instant) {
        let mut answer = None;
        CentralPanel::default().frame(Frame::new().fill(ctx.style().visuals.panel_fill)).show(ctx, |ui| {
            let Some(prompt) = self.queue.front() else { return };
            let question = catalog::question(prompt);
            // Long names and organisations: a smaller size keeps the question inside its place.
            let size = if question.chars().count() > LONG_QUESTION_CHARS { 14.0 } else { 18.0 };
            text_at(ui, layout::QUESTION, Align::Min, RichText::new(question).size(size).strong());
            text_at(ui, layout::REASSURANCE, Align::Min, RichText::new(catalog::REASSURANCE).size(12.0));
            ui.add_enabled_ui(self.queue.armed(now), |ui| {
                let buttons = [
                    (layout::ALLOW, catalog::ALLOW, Answer::Allow),
                    (layout::DENY, catalog::DENY, Answer::Deny),
                    (layout::END_AND_REPORT, catalog::END_AND_REPORT, Answer::EndAndReport),
                ];
                for (rect, text, which) in buttons {
                    if ui.put(rect, Button::new(RichText::new(text).size(15.0))).clicked() {
                        answer = Some(which);
                    }
                }
            });
            if let Some(waiting) = catalog::waiting(self.queue.waiting()) {
                text_at(ui, layout::WAITING, Align::Min, RichText::new(waiting).size(12.0).italics());
            }
        });
        if let Some(event) = answer.and_then(|a| self.queue.answer(a, now)) {
            self.emit(event);
        }
    }

    fn show_indicator(&mut self, ctx: &egui::Context) {
        if self.active.is_empty() {
            return; // not shown this frame: eframe closes its window
        }
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        let x = monitor.map_or(layout::INDICATOR_TOP, |m| ((m.x - layout::INDICATOR_SIZE.x) / 2.0).max(0.0));
        let builder = ViewportBuilder::default()
            .with_title(catalog::indicator_title(&self.active))
            .with_app_id("tandem-indicator")
            .with_inner_size(layout::INDICATOR_SIZE)
            .with_position(pos2(x, layout::INDICATOR_TOP))
            .with_decorations(false)
            .with_resizable(false)
            .with_window_level(WindowLevel::AlwaysOnTop);
        let line = catalog::indicator(&self.active);
        let stop =
            ctx.show_viewport_immediate(ViewportId::from_hash_of("tandem-indicator"), builder, |ctx, _| {
                let mut stop = false;
                CentralPanel::default().frame(Frame::new().fill(INDICATOR_FILL)).show(ctx, |ui| {
                    text_at(
                        ui,
                        layout::INDICATOR_TEXT,
                        Align::Center,
                        RichText::new(line.as_str()).size(14.0).color(Color32::WHITE),
                    );
                    stop = ui
                        .put(layout::STOP, Button::new(RichText::new(catalog::STOP).size(14.0).strong()))
                        .clicked();
                });
                stop
            });
        if stop {
            self.emit(UiEvent::StopAll);
        }
    }

    fn emit(&self, event: UiEvent) {
        tracing::debug!(?event, "consent answer");
        // A closed receiver means the session is gone; nothing left to tell.
        let _ = self.events.send(event);
    }
}

/// Text in `rect`, left-aligned: wrapped from the top (`Align::Min`), or
/// on one line centred vertically and cut short with "…" (`Align::Center`).
fn text_at(ui: &mut egui::Ui, rect: egui::Rect, vertical: Align, text: RichText) {
    let (layout, label) = match vertical {
        Align::Center => (Layout::left_to_right(Align::Center), Label::new(text).truncate()),
        _ => (Layout::top_down(Align::Min), Label::new(text).wrap()),
    };
    ui.scope_builder(UiBuilder::new().max_rect(rect).layout(layout), |ui| {
        ui.add(label);
    });
}
