//! Remote control input under a real X server (Xvfb): control messages pass
//! the gate only with a grant, and what passes is injected through XTest where
//! it should land. An `xev` window covering the screen logs what the X server
//! delivers: the pointer at the matching pixel, the button, the typed text —
//! and nothing at all for messages sent without a grant or after control ended.

mod common;

use common::xev::Xev;
use common::xvfb::start_xvfb;
use tandem_peer::consent::Scope;
use tandem_peer::control::x11::X11Injector;
use tandem_peer::control::{Dropped, InputGate, Surface};
use tandem_wire::ParticipantId;
use tandem_wire::channels::{ControlMessage, KeyCode, KeyText, MouseButton, Point};

const SCREEN: Surface = Surface { x: 0, y: 0, width: 640, height: 480 };

fn click(x: f64, y: f64, down: bool) -> ControlMessage {
    ControlMessage::Button { at: Point::new(x, y).unwrap(), button: MouseButton::Left, down }
}

fn key(code: &str, down: bool, text: Option<&str>) -> ControlMessage {
    ControlMessage::Key {
        code: KeyCode::parse(code).unwrap(),
        down,
        text: text.map(|t| KeyText::parse(t).unwrap()),
    }
}

#[test]
fn granted_input_lands_where_it_should_and_nothing_else_is_injected() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    let injector = X11Injector::start(Some(xvfb.display.clone())).expect("XTest on Xvfb");
    let csr = ParticipantId::from_raw(7);
    let mut gate = InputGate::default();

    // Before consent: nothing.
    for m in [click(0.5, 0.5, true), click(0.5, 0.5, false), key("KeyA", true, Some("a"))] {
        assert_eq!(gate.admit(csr, &m, None, Some(SCREEN)), Err(Dropped::NoConsent));
    }

    // With control granted: a click at a quarter across and half down lands on (160, 240).
    for m in [click(0.25, 0.5, true), click(0.25, 0.5, false)] {
        injector.inject(gate.admit(csr, &m, Some(Scope::Desktop), Some(SCREEN)).unwrap());
    }
    xev.wait("the click", |t| t.contains("ButtonRelease"));
    let log = xev.text();
    assert_eq!(xev.count("ButtonPress"), 1, "the ungranted click was not injected:\n{log}");
    assert!(log.contains("root:(160,240)"), "the click landed elsewhere:\n{log}");

    // Typed text arrives as text; a shortcut as physical keys.
    for m in [key("KeyH", true, Some("h")), key("KeyH", false, Some("h")), key("KeyI", true, Some("i"))] {
        injector.inject(gate.admit(csr, &m, Some(Scope::Desktop), Some(SCREEN)).unwrap());
    }
    xev.wait("the typed text", |t| t.contains("\"h\"") && t.contains("\"i\""));
    assert!(!xev.text().contains("\"a\""), "the ungranted key was not injected");

    // Control ends: what is held is released, and nothing more gets through.
    injector.inject(gate.release(csr));
    let presses = (xev.count("ButtonPress"), xev.count("KeyPress"));
    for m in [click(0.9, 0.9, true), key("KeyZ", true, Some("z"))] {
        assert_eq!(gate.admit(csr, &m, None, Some(SCREEN)), Err(Dropped::NoConsent));
    }
    // A marker click with a grant shows the X server has processed everything before it.
    injector.inject(gate.admit(csr, &click(0.0, 0.0, true), Some(Scope::Desktop), Some(SCREEN)).unwrap());
    xev.wait("the marker click", |t| t.contains("root:(0,0)"));
    assert_eq!((xev.count("ButtonPress"), xev.count("KeyPress")), (presses.0 + 1, presses.1));
    assert!(!xev.text().contains("\"z\""));
    assert_eq!(gate.stats.dropped, 5);
}
