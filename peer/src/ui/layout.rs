//! Fixed sizes and places, in egui points relative to each window's top-left
//! corner (one point is one pixel at scale 1). The windows do not resize,
//! so a button is always where these say: tests click them with xdotool.

use eframe::egui::{Pos2, Rect, Vec2};

const fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
    Rect { min: Pos2 { x, y }, max: Pos2 { x: x + w, y: y + h } }
}

/// The prompt window of a desktop request.
pub const PROMPT_SIZE: Vec2 = Vec2 { x: 480.0, y: 216.0 };
pub const QUESTION: Rect = rect(20.0, 16.0, 440.0, 80.0);
pub const REASSURANCE: Rect = rect(20.0, 100.0, 440.0, 40.0);
pub const ALLOW: Rect = rect(20.0, 150.0, 110.0, 36.0);
pub const DENY: Rect = rect(140.0, 150.0, 110.0, 36.0);
pub const END_AND_REPORT: Rect = rect(280.0, 150.0, 180.0, 36.0);
pub const WAITING: Rect = rect(20.0, 192.0, 440.0, 20.0);

/// The prompt window of an application request: the same text, then the
/// window list, then the buttons.
pub const APP_PROMPT_SIZE: Vec2 = Vec2 { x: 480.0, y: 412.0 };
pub const PICK_LABEL: Rect = rect(20.0, 144.0, 440.0, 20.0);
pub const WINDOW_LIST: Rect = rect(20.0, 166.0, 440.0, VISIBLE_ROWS as f32 * ROW_HEIGHT);
pub const APP_ALLOW: Rect = rect(20.0, 346.0, 110.0, 36.0);
pub const APP_DENY: Rect = rect(140.0, 346.0, 110.0, 36.0);
pub const APP_END_AND_REPORT: Rect = rect(280.0, 346.0, 180.0, 36.0);
pub const APP_WAITING: Rect = rect(20.0, 388.0, 440.0, 20.0);
/// One row of the window list; more than [`VISIBLE_ROWS`] scroll.
pub const ROW_HEIGHT: f32 = 28.0;
pub const VISIBLE_ROWS: usize = 6;

/// Row `i` of the window list, before any scrolling.
pub fn window_row(i: usize) -> Rect {
    let top = WINDOW_LIST.min.y + i as f32 * ROW_HEIGHT;
    rect(WINDOW_LIST.min.x, top, WINDOW_LIST.width(), ROW_HEIGHT)
}

/// The places that differ between the two prompts.
#[derive(Debug, Clone, Copy)]
pub struct PromptParts {
    pub size: Vec2,
    pub allow: Rect,
    pub deny: Rect,
    pub end_and_report: Rect,
    pub waiting: Rect,
}

/// The parts of the prompt with (`picker`) or without the window list.
pub fn prompt_parts(picker: bool) -> PromptParts {
    if picker {
        PromptParts {
            size: APP_PROMPT_SIZE,
            allow: APP_ALLOW,
            deny: APP_DENY,
            end_and_report: APP_END_AND_REPORT,
            waiting: APP_WAITING,
        }
    } else {
        PromptParts {
            size: PROMPT_SIZE,
            allow: ALLOW,
            deny: DENY,
            end_and_report: END_AND_REPORT,
            waiting: WAITING,
        }
    }
}

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
        let app = Rect::from_min_size(Pos2::ZERO, APP_PROMPT_SIZE);
        let parts = [
            QUESTION,
            REASSURANCE,
            PICK_LABEL,
            WINDOW_LIST,
            APP_ALLOW,
            APP_DENY,
            APP_END_AND_REPORT,
            APP_WAITING,
        ];
        for (i, a) in parts.iter().enumerate() {
            assert!(app.contains_rect(*a), "{a:?} inside the application prompt");
            for b in &parts[i + 1..] {
                assert!(!a.intersects(*b), "{a:?} and {b:?} overlap");
            }
        }
        assert_eq!(window_row(0).min, WINDOW_LIST.min);
        assert_eq!(window_row(VISIBLE_ROWS - 1).max, WINDOW_LIST.max);
        let indicator = Rect::from_min_size(Pos2::ZERO, INDICATOR_SIZE);
        assert!(indicator.contains_rect(INDICATOR_TEXT) && indicator.contains_rect(STOP));
        assert!(!INDICATOR_TEXT.intersects(STOP));
    }
}
