//! The bench's X client on the measured display: a window covering the
//! screen that logs every button press the X server delivers to it, stamped
//! on arrival with `CLOCK_REALTIME` (the clock every other timestamp of the
//! bench uses, the page's included), and repaints the whole window in the
//! next colour of [`PALETTE`] on each press, as an application reacting to a
//! click would. A round trip after the fill tells when the new pixels are in
//! the X server's framebuffer, where the customer's screen capture reads them.
//!
//! Also the anchors' injector: XTest straight into the same X server, with no
//! network and no peer in between.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::mpsc;
use x11rb::connection::Connection as _;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    AtomEnum, BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, ChangeGCAux, ClientMessageEvent, ConnectionExt as _,
    CreateGCAux, CreateWindowAux, EventMask, MOTION_NOTIFY_EVENT, Rectangle, Window, WindowClass,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

use crate::now_ms;

/// The colours the window takes in turn, 0xRRGGBB (TrueColor, depth 24); it starts black.
/// Neighbours differ in every YUV component by far more than the codec's error.
pub const PALETTE: [u32; 6] = [0xdc2828, 0x28c83c, 0x283cdc, 0xe6d228, 0xc828c8, 0x28c8d2];

/// One button press as the bench's window received it.
#[derive(Debug, Clone, Copy)]
pub struct Press {
    pub x: i16,
    pub y: i16,
    /// When the event reached this client (ms since the epoch, `CLOCK_REALTIME`).
    pub arrived_ms: f64,
    /// When the X server had the repaint in its framebuffer (same clock).
    pub painted_ms: f64,
    /// The colour the window now shows.
    pub colour: u32,
}

/// The logging, repainting window; dropping it closes the window and ends its thread.
pub struct XProbe {
    presses: mpsc::UnboundedReceiver<Press>,
    thread: Option<JoinHandle<()>>,
    /// A second connection, to tell the event thread to stop.
    control: RustConnection,
    window: Window,
}

impl Drop for XProbe {
    fn drop(&mut self) {
        let stop = ClientMessageEvent::new(32, self.window, AtomEnum::STRING, [0u32; 5]);
        let sent = self.control.send_event(false, self.window, EventMask::NO_EVENT, stop).is_ok()
            && self.control.flush().is_ok();
        if let Some(thread) = self.thread.take()
            && sent
        {
            // The thread ends on the message, or at once if the X server is gone.
            let _ = thread.join();
        }
    }
}

impl XProbe {
    /// Opens the window over the top-left `width`×`height` of `display` and waits until it is shown.
    pub fn start(display: &str, width: u16, height: u16) -> anyhow::Result<Self> {
        let (conn, screen_num) = x11rb::connect(Some(display)).context("connecting to Xvfb")?;
        let screen = conn.setup().roots[screen_num].clone();
        let window = conn.generate_id()?;
        let aux = CreateWindowAux::new()
            .background_pixel(0)
            .override_redirect(1)
            .event_mask(EventMask::BUTTON_PRESS | EventMask::EXPOSURE);
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            screen.root,
            0,
            0,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &aux,
        )?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, window, &CreateGCAux::new().foreground(0))?;
        conn.map_window(window)?;
        conn.flush()?;
        // No window manager: the first Expose means the window is on screen and gets input.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match conn.poll_for_event()? {
                Some(Event::Expose(_)) => break,
                Some(_) => {}
                None if Instant::now() > deadline => bail!("the probe window never appeared on {display}"),
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let (tx, presses) = mpsc::unbounded_channel();
        let area = Rectangle { x: 0, y: 0, width, height };
        let thread = std::thread::Builder::new().name("x-probe".into()).spawn(move || {
            if let Err(e) = log_presses(&conn, window, gc, area, &tx) {
                eprintln!("x-probe: {e}");
            }
        })?;
        let (control, _) = x11rb::connect(Some(display)).context("second connection to Xvfb")?;
        Ok(Self { presses, thread: Some(thread), control, window })
    }

    /// Forgets presses received so far.
    pub fn drain(&mut self) {
        while self.presses.try_recv().is_ok() {}
    }

    /// The next press near (`x`, `y`) (within `tolerance` pixels), skipping others, until `deadline`.
    pub async fn press_near(
        &mut self,
        x: i16,
        y: i16,
        tolerance: i16,
        deadline: tokio::time::Instant,
    ) -> Option<Press> {
        loop {
            let press = tokio::time::timeout_at(deadline, self.presses.recv()).await.ok()??;
            if (press.x - x).abs() <= tolerance && (press.y - y).abs() <= tolerance {
                return Some(press);
            }
        }
    }
}

/// The event thread: stamps, repaints, reports; returns on the stop message.
fn log_presses(
    conn: &RustConnection,
    window: Window,
    gc: u32,
    area: Rectangle,
    tx: &mpsc::UnboundedSender<Press>,
) -> anyhow::Result<()> {
    let mut next = 0usize;
    loop {
        match conn.wait_for_event()? {
            Event::ButtonPress(e) => {
                let arrived_ms = now_ms();
                let colour = PALETTE[next % PALETTE.len()];
                next += 1;
                conn.change_gc(gc, &ChangeGCAux::new().foreground(colour))?;
                conn.poly_fill_rectangle(window, gc, &[area])?;
                // Requests are handled in order: once this reply is back, the fill is done.
                conn.get_input_focus()?.reply()?;
                let painted_ms = now_ms();
                let _ = tx.send(Press { x: e.root_x, y: e.root_y, arrived_ms, painted_ms, colour });
            }
            Event::ClientMessage(m) if m.window == window => return Ok(()),
            _ => {}
        }
    }
}

/// A small square on the probe window that changes colour `fps` times a second, as a
/// clock or a blinking cursor would: the screen is never still, so the pipeline encodes
/// every tick instead of one refresh a second. Stops when dropped.
pub struct Ticker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Where the ticker draws: left of the centre tap, away from the taps and the clicks.
const TICKER: Rectangle = Rectangle { x: 32, y: 344, width: 32, height: 32 };

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Ticker {
    pub fn start(display: &str, probe: &XProbe, fps: u32) -> anyhow::Result<Self> {
        let (conn, _) = x11rb::connect(Some(display)).context("connecting to Xvfb for the ticker")?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, probe.window, &CreateGCAux::new().foreground(0xffffff))?;
        conn.flush()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (window, flag) = (probe.window, stop.clone());
        let period = Duration::from_secs_f64(1.0 / f64::from(fps.max(1)));
        let thread = std::thread::Builder::new().name("x-ticker".into()).spawn(move || {
            let mut n = 0u32;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                n = n.wrapping_add(1);
                let grey = (n * 37 % 200 + 40) * 0x010101;
                let drawn = conn
                    .change_gc(gc, &ChangeGCAux::new().foreground(grey))
                    .and_then(|_| conn.poly_fill_rectangle(window, gc, &[TICKER]))
                    .and_then(|_| conn.flush());
                if drawn.is_err() {
                    return;
                }
                std::thread::sleep(period);
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

/// XTest injection from the bench itself: the floor under any remote path.
pub struct XTestPointer {
    conn: RustConnection,
    root: Window,
}

impl XTestPointer {
    pub fn connect(display: &str) -> anyhow::Result<Self> {
        let (conn, screen_num) = x11rb::connect(Some(display)).context("connecting to Xvfb for XTest")?;
        let root = conn.setup().roots[screen_num].root;
        conn.xtest_get_version(2, 2)?.reply().context("the X server lacks XTest")?;
        Ok(Self { conn, root })
    }

    /// Moves the pointer to (`x`, `y`) and presses the left button; returns when it was sent.
    pub fn press_at(&self, x: i16, y: i16) -> anyhow::Result<f64> {
        let sent = now_ms();
        self.conn.xtest_fake_input(MOTION_NOTIFY_EVENT, 0, 0, self.root, x, y, 0)?;
        self.conn.xtest_fake_input(BUTTON_PRESS_EVENT, 1, 0, self.root, 0, 0, 0)?;
        self.conn.flush()?;
        Ok(sent)
    }

    pub fn release(&self) -> anyhow::Result<()> {
        self.conn.xtest_fake_input(BUTTON_RELEASE_EVENT, 1, 0, self.root, 0, 0, 0)?;
        self.conn.flush()?;
        Ok(())
    }
}
