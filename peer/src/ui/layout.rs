//! Fixed sizes and places, in egui points relative to each window's top-left
//! corner (one point is one pixel at scale 1). The windows do not resize,
//! so a button is always where these say: tests click them with xdotool.

use eframe::egui::{Pos2, Rect, Vec2};

const fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
    Rect { min: Pos2 { x, y }, max: Pos2 { x: x + w, y: y + h } }
}

/// The prompt window.
pub const PROMPT_SIZE: Vec2 = Vec2 { x: 480.0, y: 216.0 };
pub const QUESTION: Rect = rect(20.0, 16.0, 440.0, 80.0);
pub const REASSURANCE: Rect = rect(20.0, 100.0, 440.0, 40.0);
pub const ALLOW: Rect = rect(20.0, 150.0, 110.0, 36.0);
pub const DENY: Rect = rect(140.0, 150.0, 110.0, 36.0);
pub const END_AND_REPORT: Rect = rect(280.0, 150.0, 180.0, 36.0);
pub const WAITING: Rect = rect(20.0, 192.0, 440.0, 20.0);

/// The indicator: a strip at the top centre of the screen.
pub const INDICATOR_SIZE: Vec2 = Vec2 { x: 520.0, y: 44.0 };
pub const INDICATOR_TEXT: Rect = rect(12.0, 0.0, 408.0, 44.0);
pub const STOP: Rect = rect(430.0, 8.0, 78.0, 28.0);
/// Gap between the top of the screen and the indicator.
pub const INDICATOR_TOP: f32 = 8.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_fits_its_window_and_buttons_do_not_overlap() {
        let prompt = Rect::from_min_size(Pos2::ZERO, PROMPT_SIZE);
        let parts = [QUESTION, REASSURANCE, ALLOW, DENY, END_AND_REPORT, WAITING];
        for (i, a) in parts.iter().enumerate() {
            assert!(prompt.contains_rect(*a), "{a:?} inside the prompt");
            for b in &parts[i + 1..] {
                assert!(!a.intersects(*b), "{a:?} and {b:?} overlap");
            }
        }
        let indicator = Rect::from_min_size(Pos2::ZERO, INDICATOR_SIZE);
        assert!(indicator.contains_rect(INDICATOR_TEXT) && indicator.contains_rect(STOP));
        assert!(!INDICATOR_TEXT.intersects(STOP));
    }
}
