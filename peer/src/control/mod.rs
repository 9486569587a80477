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
//! The backend that performs injections is [`x11::X11Injector`] (enigo over XTest).

pub mod keymap;
pub mod x11;

use std::collections::{BTreeSet, HashMap};

use tandem_wire::ParticipantId;
use tandem_wire::channels::{ControlMessage, MouseButton};

use crate::consent::Scope;

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

    #[test]
    fn a_held_button_is_released_when_control_ends() {
        let mut gate = InputGate::default();
        gate.admit(csr(), &click(0.1, 0.1, true), Some(Scope::Desktop), Some(SCREEN)).unwrap();
        assert_eq!(gate.release(csr()), vec![Injection::Button { button: MouseButton::Left, down: false }]);
        assert_eq!(gate.release(csr()), vec![], "once");
    }
}
