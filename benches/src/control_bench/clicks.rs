//! One click by one controller, followed to the X server (the probe
//! window's ButtonPress) and to the CSRs' pictures (the first showing the
//! colour the window turned to).

use std::time::Duration;

use anyhow::Context as _;
use tandem_peer::control::Injection;
use tandem_peer::control::x11::X11Injector;
use tandem_wire::channels::{ControlMessage, MouseButton, Point};

use super::dashboard::Dashboard;
use super::report::{Controller, Sample};
use super::stage::Stage;
use super::x_probe::{XProbe, XTestPointer};
use crate::now_ms;

/// How long one click may take to reach the X server, and its picture the CSR.
const SAMPLE_DEADLINE: Duration = Duration::from_secs(3);

/// Where the clicks go, in turn: away from the sink's taps (corners and centre) and never
/// twice in a row at the same place.
pub const POSITIONS: [(i16, i16); 24] = {
    let xs = [200, 330, 460, 820, 950, 1080];
    let ys = [220, 310, 410, 500];
    let mut out = [(0, 0); 24];
    let mut i = 0;
    while i < 24 {
        out[i] = (xs[i % 6], ys[(i / 6 + i) % 4]);
        i += 1;
    }
    out
};

/// What a click needs.
pub struct Rig<'a> {
    pub probe: &'a mut XProbe,
    pub stage: &'a mut Stage,
    pub dashboard: Option<&'a mut Dashboard>,
    pub xtest: XTestPointer,
    pub injector: X11Injector,
}

impl Rig<'_> {
    /// One left click at pixel (`px`, `py`) by `controller`, followed to the X server and to
    /// the native CSR's decoded picture.
    pub async fn click(
        &mut self,
        controller: Controller,
        px: i16,
        py: i16,
        (width, height): (u16, u16),
    ) -> anyhow::Result<Sample> {
        self.probe.drain();
        self.stage.drain_pictures();
        let fx = f64::from(px) / f64::from(width - 1);
        let fy = f64::from(py) / f64::from(height - 1);
        let at = Point::new(fx, fy).context("a point on the screen")?;
        let button = |down| ControlMessage::Button { at, button: MouseButton::Left, down };
        let deadline = tokio::time::Instant::now() + SAMPLE_DEADLINE;
        let mut page_sent_ms = None;
        let sent_ms = match controller {
            Controller::Dashboard => {
                let d = self.dashboard.as_mut().context("no dashboard")?;
                let click = d.click(fx, fy).await?;
                page_sent_ms = Some(click.sent_ms);
                click.event_ms
            }
            Controller::Native => {
                let t = now_ms();
                self.stage.control(button(true)).await?;
                t
            }
            Controller::PeerInjector => {
                let t = now_ms();
                self.injector.inject(vec![
                    Injection::MoveTo { x: i32::from(px), y: i32::from(py) },
                    Injection::Button { button: MouseButton::Left, down: true },
                    Injection::Button { button: MouseButton::Left, down: false },
                ]);
                t
            }
            Controller::XTest => self.xtest.press_at(px, py)?,
        };
        // The page's point maps back to the screen through CSS pixels: allow a few pixels.
        let tolerance = if controller == Controller::Dashboard { 4 } else { 1 };
        let press = self.probe.press_near(px, py, tolerance, deadline).await;
        match controller {
            Controller::Native => self.stage.control(button(false)).await?,
            Controller::XTest => self.xtest.release()?,
            Controller::Dashboard | Controller::PeerInjector => {}
        }
        let picture = match press {
            Some(p) => self.stage.picture_showing(p.colour, deadline.max(tokio::time::Instant::now())).await,
            None => None,
        };
        // Decoded, so captured and encoded long since: where was it on the way?
        let captured = press.and_then(|p| self.stage.logs.first_capture_showing(p.colour, p.painted_ms));
        let encoded_ms = captured.and_then(|c| self.stage.logs.encoded_for(c.called)).map(|e| e.out_ms);
        let page_shown_ms = match (controller, press, self.dashboard.as_mut()) {
            (Controller::Dashboard, Some(p), Some(d)) => d.photon(p.colour).await?,
            _ => None,
        };
        if press.is_none() || picture.is_none() {
            eprintln!(
                "  {:?} at ({px}, {py}): {}",
                controller,
                if press.is_none() {
                    "no ButtonPress within 3 s"
                } else {
                    "no picture with the new colour within 3 s"
                }
            );
        }
        Ok(Sample {
            controller,
            sent_ms,
            page_sent_ms,
            press,
            decoded_ms: picture.map(|p| p.at_ms),
            decoded_width: picture.map(|p| p.width),
            page_shown_ms,
            captured,
            encoded_ms,
        })
    }
}
