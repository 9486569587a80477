//! Injects input into an X server through XTest (enigo's x11rb backend), on a
//! thread of its own: enigo's connection is blocking and not `Send`.

use std::sync::mpsc;

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Keyboard, Mouse, Settings};
use tandem_wire::channels::MouseButton;

use super::Injection;
use crate::PeerError;

/// A running injector; dropping it ends its thread (enigo then releases what it held).
pub struct X11Injector {
    tx: mpsc::Sender<Vec<Injection>>,
}

impl X11Injector {
    /// Connects to `display` (`None`: `$DISPLAY`) and checks it can inject there.
    pub fn start(display: Option<String>) -> Result<Self, PeerError> {
        let (tx, rx) = mpsc::channel::<Vec<Injection>>();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("x11-input".into())
            .spawn(move || {
                // No delay between events: they are already paced by the controller.
                let settings = Settings { x11_display: display, linux_delay: 0, ..Settings::default() };
                let mut enigo = match Enigo::new(&settings) {
                    Ok(e) => {
                        let _ = ready_tx.send(Ok(()));
                        e
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                while let Ok(batch) = rx.recv() {
                    for injection in batch {
                        if let Err(e) = inject(&mut enigo, &injection) {
                            tracing::warn!(?injection, error = %e, "input injection failed");
                        }
                    }
                }
            })
            .map_err(|e| PeerError::Media(format!("starting the input thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { tx }),
            Ok(Err(e)) => Err(PeerError::Media(format!("cannot inject input on this display (XTest): {e}"))),
            Err(_) => Err(PeerError::Media("the input thread ended at start".into())),
        }
    }

    /// Queues injections, performed in order.
    pub fn inject(&self, batch: Vec<Injection>) {
        if !batch.is_empty() {
            let _ = self.tx.send(batch);
        }
    }
}

fn inject(enigo: &mut Enigo, injection: &Injection) -> enigo::InputResult<()> {
    let direction = |down: bool| if down { Direction::Press } else { Direction::Release };
    match injection {
        Injection::MoveTo { x, y } => enigo.move_mouse(*x, *y, Coordinate::Abs),
        Injection::Button { button, down } => enigo.button(button_of(*button), direction(*down)),
        Injection::Scroll { dx, dy } => {
            if *dy != 0 {
                enigo.scroll(*dy, Axis::Vertical)?;
            }
            if *dx != 0 {
                enigo.scroll(*dx, Axis::Horizontal)?;
            }
            Ok(())
        }
        Injection::Key { keycode, down } => enigo.raw(*keycode, direction(*down)),
        Injection::Text(text) => enigo.text(text),
    }
}

fn button_of(button: MouseButton) -> Button {
    match button {
        MouseButton::Left => Button::Left,
        MouseButton::Middle => Button::Middle,
        MouseButton::Right => Button::Right,
        MouseButton::Back => Button::Back,
        MouseButton::Forward => Button::Forward,
    }
}

/// The whole screen of `display` (`None`: `$DISPLAY`) as a control surface.
pub fn desktop_surface(display: Option<&str>) -> Result<super::Surface, PeerError> {
    let (conn, screen) = x11rb::connect(display)
        .map_err(|e| PeerError::Media(format!("cannot open the X display for input: {e}")))?;
    let root = &x11rb::connection::Connection::setup(&conn).roots[screen];
    Ok(super::Surface {
        x: 0,
        y: 0,
        width: u32::from(root.width_in_pixels),
        height: u32::from(root.height_in_pixels),
    })
}
