//! The window thread: one eframe application whose root window is the
//! prompt (hidden while nothing is asked) and whose second window, the
//! indicator, exists only while something is active. It owns the prompt
//! queue, the list of active grants and, while an application prompt is
//! shown, the window list it reads from the X server every
//! [`picker::REFRESH`]; the [`super::ConsentUi`] handle talks to it over a
//! channel and wakes it with a repaint request.

use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

use eframe::egui::{
    self, Align, Atom, Button, CentralPanel, Color32, Frame, Label, Layout, RichText, ScrollArea, Stroke,
    StrokeKind, UiBuilder, Vec2, ViewportBuilder, ViewportCommand, ViewportId, WindowLevel, pos2,
};
use tokio::sync::mpsc::UnboundedSender;

use super::queue::{Answer, PromptQueue};
use super::{ActiveGrant, Command, FilesActivity, Prompt, UiEvent, catalog, layout, picker};
use crate::video::x11_window::{WindowInfo, X11Windows};

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
                files: Vec::new(),
                title: catalog::IDLE_TITLE.to_owned(),
                // eframe shows the root window after its first frame; the first update hides it.
                visible: true,
                size: layout::PROMPT_SIZE,
                windows: WindowList::default(),
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
    /// File transfer allowed now, with its running transfers.
    files: Vec<FilesActivity>,
    /// The root window's title, visibility and size as last set.
    title: String,
    visible: bool,
    size: Vec2,
    /// What the picker offers while an application prompt is shown.
    windows: WindowList,
    shutting_down: bool,
}

/// The picker's view of this machine's windows.
#[derive(Default)]
struct WindowList {
    /// Connected at the first application prompt; `None` after a failed attempt too.
    lister: Option<X11Windows>,
    tried: bool,
    offered: Vec<WindowInfo>,
    read_at: Option<Instant>,
}

impl WindowList {
    /// Reads the windows again if the last reading is [`picker::REFRESH`] old.
    fn refresh(&mut self, now: Instant) {
        if self.read_at.is_some_and(|at| now.saturating_duration_since(at) < picker::REFRESH) {
            return;
        }
        if !self.tried {
            self.tried = true;
            self.lister = X11Windows::connect(None)
                .inspect_err(|e| tracing::warn!(error = %e, "cannot list windows for the picker"))
                .ok();
        }
        self.offered = self.lister.as_ref().map(|l| picker::offered(l.list())).unwrap_or_default();
        self.read_at = Some(now);
    }

    /// The next prompt reads the list afresh.
    fn forget(&mut self) {
        self.read_at = None;
        self.offered.clear();
    }
}

impl eframe::App for ConsentApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Prompt(prompt) => self.queue.push(prompt, now),
                Command::ClosePrompt { from, request_id } => self.queue.close(from, request_id, now),
                Command::SetActive(grants) => self.active = grants,
                Command::SetFiles(files) => self.files = files,
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

        let picker = self.queue.front().is_some_and(Prompt::needs_window);
        if picker {
            self.windows.refresh(now);
            let ids: Vec<_> = self.windows.offered.iter().map(|w| w.id).collect();
            self.queue.keep_choice_among(&ids);
            ctx.request_repaint_after(picker::REFRESH);
        } else {
            self.windows.forget();
        }
        self.resize(ctx, layout::prompt_parts(picker).size);

        self.show_prompt(ctx, now, picker);
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
    /// Gives the prompt window the size of the prompt shown, centred again on the screen.
    fn resize(&mut self, ctx: &egui::Context, size: Vec2) {
        if size == self.size {
            return;
        }
        self.size = size;
        ctx.send_viewport_cmd(ViewportCommand::InnerSize(size));
        if let Some(monitor) = ctx.input(|i| i.viewport().monitor_size) {
            let corner = ((monitor - size) / 2.0).max(Vec2::ZERO);
            ctx.send_viewport_cmd(ViewportCommand::OuterPosition(corner.to_pos2()));
        }
    }

    fn show_prompt(&mut self, ctx: &egui::Context, now: Instant, picker: bool) {
        let mut answer = None;
        let mut chosen = None;
        let parts = layout::prompt_parts(picker);
        CentralPanel::default().frame(Frame::new().fill(ctx.style().visuals.panel_fill)).show(ctx, |ui| {
            let Some(prompt) = self.queue.front() else { return };
            let question = catalog::question(prompt);
            // Long names and organisations: a smaller size keeps the question inside its place.
            let size = if question.chars().count() > LONG_QUESTION_CHARS { 14.0 } else { 18.0 };
            text_at(ui, layout::QUESTION, Align::Min, RichText::new(question).size(size).strong());
            text_at(ui, layout::REASSURANCE, Align::Min, RichText::new(catalog::REASSURANCE).size(12.0));
            if picker {
                chosen = window_list(ui, &self.windows.offered, self.queue.chosen());
            }
            let armed = self.queue.armed(now);
            let buttons = [
                (parts.allow, catalog::ALLOW, Answer::Allow, self.queue.can_allow(now)),
                (parts.deny, catalog::DENY, Answer::Deny, armed),
                (parts.end_and_report, catalog::END_AND_REPORT, Answer::EndAndReport, armed),
            ];
            for (rect, text, which, enabled) in buttons {
                let button = Button::new(RichText::new(text).size(15.0));
                if ui.add_enabled_ui(enabled, |ui| ui.put(rect, button)).inner.clicked() {
                    answer = Some(which);
                }
            }
            if let Some(waiting) = catalog::waiting(self.queue.waiting()) {
                text_at(ui, parts.waiting, Align::Min, RichText::new(waiting).size(12.0).italics());
            }
        });
        if let Some(window) = chosen {
            self.queue.choose(window);
        }
        if let Some(event) = answer.and_then(|a| self.queue.answer(a, now)) {
            self.emit(event);
        }
    }

    fn show_indicator(&mut self, ctx: &egui::Context) {
        if self.active.is_empty() && self.files.is_empty() {
            return; // not shown this frame: eframe closes its window
        }
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        let x = monitor.map_or(layout::INDICATOR_TOP, |m| ((m.x - layout::INDICATOR_SIZE.x) / 2.0).max(0.0));
        let builder = ViewportBuilder::default()
            .with_title(catalog::indicator_title(&self.active, &self.files))
            .with_app_id("tandem-indicator")
            .with_inner_size(layout::INDICATOR_SIZE)
            .with_position(pos2(x, layout::INDICATOR_TOP))
            .with_decorations(false)
            .with_resizable(false)
            .with_window_level(WindowLevel::AlwaysOnTop);
        let line = catalog::indicator_line(&self.active, &self.files);
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

/// The picker: a label, then one selectable row per offered window (rows
/// past [`layout::VISIBLE_ROWS`] scroll). Returns the window clicked.
fn window_list(
    ui: &mut egui::Ui,
    offered: &[WindowInfo],
    chosen: Option<crate::video::WindowId>,
) -> Option<crate::video::WindowId> {
    text_at(ui, layout::PICK_LABEL, Align::Center, RichText::new(catalog::PICK_WINDOW).size(13.0));
    let list = layout::WINDOW_LIST;
    ui.painter().rect_stroke(
        list.expand(1.0),
        2.0,
        Stroke::new(1.0, Color32::from_gray(170)),
        StrokeKind::Outside,
    );
    if offered.is_empty() {
        text_at(ui, list.shrink(6.0), Align::Min, RichText::new(catalog::NO_WINDOWS).size(13.0).italics());
        return None;
    }
    let mut clicked = None;
    ui.scope_builder(UiBuilder::new().max_rect(list).layout(Layout::top_down(Align::Min)), |ui| {
        ScrollArea::vertical().max_height(list.height()).auto_shrink([false, false]).show(ui, |ui| {
            ui.spacing_mut().item_spacing.y = 0.0;
            for window in offered {
                let (title, size) = catalog::window_row(window);
                let text =
                    (RichText::new(title).size(14.0), Atom::grow(), RichText::new(size).size(12.0).weak());
                let row = Button::selectable(chosen == Some(window.id), text)
                    .truncate()
                    .min_size(Vec2::new(ui.available_width(), layout::ROW_HEIGHT));
                if ui.add(row).clicked() {
                    clicked = Some(window.id);
                }
            }
        });
    });
    clicked
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
