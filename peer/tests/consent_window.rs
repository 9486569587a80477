//! The consent windows on a real X server (Xvfb): a prompt naming the CSR
//! appears, is screenshotted and answered with real pointer clicks
//! (xdotool through XTest), and the answers come back as events; the
//! indicator appears while something is active and its Stop ends it all; an
//! application prompt lists the display's windows, takes Allow only once one
//! is chosen, and answers with the window clicked in its list.
//! The test starts its own Xvfb on a free display number and stops it at the
//! end, also on failure.

mod common;

use common::xvfb::start_xvfb;
use common::xwindows::TestWindows;

use std::process::Command;
use std::time::{Duration, Instant};

use tandem_peer::session::{Direction, FilesAsk, TransferSummary};
use tandem_peer::ui::layout;
use tandem_peer::ui::queue::ARM_DELAY;
use tandem_peer::ui::{ActiveGrant, ConsentUi, Prompt, Question, UiEvent, picker};
use tandem_peer::video::WindowId;
use tandem_peer::video::x11_window::X11Windows;
use tandem_wire::ParticipantId;
use tandem_wire::channels::{Capability, RequestId};
use tokio::sync::mpsc::UnboundedReceiver;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, MapState};
use x11rb::rust_connection::RustConnection;

const DEADLINE: Duration = Duration::from_secs(15);

/// The test's own view of the X display: find windows, read them, click them.
struct Screen {
    display: String,
    x: RustConnection,
}

impl Screen {
    /// Waits for a mapped window whose title contains `name`.
    fn wait_for_window(&self, name: &str) -> u32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let out = self.xdotool(&["search", "--onlyvisible", "--name", name]);
            if let Some(id) = out.lines().next().and_then(|l| l.trim().parse().ok()) {
                return id;
            }
            assert!(Instant::now() < deadline, "no visible window named {name:?} within {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `window` is unmapped or destroyed.
    fn wait_until_gone(&self, window: u32, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let state =
                self.x.get_window_attributes(window).ok().and_then(|c| c.reply().ok()).map(|a| a.map_state);
            if state.is_none_or(|s| s != MapState::VIEWABLE) {
                return;
            }
            assert!(Instant::now() < deadline, "the {what} window is still on screen after {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn window_name(&self, window: u32) -> String {
        self.xdotool(&["getwindowname", &window.to_string()]).trim().to_owned()
    }

    /// The window's size in pixels and how many pixels one layout point is.
    fn size_and_scale(&self, window: u32, points_wide: f32) -> (u16, u16, f32) {
        let g = self.x.get_geometry(window).expect("get_geometry").reply().expect("geometry");
        (g.width, g.height, f32::from(g.width) / points_wide)
    }

    /// The window's pixels as 0xRRGGBB, waiting until egui has drawn more
    /// than a blank background into it.
    fn wait_for_drawing(&self, window: u32, points_wide: f32, what: &str) -> Vec<u32> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (w, h, _) = self.size_and_scale(window, points_wide);
            let image =
                self.x.get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w, h, !0).expect("get_image").reply();
            if let Ok(image) = image {
                let pixels: Vec<u32> =
                    image.data.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0])).collect();
                assert_eq!(pixels.len(), usize::from(w) * usize::from(h), "32 bits per pixel");
                let mut colours = pixels.clone();
                colours.sort_unstable();
                colours.dedup();
                // Anti-aliased text and buttons give dozens of shades; a blank window one or two.
                if colours.len() >= 16 {
                    return pixels;
                }
            }
            assert!(Instant::now() < deadline, "the {what} window stayed blank for {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many different colours the window shows inside `rect` (text: dozens; an empty place: one or two).
    fn colours_in(&self, window: u32, rect: eframe::egui::Rect, points_wide: f32) -> usize {
        let (_, _, scale) = self.size_and_scale(window, points_wide);
        let (x, y) = ((rect.min.x * scale).ceil() as i16 + 2, (rect.min.y * scale).ceil() as i16 + 2);
        let (w, h) = ((rect.width() * scale) as u16 - 4, (rect.height() * scale) as u16 - 4);
        let image = self.x.get_image(ImageFormat::Z_PIXMAP, window, x, y, w, h, !0).unwrap().reply().unwrap();
        let mut colours: Vec<u32> =
            image.data.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0])).collect();
        colours.sort_unstable();
        colours.dedup();
        colours.len()
    }

    /// A real click (XTest, as a person's mouse) in the middle of `rect` of the window.
    fn click(&self, window: u32, rect: eframe::egui::Rect, points_wide: f32) {
        let (_, _, scale) = self.size_and_scale(window, points_wide);
        let c = rect.center();
        let (x, y) = ((c.x * scale).round() as i32, (c.y * scale).round() as i32);
        self.xdotool(&[
            "mousemove",
            "--window",
            &window.to_string(),
            &x.to_string(),
            &y.to_string(),
            "click",
            "1",
        ]);
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("xdotool must be installed (scripts/debian-packages/peer.txt)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Clicks `rect` until `want` arrives: a prompt's buttons arm [`ARM_DELAY`]
/// after it appears, so the first click may come a frame early on a busy machine.
fn click_for(
    screen: &Screen,
    runtime: &tokio::runtime::Runtime,
    events: &mut UnboundedReceiver<UiEvent>,
    (window, rect, points_wide): (u32, eframe::egui::Rect, f32),
    want: UiEvent,
) {
    for _ in 0..3 {
        screen.click(window, rect, points_wide);
        let got =
            runtime.block_on(async { tokio::time::timeout(Duration::from_secs(2), events.recv()).await });
        match got {
            Ok(Some(event)) => {
                assert_eq!(event, want, "the click on {rect:?} gave another answer");
                return;
            }
            Ok(None) => panic!("the consent windows stopped"),
            Err(_) => continue,
        }
    }
    panic!("three clicks on {rect:?} of window {window} gave no {want:?}");
}

#[test]
fn prompts_and_the_indicator_answer_real_clicks() {
    let xvfb = start_xvfb("800x600x24");
    // SAFETY: set before the runtime and any other thread exist (nextest runs
    // each test in a process of its own); the consent windows read DISPLAY.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (x, _) = x11rb::connect(Some(&xvfb.display)).expect("connect to Xvfb");
    let screen = Screen { display: xvfb.display.clone(), x };

    let (ui, mut events) = ConsentUi::start().expect("consent windows on Xvfb");
    let carla = ParticipantId::from_raw(0xc0ffee);
    let prompt = |from, id, capability, name: &str, org: Option<&str>| Prompt {
        from,
        request_id: RequestId(id),
        question: Question::Capability(capability),
        requester_name: name.to_owned(),
        organisation: org.map(str::to_owned),
        offer: false,
    };
    let prompt_w = layout::PROMPT_SIZE.x;

    // 1. The CSR asks for control: the window names them and what they ask; Allow.
    ui.prompt(prompt(carla, 1, Capability::ControlDesktop, "Carla Example", Some("Example Support")))
        .unwrap();
    let shown = Instant::now();
    let window = screen.wait_for_window("Carla Example");
    let title = screen.window_name(window);
    assert!(
        title.contains("Carla Example (Example Support)")
            && title.contains("control your mouse and keyboard"),
        "the title says who asks for what: {title:?}"
    );
    let (w, h, _) = screen.size_and_scale(window, prompt_w);
    assert!(w >= 400 && h >= 150, "a real window, {w}x{h}");
    screen.wait_for_drawing(window, prompt_w, "prompt");
    std::thread::sleep(ARM_DELAY.saturating_sub(shown.elapsed()));
    click_for(
        &screen,
        &runtime,
        &mut events,
        (window, layout::ALLOW, prompt_w),
        UiEvent::Decision { from: carla, request_id: RequestId(1), allowed: true, window: None },
    );
    screen.wait_until_gone(window, "answered prompt");

    // 2. While control is active the indicator shows; its Stop asks to end everything.
    let grant =
        ActiveGrant { with: carla, name: "Carla Example".to_owned(), capability: Capability::ControlDesktop };
    ui.set_active(vec![grant]).unwrap();
    let indicator = screen.wait_for_window("being controlled by Carla Example");
    assert_ne!(indicator, window, "the indicator is a window of its own");
    let indicator_w = layout::INDICATOR_SIZE.x;
    let pixels = screen.wait_for_drawing(indicator, indicator_w, "indicator");
    let near = |p: u32, (r, g, b): (i32, i32, i32)| {
        let channel = |shift: u32| ((p >> shift) & 0xff) as i32;
        (channel(16) - r).abs() <= 3 && (channel(8) - g).abs() <= 3 && (channel(0) - b).abs() <= 3
    };
    let red = pixels.iter().filter(|&&p| near(p, (176, 32, 32))).count();
    assert!(red * 2 > pixels.len(), "the indicator is mostly its red: {red} of {} pixels", pixels.len());
    click_for(&screen, &runtime, &mut events, (indicator, layout::STOP, indicator_w), UiEvent::StopAll);
    ui.set_active(Vec::new()).unwrap();
    screen.wait_until_gone(indicator, "indicator");

    // 3. Another request, denied.
    let dan = ParticipantId::from_raw(0xda);
    ui.prompt(prompt(dan, 2, Capability::ViewDesktop, "Dan Second", None)).unwrap();
    let window = screen.wait_for_window("Dan Second");
    assert!(screen.window_name(window).contains("see your whole screen"));
    screen.wait_for_drawing(window, prompt_w, "second prompt");
    click_for(
        &screen,
        &runtime,
        &mut events,
        (window, layout::DENY, prompt_w),
        UiEvent::Decision { from: dan, request_id: RequestId(2), allowed: false, window: None },
    );
    screen.wait_until_gone(window, "denied prompt");

    // 3b. File transfer (TOOL-5): one transfer's prompt says what, which way and how much; Allow.
    let upload = TransferSummary {
        direction: Direction::Upload,
        item: "setup.log".to_owned(),
        place: "/home/ann/Documents".to_owned(),
        files: 1,
        bytes: 104_857_600,
        overwrite: false,
    };
    let files_prompt = Prompt {
        question: Question::Files(FilesAsk::Transfer(upload)),
        ..prompt(carla, 40, Capability::ViewDesktop, "Carla Example", Some("Example Support"))
    };
    ui.prompt(files_prompt).unwrap();
    let shown = Instant::now();
    let window = screen.wait_for_window("asks to copy");
    assert_eq!(
        screen.window_name(window),
        "Tandem: Carla Example (Example Support) asks to copy \"setup.log\" (1 file, 105 MB) to this computer, into /home/ann/Documents"
    );
    screen.wait_for_drawing(window, prompt_w, "file transfer prompt");
    std::thread::sleep(ARM_DELAY.saturating_sub(shown.elapsed()));
    click_for(
        &screen,
        &runtime,
        &mut events,
        (window, layout::ALLOW, prompt_w),
        UiEvent::Decision { from: carla, request_id: RequestId(40), allowed: true, window: None },
    );
    screen.wait_until_gone(window, "file transfer prompt");

    // 4. Two at once: the first is withdrawn (close_prompt), the second shows
    // next and is answered with "End session and report".
    ui.prompt(prompt(dan, 3, Capability::ViewApplication, "Erin Withdrawn", None)).unwrap();
    ui.prompt(prompt(carla, 4, Capability::ShareView, "Fay Reporter", Some("Example Support"))).unwrap();
    let window = screen.wait_for_window("Erin Withdrawn");
    screen.wait_for_drawing(window, prompt_w, "third prompt");
    ui.close_prompt(dan, RequestId(3)).unwrap();
    let shown = Instant::now();
    let window = screen.wait_for_window("Fay Reporter");
    std::thread::sleep(ARM_DELAY.saturating_sub(shown.elapsed()));
    click_for(
        &screen,
        &runtime,
        &mut events,
        (window, layout::END_AND_REPORT, prompt_w),
        UiEvent::EndAndReport { from: carla, request_id: RequestId(4) },
    );
    screen.wait_until_gone(window, "reported prompt");
    assert!(screen.xdotool(&["search", "--onlyvisible", "--name", "Erin Withdrawn"]).trim().is_empty());

    // 5. Application prompts list the display's windows. Allow does nothing
    // until a window is chosen; then the answer names the window clicked.
    let test_windows = TestWindows::connect(&xvfb.display);
    let a = WindowId(test_windows.create("Alpha ledger", 0xd02020, (20, 20), (200, 150)));
    let b = WindowId(test_windows.create("Beta notes", 0x2040d0, (500, 300), (200, 150)));
    let offered = picker::offered(X11Windows::connect(Some(&xvfb.display)).unwrap().list());
    let row_of = |id| offered.iter().position(|w| w.id == id).unwrap_or_else(|| panic!("{id:?} offered"));
    assert_eq!(offered.len(), 2, "the two test windows and not the consent window: {offered:?}");
    let picks = [
        (6, Capability::ControlApplication, "and control one application", a),
        (7, Capability::ViewApplication, "see one application", b),
    ];
    for (id, capability, asked, pick) in picks {
        ui.prompt(prompt(carla, id, capability, "Carla Example", Some("Example Support"))).unwrap();
        let shown = Instant::now();
        let window = screen.wait_for_window(asked);
        let (_, h, scale) = screen.size_and_scale(window, prompt_w);
        assert!(
            f32::from(h) >= layout::APP_PROMPT_SIZE.y * scale - 1.0,
            "room for the list: {h} pixels high"
        );
        screen.wait_for_drawing(window, prompt_w, "application prompt");
        let deadline = Instant::now() + DEADLINE;
        // Both windows have a row with their title drawn in it; the row after them is empty.
        while screen.colours_in(window, layout::window_row(1), prompt_w) < 8 {
            assert!(Instant::now() < deadline, "no second window row drawn within {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(screen.colours_in(window, layout::window_row(0), prompt_w) >= 8, "a first row with text");
        assert!(screen.colours_in(window, layout::window_row(2), prompt_w) <= 2, "no third row");
        std::thread::sleep(ARM_DELAY.saturating_sub(shown.elapsed()));
        // Armed, nothing chosen: Allow does not answer (if it did, the answer below would differ).
        screen.click(window, layout::APP_ALLOW, prompt_w);
        screen.click(window, layout::window_row(row_of(pick)), prompt_w);
        click_for(
            &screen,
            &runtime,
            &mut events,
            (window, layout::APP_ALLOW, prompt_w),
            UiEvent::Decision { from: carla, request_id: RequestId(id), allowed: true, window: Some(pick) },
        );
        screen.wait_until_gone(window, "allowed application prompt");
    }
    drop(test_windows);

    // Closing the handle closes the windows; nothing else was answered.
    drop(ui);
    let rest = runtime.block_on(async { tokio::time::timeout(DEADLINE, events.recv()).await });
    assert_eq!(rest, Ok(None), "no other answer, and the events end with the windows");
    drop(xvfb);
}
