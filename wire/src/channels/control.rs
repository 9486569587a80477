//! Remote control input (SHR-2, SHR-4, SHR-6, SHR-8): what a controlling
//! participant sends to the machine it controls. Pointer motion goes on the
//! `control-motion` channel (unordered, no retransmits: a lost or late motion
//! is replaced by the next); buttons, wheel and keys on `control` (reliable,
//! ordered). The controlled machine injects them only while its person's
//! consent holds, and drops (and counts) everything else.
//!
//! Positions are normalized to the shared surface (the whole desktop, or the
//! one shared window): `0.0` is the left or top edge, `1.0` the right or
//! bottom, so they mean the same whatever size the viewer shows the video at.
//! Keys carry the physical key (W3C `KeyboardEvent.code`, so that shortcuts
//! work whatever the layouts) and, for printable keys, the text it typed on
//! the sender's layout.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use ts_rs::TS;

use crate::text::TextError;

/// A position on the shared surface, each axis in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    /// A point, or `None` when an axis is outside `0.0..=1.0` or not a number.
    pub fn new(x: f64, y: f64) -> Option<Self> {
        let ok = |v: f64| (0.0..=1.0).contains(&v);
        (ok(x) && ok(y)).then_some(Self { x, y })
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            x: f64,
            y: f64,
        }
        let raw = Raw::deserialize(d)?;
        Point::new(raw.x, raw.y).ok_or_else(|| de::Error::custom("a point's x and y are between 0 and 1"))
    }
}

impl Point {
    /// The pixel this point falls on in a `width` × `height` surface
    /// (`1.0` is the last pixel, not one past it). Surfaces of zero size map to 0.
    pub fn to_pixel(self, width: u32, height: u32) -> (u32, u32) {
        let axis = |v: f64, size: u32| (v * f64::from(size.saturating_sub(1))).round() as u32;
        (axis(self.x, width), axis(self.y, height))
    }
}

/// A pointer button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MouseButton {
    Left,
    Middle,
    Right,
    Back,
    Forward,
}

/// How far one wheel event may scroll, in lines, on each axis.
pub const MAX_WHEEL_LINES: f64 = 100.0;

/// A wheel step in lines, at most [`MAX_WHEEL_LINES`] either way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(type = "number")]
pub struct Lines(f64);

impl Lines {
    pub fn new(lines: f64) -> Option<Self> {
        (lines.abs() <= MAX_WHEEL_LINES).then_some(Self(lines))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Lines {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Lines::new(f64::deserialize(d)?).ok_or_else(|| de::Error::custom("a wheel step is at most 100 lines"))
    }
}

channel_text!(
    /// A physical key as W3C `KeyboardEvent.code` names it (`KeyA`, `Digit1`,
    /// `ArrowLeft`, `ShiftLeft`, `F12`, ...): 1 to 32 ASCII letters and digits.
    KeyCode,
    max = 32,
    |s| s.bytes().all(|b| b.is_ascii_alphanumeric())
);
channel_text!(
    /// What a key typed on the sender's layout (`KeyboardEvent.key` for a
    /// printable key): 1 to 8 characters, no control characters.
    KeyText,
    max = 8,
    |s| s.chars().all(|c| !c.is_control())
);

/// One input event for the controlled machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlMessage {
    /// The pointer is here now (`control-motion`). `seq` grows by one per
    /// motion: a receiver drops a motion older than the last it applied.
    Motion { at: Point, seq: u32 },
    /// A button went down or up at `at` (`control`).
    Button { at: Point, button: MouseButton, down: bool },
    /// The wheel turned, in lines; positive `dy` scrolls down, positive `dx` right (`control`).
    Wheel { at: Point, dx: Lines, dy: Lines },
    /// A key went down or up (`control`).
    Key {
        code: KeyCode,
        down: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        text: Option<KeyText>,
    },
}

impl crate::Message for ControlMessage {
    const TYPES: &'static [&'static str] = &["motion", "button", "wheel", "key"];
}

pub(super) fn typescript_decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        Point::decl(cfg),
        MouseButton::decl(cfg),
        Lines::decl(cfg),
        KeyCode::decl(cfg),
        KeyText::decl(cfg),
        ControlMessage::decl(cfg),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_round_trip_in_their_documented_form() {
        let at = Point::new(0.25, 1.0).unwrap();
        let cases = [
            (
                ControlMessage::Motion { at, seq: 7 },
                r#"{"v":1,"type":"motion","at":{"x":0.25,"y":1.0},"seq":7}"#,
            ),
            (
                ControlMessage::Button { at, button: MouseButton::Right, down: true },
                r#"{"v":1,"type":"button","at":{"x":0.25,"y":1.0},"button":"right","down":true}"#,
            ),
            (
                ControlMessage::Wheel { at, dx: Lines::new(0.0).unwrap(), dy: Lines::new(-3.0).unwrap() },
                r#"{"v":1,"type":"wheel","at":{"x":0.25,"y":1.0},"dx":0.0,"dy":-3.0}"#,
            ),
            (
                ControlMessage::Key {
                    code: KeyCode::parse("KeyQ").unwrap(),
                    down: true,
                    text: Some(KeyText::parse("a").unwrap()),
                },
                r#"{"v":1,"type":"key","code":"KeyQ","down":true,"text":"a"}"#,
            ),
            (
                ControlMessage::Key { code: KeyCode::parse("ShiftLeft").unwrap(), down: false, text: None },
                r#"{"v":1,"type":"key","code":"ShiftLeft","down":false}"#,
            ),
        ];
        for (m, text) in cases {
            assert_eq!(crate::encode(&m), text);
            assert_eq!(crate::decode::<ControlMessage>(text).unwrap(), m);
        }
    }

    #[test]
    fn bad_control_messages_are_refused() {
        for bad in [
            r#"{"v":1,"type":"motion","at":{"x":1.5,"y":0},"seq":1}"#,
            r#"{"v":1,"type":"motion","at":{"x":-0.1,"y":0},"seq":1}"#,
            r#"{"v":1,"type":"motion","at":{"x":0,"y":0,"z":1},"seq":1}"#,
            r#"{"v":1,"type":"button","at":{"x":0,"y":0},"button":"sixth","down":true}"#,
            r#"{"v":1,"type":"wheel","at":{"x":0,"y":0},"dx":0,"dy":1e9}"#,
            r#"{"v":1,"type":"key","code":"Key A","down":true}"#,
            r#"{"v":1,"type":"key","code":"","down":true}"#,
            r#"{"v":1,"type":"key","code":"KeyA","down":true,"text":"\u0007"}"#,
            r#"{"v":1,"type":"key","code":"KeyA","down":true,"text":"123456789"}"#,
            r#"{"v":1,"type":"teleport"}"#,
            r#"{"v":2,"type":"motion","at":{"x":0,"y":0},"seq":1}"#,
            "not json",
        ] {
            assert!(crate::decode::<ControlMessage>(bad).is_err(), "{bad} must be refused");
        }
        assert!(Point::new(f64::NAN, 0.0).is_none());
        assert!(Lines::new(f64::NAN).is_none() && Lines::new(f64::INFINITY).is_none());
    }

    #[test]
    fn points_map_onto_the_surface_edges_included() {
        let p = |x, y| Point::new(x, y).unwrap();
        assert_eq!(p(0.0, 0.0).to_pixel(1920, 1080), (0, 0));
        assert_eq!(p(1.0, 1.0).to_pixel(1920, 1080), (1919, 1079));
        assert_eq!(p(0.5, 0.25).to_pixel(1001, 401), (500, 100));
        assert_eq!(p(1.0, 1.0).to_pixel(0, 0), (0, 0));
    }
}
