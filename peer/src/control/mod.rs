//! Remote control input on the controlled machine (SHR-2, SHR-4, SHR-6, SHR-8).
//!
//! [`InputGate`] is pure: a [`ControlMessage`] from a participant, what the
//! consent core allows that participant now ([`Scope`]) and where the shared
//! surface is on this screen go in; the [`Injection`]s to perform come out, or
//! nothing, and then the message is counted as dropped. Nothing is injected
//! without a control grant: not before consent, not after a revoke, not after
//! a reconnect until consent is given again. When control ends, whatever the
//! controller held down is released.
//!
//! Keys: a printable key typed without Ctrl, Alt or Meta is injected as its
//! text (so the controller's layout decides what appears, as they expect);
//! everything else is injected by physical key ([`keymap`]), so that
//! shortcuts and non-printing keys work whatever the layouts.
//!
//! Application sharing (SHR-6): [`InputGate::admit_to_window`] also drops
//! pointer messages whose position another window covers (the click would
//! reach that window, not the shared one) and key presses while another
//! window has the keyboard. The session asks the X server where the shared
//! window is and which window is on top at [`pointer_pixel`] (see
//! [`crate::video::x11_window::X11Windows`]) and passes the answers in a
//! [`SharedWindow`]; the gate itself stays pure. Releases of buttons and keys
//! always pass (without moving the pointer), so that nothing stays held down
//! when the pointer leaves the window or another window takes the keyboard.
//!
//! The backend that performs injections is [`x11::X11Injector`] (enigo over XTest).

pub mod keymap;
pub mod x11;

use std::collections::{BTreeSet, HashMap};

use tandem_wire::ParticipantId;
use tandem_wire::channels::{ControlMessage, MouseButton};

use crate::consent::Scope;
use crate::video::WindowId;

/// Where the shared surface is on this machine's screen, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Surface {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// One thing to do to this machine's input.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// Move the pointer to this screen position.
    MoveTo {
        x: i32,
        y: i32,
    },
    Button {
        button: MouseButton,
        down: bool,
    },
    /// Scroll, in lines (whole lines; the remainder is kept for the next step).
    Scroll {
        dx: i32,
        dy: i32,
    },
    /// A physical key by X keycode.
    Key {
        keycode: u16,
        down: bool,
    },
    /// Text as typed on the controller's layout.
    Text(String),
}

/// Why a control message was not injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The sender holds no control grant (before consent, after a revoke, after a reconnect).
    NoConsent,
    /// Nothing is shared to map the position onto.
    NoSurface,
    /// A motion older than one already applied (the motion channel is unordered).
    StaleMotion,
    /// A key this peer does not know.
    UnknownKey,
    /// Application sharing: another window covers the pointer's position (or the position is off the screen).
    OutsideWindow,
    /// Application sharing: another window has the keyboard.
    WindowNotFocused,
}

/// What the session found out about the shared window just before a control
/// message from it is admitted (application sharing, SHR-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedWindow {
    /// The window the approver picked.
    pub id: WindowId,
    /// Where it is on screen now (the surface the message's point is normalized to).
    pub rect: Surface,
    /// The top-level window a click at the message's [`pointer_pixel`] reaches (pointer messages).
    pub topmost: Option<WindowId>,
    /// The top-level window that has the keyboard now (key messages).
    pub focused: Option<WindowId>,
}

/// The screen pixel a pointer message points at on `surface`; `None` for keys.
pub fn pointer_pixel(message: &ControlMessage, surface: Surface) -> Option<(i32, i32)> {
    let at = match message {
        ControlMessage::Motion { at, .. }
        | ControlMessage::Button { at, .. }
        | ControlMessage::Wheel { at, .. } => at,
        ControlMessage::Key { .. } => return None,
    };
    let (x, y) = at.to_pixel(surface.width, surface.height);
    Some((surface.x + x as i32, surface.y + y as i32))
}

/// Counts of what the gate let through and what it dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    pub injected: u64,
    pub dropped: u64,
}

/// Decides, for each control message, what (if anything) is injected.
#[derive(Debug, Default)]
pub struct InputGate {
    last_motion: HashMap<ParticipantId, u32>,
    /// What each controller holds down, to release when its control ends.
    held_keys: HashMap<ParticipantId, BTreeSet<u16>>,
    held_buttons: HashMap<ParticipantId, Vec<MouseButton>>,
    /// Wheel remainders, in lines.
    wheel: (f64, f64),
    pub stats: InputStats,
}

impl InputGate {
    /// What to inject for `message` from `from`, given its grant now and the shared surface.
    pub fn admit(
        &mut self,
        from: ParticipantId,
        message: &ControlMessage,
        grant: Option<Scope>,
        surface: Option<Surface>,
    ) -> Result<Vec<Injection>, Dropped> {
        let result = self.decide(from, message, grant, surface);
        match &result {
            Ok(_) => self.stats.injected += 1,
            Err(_) => self.stats.dropped += 1,
        }
        result
    }

    /// [`Self::admit`] for application sharing: `window` is the shared window
    /// as the session just found it (`None`: gone or not mapped, nothing to
    /// map onto). A pointer message is injected only where the shared window
    /// is the one on top, a key press only while it has the keyboard; a
    /// button or key release always passes, without moving the pointer.
    pub fn admit_to_window(
        &mut self,
        from: ParticipantId,
        message: &ControlMessage,
        grant: Option<Scope>,
        window: Option<SharedWindow>,
    ) -> Result<Vec<Injection>, Dropped> {
        let result = match window {
            _ if grant.is_none() => Err(Dropped::NoConsent),
            None => Err(Dropped::NoSurface),
            Some(window) => {
                let ours = |seen: Option<WindowId>| seen == Some(window.id);
                let release = match message {
                    ControlMessage::Button { down, .. } | ControlMessage::Key { down, .. } => !down,
                    _ => false,
                };
                let reaches = match message {
                    ControlMessage::Key { .. } => {
                        ours(window.focused).then_some(()).ok_or(Dropped::WindowNotFocused)
                    }
                    _ => ours(window.topmost).then_some(()).ok_or(Dropped::OutsideWindow),
                };
                match reaches {
                    Ok(()) => self.decide(from, message, grant, Some(window.rect)),
                    // Let go where the pointer is now (the X server sends the release to
                    // whichever window took the press).
                    Err(_) if release => {
                        self.decide(from, message, grant, Some(window.rect)).map(|injections| {
                            injections
                                .into_iter()
                                .filter(|i| !matches!(i, Injection::MoveTo { .. }))
                                .collect()
                        })
                    }
                    Err(reason) => Err(reason),
                }
            }
        };
        match &result {
            Ok(_) => self.stats.injected += 1,
            Err(_) => self.stats.dropped += 1,
        }
        result
    }

    fn decide(
        &mut self,
        from: ParticipantId,
        message: &ControlMessage,
        grant: Option<Scope>,
        surface: Option<Surface>,
    ) -> Result<Vec<Injection>, Dropped> {
        if grant.is_none() {
            return Err(Dropped::NoConsent);
        }
        let to_screen = |at: tandem_wire::channels::Point| {
            let s = surface.ok_or(Dropped::NoSurface)?;
            let (x, y) = at.to_pixel(s.width, s.height);
            Ok::<_, Dropped>(Injection::MoveTo { x: s.x + x as i32, y: s.y + y as i32 })
        };
        match message {
            ControlMessage::Motion { at, seq } => {
                if let Some(&last) = self.last_motion.get(&from)
                    && (seq.wrapping_sub(last) as i32) <= 0
                {
                    return Err(Dropped::StaleMotion);
                }
                let to = to_screen(*at)?;
                self.last_motion.insert(from, *seq);
                Ok(vec![to])
            }
            ControlMessage::Button { at, button, down } => {
                let to = to_screen(*at)?;
                let held = self.held_buttons.entry(from).or_default();
                held.retain(|b| b != button);
                if *down {
                    held.push(*button);
                }
                Ok(vec![to, Injection::Button { button: *button, down: *down }])
            }
            ControlMessage::Wheel { at, dx, dy } => {
                let to = to_screen(*at)?;
                self.wheel.0 += dx.get();
                self.wheel.1 += dy.get();
                let (sx, sy) = (self.wheel.0.trunc(), self.wheel.1.trunc());
                self.wheel.0 -= sx;
                self.wheel.1 -= sy;
                let mut out = vec![to];
                if sx != 0.0 || sy != 0.0 {
                    out.push(Injection::Scroll { dx: sx as i32, dy: sy as i32 });
                }
                Ok(out)
            }
            ControlMessage::Key { code, down, text } => {
                let held = self.held_keys.entry(from).or_default();
                let shortcut = held.iter().any(|k| keymap::is_command_modifier(*k));
                let keycode = keymap::x11_keycode(code.as_str());
                match (text, keycode) {
                    // Printable, not a shortcut: the text, once, on key down.
                    (Some(text), _) if !shortcut && !keymap::is_modifier_code(code.as_str()) => {
                        Ok(if *down { vec![Injection::Text(text.as_str().to_owned())] } else { Vec::new() })
                    }
                    (_, Some(keycode)) => {
                        if *down {
                            held.insert(keycode);
                        } else {
                            held.remove(&keycode);
                        }
                        Ok(vec![Injection::Key { keycode, down: *down }])
                    }
                    (_, None) => Err(Dropped::UnknownKey),
                }
            }
        }
    }

    /// `from` lost control (revoked, stopped, gone): release what it holds down.
    pub fn release(&mut self, from: ParticipantId) -> Vec<Injection> {
        self.last_motion.remove(&from);
        let keys = self.held_keys.remove(&from).unwrap_or_default();
        let buttons = self.held_buttons.remove(&from).unwrap_or_default();
        keys.into_iter()
            .map(|keycode| Injection::Key { keycode, down: false })
            .chain(buttons.into_iter().map(|button| Injection::Button { button, down: false }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use tandem_wire::channels::{KeyCode, KeyText, Lines, Point};

    use super::*;

    fn csr() -> ParticipantId {
        ParticipantId::from_raw(1)
    }

    const SCREEN: Surface = Surface { x: 0, y: 0, width: 1280, height: 720 };

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
    fn nothing_is_injected_without_a_grant() {
        let mut gate = InputGate::default();
        for m in [click(0.5, 0.5, true), key("KeyA", true, Some("a"))] {
            assert_eq!(gate.admit(csr(), &m, None, Some(SCREEN)), Err(Dropped::NoConsent));
        }
        assert_eq!(gate.stats, InputStats { injected: 0, dropped: 2 });
    }

    #[test]
    fn a_click_lands_on_the_matching_pixel_of_the_shared_surface() {
        let mut gate = InputGate::default();
        let window = Surface { x: 100, y: 50, width: 401, height: 201 };
        let out = gate.admit(csr(), &click(0.5, 1.0, true), Some(Scope::Application), Some(window)).unwrap();
        assert_eq!(
            out,
            vec![
                Injection::MoveTo { x: 300, y: 250 },
                Injection::Button { button: MouseButton::Left, down: true }
            ]
        );
        assert_eq!(
            gate.admit(csr(), &click(0.5, 0.5, true), Some(Scope::Desktop), None),
            Err(Dropped::NoSurface)
        );
    }

    #[test]
    fn late_motion_is_dropped_and_seq_may_wrap() {
        let mut gate = InputGate::default();
        let motion = |seq| ControlMessage::Motion { at: Point::new(0.0, 0.0).unwrap(), seq };
        let grant = Some(Scope::Desktop);
        assert!(gate.admit(csr(), &motion(u32::MAX - 1), grant, Some(SCREEN)).is_ok());
        assert!(gate.admit(csr(), &motion(3), grant, Some(SCREEN)).is_ok(), "wrapped forward");
        assert_eq!(gate.admit(csr(), &motion(u32::MAX), grant, Some(SCREEN)), Err(Dropped::StaleMotion));
        assert_eq!(gate.admit(csr(), &motion(3), grant, Some(SCREEN)), Err(Dropped::StaleMotion));
    }

    #[test]
    fn printable_keys_type_text_and_shortcuts_use_physical_keys() {
        let mut gate = InputGate::default();
        let g = Some(Scope::Desktop);
        let s = Some(SCREEN);
        assert_eq!(
            gate.admit(csr(), &key("KeyQ", true, Some("a")), g, s).unwrap(),
            vec![Injection::Text("a".into())]
        );
        assert_eq!(gate.admit(csr(), &key("KeyQ", false, Some("a")), g, s).unwrap(), vec![]);
        // Ctrl+C: the physical keys, whatever the text.
        let ctrl = keymap::x11_keycode("ControlLeft").unwrap();
        let c = keymap::x11_keycode("KeyC").unwrap();
        assert_eq!(
            gate.admit(csr(), &key("ControlLeft", true, None), g, s).unwrap(),
            vec![Injection::Key { keycode: ctrl, down: true }]
        );
        assert_eq!(
            gate.admit(csr(), &key("KeyC", true, Some("c")), g, s).unwrap(),
            vec![Injection::Key { keycode: c, down: true }]
        );
        assert_eq!(gate.admit(csr(), &key("Launch42", true, None), g, s), Err(Dropped::UnknownKey));
        // Control ends with Ctrl and C still down: both are released.
        let released = gate.release(csr());
        assert!(released.contains(&Injection::Key { keycode: ctrl, down: false }));
        assert!(released.contains(&Injection::Key { keycode: c, down: false }));
    }

    #[test]
    fn wheel_steps_add_up_to_whole_lines() {
        let mut gate = InputGate::default();
        let wheel = |dy| ControlMessage::Wheel {
            at: Point::new(0.5, 0.5).unwrap(),
            dx: Lines::new(0.0).unwrap(),
            dy: Lines::new(dy).unwrap(),
        };
        let g = Some(Scope::Desktop);
        assert_eq!(gate.admit(csr(), &wheel(0.6), g, Some(SCREEN)).unwrap().len(), 1, "not a line yet");
        let out = gate.admit(csr(), &wheel(0.6), g, Some(SCREEN)).unwrap();
        assert_eq!(out[1], Injection::Scroll { dx: 0, dy: 1 });
    }

    const APP: WindowId = WindowId(0x40_0001);
    const OTHER: WindowId = WindowId(0x60_0001);
    const APP_RECT: Surface = Surface { x: 100, y: 50, width: 200, height: 100 };

    fn shared(topmost: Option<WindowId>, focused: Option<WindowId>) -> Option<SharedWindow> {
        Some(SharedWindow { id: APP, rect: APP_RECT, topmost, focused })
    }

    #[test]
    fn pointer_pixels_fall_inside_the_surface_and_keys_have_none() {
        assert_eq!(pointer_pixel(&click(0.0, 0.0, true), APP_RECT), Some((100, 50)));
        assert_eq!(pointer_pixel(&click(1.0, 1.0, true), APP_RECT), Some((299, 149)));
        assert_eq!(pointer_pixel(&key("KeyA", true, Some("a")), APP_RECT), None);
    }

    #[test]
    fn in_application_sharing_pointer_input_lands_only_where_the_shared_window_is_on_top() {
        let mut gate = InputGate::default();
        let g = Some(Scope::Application);
        assert_eq!(
            gate.admit_to_window(csr(), &click(0.5, 0.5, true), g, shared(Some(APP), None)).unwrap(),
            vec![
                Injection::MoveTo { x: 200, y: 100 },
                Injection::Button { button: MouseButton::Left, down: true }
            ]
        );
        // Another window over the point (or none at all: the desktop): dropped.
        for topmost in [Some(OTHER), None] {
            let motion = ControlMessage::Motion { at: Point::new(0.1, 0.1).unwrap(), seq: 1 };
            assert_eq!(
                gate.admit_to_window(csr(), &motion, g, shared(topmost, None)),
                Err(Dropped::OutsideWindow)
            );
            let press = click(0.1, 0.1, true);
            assert_eq!(
                gate.admit_to_window(csr(), &press, g, shared(topmost, None)),
                Err(Dropped::OutsideWindow)
            );
        }
        // The press made inside is let go outside: the release passes, without a move.
        assert_eq!(
            gate.admit_to_window(csr(), &click(0.9, 0.9, false), g, shared(Some(OTHER), None)).unwrap(),
            vec![Injection::Button { button: MouseButton::Left, down: false }]
        );
        assert_eq!(gate.release(csr()), vec![], "nothing left held");
        // The window is gone or unmapped: nothing to map onto. No grant: nothing at all.
        assert_eq!(gate.admit_to_window(csr(), &click(0.5, 0.5, true), g, None), Err(Dropped::NoSurface));
        assert_eq!(
            gate.admit_to_window(csr(), &click(0.5, 0.5, true), None, shared(Some(APP), Some(APP))),
            Err(Dropped::NoConsent)
        );
        assert_eq!(gate.stats, InputStats { injected: 2, dropped: 6 });
    }

    #[test]
    fn in_application_sharing_keys_are_pressed_only_while_the_shared_window_has_the_keyboard() {
        let mut gate = InputGate::default();
        let g = Some(Scope::Application);
        let shift = keymap::x11_keycode("ShiftLeft").unwrap();
        assert_eq!(
            gate.admit_to_window(csr(), &key("KeyA", true, Some("a")), g, shared(None, Some(APP))).unwrap(),
            vec![Injection::Text("a".into())]
        );
        assert_eq!(
            gate.admit_to_window(csr(), &key("ShiftLeft", true, None), g, shared(None, Some(APP))).unwrap(),
            vec![Injection::Key { keycode: shift, down: true }]
        );
        for focused in [Some(OTHER), None] {
            assert_eq!(
                gate.admit_to_window(csr(), &key("KeyB", true, Some("b")), g, shared(Some(APP), focused)),
                Err(Dropped::WindowNotFocused),
                "typing would reach {focused:?}"
            );
        }
        // Focus moved away with Shift down: its release still passes.
        assert_eq!(
            gate.admit_to_window(csr(), &key("ShiftLeft", false, None), g, shared(None, Some(OTHER)))
                .unwrap(),
            vec![Injection::Key { keycode: shift, down: false }]
        );
        assert_eq!(gate.release(csr()), vec![]);
    }

    #[test]
    fn a_held_button_is_released_when_control_ends() {
        let mut gate = InputGate::default();
        gate.admit(csr(), &click(0.1, 0.1, true), Some(Scope::Desktop), Some(SCREEN)).unwrap();
        assert_eq!(gate.release(csr()), vec![Injection::Button { button: MouseButton::Left, down: false }]);
        assert_eq!(gate.release(csr()), vec![], "once");
    }
}
