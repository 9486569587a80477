//! Physical keys: W3C `KeyboardEvent.code` names to X11 keycodes. X servers
//! with evdev-based keymaps (Xorg with libinput or evdev, Xvfb, Xwayland)
//! number keys as the Linux input codes plus 8.

/// `(code, Linux input event code)` for the keys of a 105-key PC keyboard.
const EVDEV: &[(&str, u16)] = &[
    ("Escape", 1),
    ("Digit1", 2),
    ("Digit2", 3),
    ("Digit3", 4),
    ("Digit4", 5),
    ("Digit5", 6),
    ("Digit6", 7),
    ("Digit7", 8),
    ("Digit8", 9),
    ("Digit9", 10),
    ("Digit0", 11),
    ("Minus", 12),
    ("Equal", 13),
    ("Backspace", 14),
    ("Tab", 15),
    ("KeyQ", 16),
    ("KeyW", 17),
    ("KeyE", 18),
    ("KeyR", 19),
    ("KeyT", 20),
    ("KeyY", 21),
    ("KeyU", 22),
    ("KeyI", 23),
    ("KeyO", 24),
    ("KeyP", 25),
    ("BracketLeft", 26),
    ("BracketRight", 27),
    ("Enter", 28),
    ("ControlLeft", 29),
    ("KeyA", 30),
    ("KeyS", 31),
    ("KeyD", 32),
    ("KeyF", 33),
    ("KeyG", 34),
    ("KeyH", 35),
    ("KeyJ", 36),
    ("KeyK", 37),
    ("KeyL", 38),
    ("Semicolon", 39),
    ("Quote", 40),
    ("Backquote", 41),
    ("ShiftLeft", 42),
    ("Backslash", 43),
    ("KeyZ", 44),
    ("KeyX", 45),
    ("KeyC", 46),
    ("KeyV", 47),
    ("KeyB", 48),
    ("KeyN", 49),
    ("KeyM", 50),
    ("Comma", 51),
    ("Period", 52),
    ("Slash", 53),
    ("ShiftRight", 54),
    ("NumpadMultiply", 55),
    ("AltLeft", 56),
    ("Space", 57),
    ("CapsLock", 58),
    ("F1", 59),
    ("F2", 60),
    ("F3", 61),
    ("F4", 62),
    ("F5", 63),
    ("F6", 64),
    ("F7", 65),
    ("F8", 66),
    ("F9", 67),
    ("F10", 68),
    ("NumLock", 69),
    ("ScrollLock", 70),
    ("Numpad7", 71),
    ("Numpad8", 72),
    ("Numpad9", 73),
    ("NumpadSubtract", 74),
    ("Numpad4", 75),
    ("Numpad5", 76),
    ("Numpad6", 77),
    ("NumpadAdd", 78),
    ("Numpad1", 79),
    ("Numpad2", 80),
    ("Numpad3", 81),
    ("Numpad0", 82),
    ("NumpadDecimal", 83),
    ("IntlBackslash", 86),
    ("F11", 87),
    ("F12", 88),
    ("NumpadEnter", 96),
    ("ControlRight", 97),
    ("NumpadDivide", 98),
    ("PrintScreen", 99),
    ("AltRight", 100),
    ("Home", 102),
    ("ArrowUp", 103),
    ("PageUp", 104),
    ("ArrowLeft", 105),
    ("ArrowRight", 106),
    ("End", 107),
    ("ArrowDown", 108),
    ("PageDown", 109),
    ("Insert", 110),
    ("Delete", 111),
    ("Pause", 119),
    ("MetaLeft", 125),
    ("MetaRight", 126),
    ("ContextMenu", 127),
];

/// Linux input codes are X keycodes minus this.
const X11_OFFSET: u16 = 8;

/// The X keycode of a physical key, `None` for keys this table does not know.
pub fn x11_keycode(code: &str) -> Option<u16> {
    EVDEV.iter().find(|(c, _)| *c == code).map(|(_, n)| n + X11_OFFSET)
}

/// Shift, Control, Alt, Meta (left or right), and the locks: keys that change other keys.
pub fn is_modifier_code(code: &str) -> bool {
    matches!(
        code,
        "ShiftLeft"
            | "ShiftRight"
            | "ControlLeft"
            | "ControlRight"
            | "AltLeft"
            | "AltRight"
            | "MetaLeft"
            | "MetaRight"
            | "CapsLock"
            | "NumLock"
    )
}

/// Whether an X keycode is Control, Alt or Meta: held, the next key is a shortcut, not text.
pub fn is_command_modifier(keycode: u16) -> bool {
    ["ControlLeft", "ControlRight", "AltLeft", "AltRight", "MetaLeft", "MetaRight"]
        .iter()
        .any(|c| x11_keycode(c) == Some(keycode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_map_to_evdev_keycodes() {
        assert_eq!(x11_keycode("KeyA"), Some(38), "the `a` key of a US keyboard is X keycode 38");
        assert_eq!(x11_keycode("Escape"), Some(9));
        assert_eq!(x11_keycode("ArrowLeft"), Some(113));
        assert_eq!(x11_keycode("NoSuchKey"), None);
        assert!(is_command_modifier(x11_keycode("ControlRight").unwrap()));
        assert!(!is_command_modifier(x11_keycode("ShiftLeft").unwrap()));
        let mut codes: Vec<u16> = EVDEV.iter().map(|(_, n)| *n).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EVDEV.len(), "no two names share a key");
    }
}
