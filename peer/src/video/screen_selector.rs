//! What the screen feed shows, switchable live: the whole desktop, one
//! window (application sharing, SHR-5..8), or nothing.
//!
//! ```text
//! session --set(ScreenTarget)--> ScreenSelector (shared handle, one atomic)
//!                                     | read at every frame
//! pipeline thread: SelectorSource --> X11Screen (desktop) | X11WindowSource (one window) | black
//! ```
//!
//! The session owns the decision and [`ScreenSelector::set`]s it; the
//! pipeline's source reads it at the start of every frame (one atomic load)
//! and, when it changed, drops the old capturer before it builds the new
//! one. So every frame returned after the change was observed comes from the
//! new target only: no picture of the old target is kept or returned.
//!
//! [`ScreenTarget::Nothing`] gives small black frames ([`NOTHING_SIZE`]): the
//! pipeline and the receivers' decoders keep running, and nothing of the
//! machine is shown. When the shared window is destroyed, the frames turn
//! black and [`ScreenSelector::gone`] names the window, until the next
//! [`ScreenSelector::set`].
//!
//! The frame size follows the target, so the encoder sees a new size (and
//! starts with a keyframe) at most switches; when the desktop and a window
//! have the same size it does not. A session that wants a clean cut for
//! every switch asks its feed for a keyframe when it sets a new target.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::pipeline::SourceFactory;
use super::x11_screen::X11Screen;
use super::x11_window::X11WindowSource;
use super::{I420Frame, VideoError, VideoSource, WindowId};

/// The size of the black frames shown for [`ScreenTarget::Nothing`].
pub const NOTHING_SIZE: (usize, usize) = (64, 64);

/// What the screen feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScreenTarget {
    /// The whole X display.
    Desktop,
    /// One top-level window's own pixels.
    Window(WindowId),
    /// Nothing: black frames.
    #[default]
    Nothing,
}

/// A cheap, cloneable handle on what the screen feed shows; the source reads it every frame.
#[derive(Debug, Clone, Default)]
pub struct ScreenSelector {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// [`ScreenTarget`] packed into one word (see [`pack`]).
    target: AtomicU64,
    /// The window found destroyed while it was the target, packed the same way.
    gone: AtomicU64,
}

impl ScreenSelector {
    pub fn new(target: ScreenTarget) -> Self {
        let selector = Self::default();
        selector.set(target);
        selector
    }

    /// Shows `target` from the next frame on; clears [`Self::gone`].
    pub fn set(&self, target: ScreenTarget) {
        self.shared.gone.store(pack(ScreenTarget::Nothing), Ordering::Release);
        self.shared.target.store(pack(target), Ordering::Release);
    }

    pub fn get(&self) -> ScreenTarget {
        unpack(self.shared.target.load(Ordering::Acquire))
    }

    /// The shared window, if the source found it destroyed (its frames are black now).
    pub fn gone(&self) -> Option<WindowId> {
        match unpack(self.shared.gone.load(Ordering::Acquire)) {
            ScreenTarget::Window(id) => Some(id),
            _ => None,
        }
    }

    fn mark_gone(&self, id: WindowId) {
        // Only if the target is still that window: a newer set() wins.
        if self.get() == ScreenTarget::Window(id) {
            self.shared.gone.store(pack(ScreenTarget::Window(id)), Ordering::Release);
        }
    }
}

/// A [`SourceFactory`] for a source that follows `selector` live. Windows are
/// captured on `display` (`None`: `$DISPLAY`); the desktop is `$DISPLAY`'s
/// (as [`X11Screen`] captures it). Building fails only if the first target is
/// the desktop and it cannot be captured.
pub fn source_factory(selector: ScreenSelector, display: Option<String>) -> SourceFactory {
    Box::new(move || {
        let mut source =
            SelectorSource { selector, display, showing: ScreenTarget::Nothing, capturer: Capturer::Black };
        source.follow()?;
        Ok(Box::new(source) as Box<dyn VideoSource>)
    })
}

/// The source behind [`source_factory`].
struct SelectorSource {
    selector: ScreenSelector,
    display: Option<String>,
    /// The target `capturer` was built for.
    showing: ScreenTarget,
    capturer: Capturer,
}

enum Capturer {
    Desktop(X11Screen),
    Window(WindowId, Box<X11WindowSource>),
    /// Nothing, or a window that is gone.
    Black,
}

impl SelectorSource {
    /// Rebuilds the capturer when the target changed; the old one is dropped first.
    fn follow(&mut self) -> Result<(), VideoError> {
        let target = self.selector.get();
        if target == self.showing {
            return Ok(());
        }
        self.capturer = Capturer::Black;
        self.showing = target;
        self.capturer = match target {
            ScreenTarget::Nothing => Capturer::Black,
            ScreenTarget::Desktop => Capturer::Desktop(X11Screen::open()?),
            ScreenTarget::Window(id) => match X11WindowSource::open(self.display.as_deref(), id) {
                Ok(source) => Capturer::Window(id, Box::new(source)),
                Err(e) => {
                    tracing::warn!(window = id.0, error = %e, "cannot capture the shared window; showing black");
                    self.selector.mark_gone(id);
                    Capturer::Black
                }
            },
        };
        Ok(())
    }
}

impl VideoSource for SelectorSource {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        self.follow()?;
        match &mut self.capturer {
            Capturer::Desktop(screen) => screen.next_frame(),
            Capturer::Window(id, source) => match source.capture()? {
                Some(frame) => Ok(frame),
                None => {
                    let id = *id;
                    tracing::info!(window = id.0, "the shared window is gone; showing black");
                    self.capturer = Capturer::Black;
                    self.selector.mark_gone(id);
                    Ok(black())
                }
            },
            Capturer::Black => Ok(black()),
        }
    }
}

fn black() -> I420Frame {
    I420Frame::black(NOTHING_SIZE.0, NOTHING_SIZE.1)
}

/// Nothing = 0, Desktop = 1, Window(id) = 2^32 + id.
fn pack(target: ScreenTarget) -> u64 {
    match target {
        ScreenTarget::Nothing => 0,
        ScreenTarget::Desktop => 1,
        ScreenTarget::Window(id) => (1 << 32) | u64::from(id.0),
    }
}

fn unpack(word: u64) -> ScreenTarget {
    match word {
        0 => ScreenTarget::Nothing,
        1 => ScreenTarget::Desktop,
        w => ScreenTarget::Window(WindowId(w as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_keeps_the_last_target_and_clones_share_it() {
        let selector = ScreenSelector::default();
        assert_eq!(selector.get(), ScreenTarget::Nothing);
        let other = selector.clone();
        for target in [
            ScreenTarget::Desktop,
            ScreenTarget::Window(WindowId(0)),
            ScreenTarget::Window(WindowId(u32::MAX)),
            ScreenTarget::Window(WindowId(1)),
            ScreenTarget::Nothing,
        ] {
            other.set(target);
            assert_eq!(selector.get(), target);
        }
    }

    #[test]
    fn a_gone_window_is_named_until_the_next_set_and_only_if_still_the_target() {
        let selector = ScreenSelector::new(ScreenTarget::Window(WindowId(7)));
        selector.mark_gone(WindowId(8));
        assert_eq!(selector.gone(), None, "not the target");
        selector.mark_gone(WindowId(7));
        assert_eq!(selector.gone(), Some(WindowId(7)));
        selector.set(ScreenTarget::Desktop);
        assert_eq!(selector.gone(), None);
    }

    #[test]
    fn nothing_is_small_black_frames_and_builds_without_a_display() {
        let factory = source_factory(ScreenSelector::new(ScreenTarget::Nothing), Some(":nonexistent".into()));
        let mut source = factory().expect("nothing needs no display");
        let frame = source.next_frame().unwrap();
        assert_eq!((frame.width, frame.height), NOTHING_SIZE);
        assert!(frame.y().iter().all(|&y| y == 16) && frame.u().iter().chain(frame.v()).all(|&c| c == 128));
    }

    #[test]
    fn a_window_that_cannot_be_opened_gives_black_and_is_reported_gone() {
        let selector = ScreenSelector::new(ScreenTarget::Nothing);
        let mut source = source_factory(selector.clone(), Some(":nonexistent".into()))().unwrap();
        selector.set(ScreenTarget::Window(WindowId(0x1234)));
        let frame = source.next_frame().unwrap();
        assert_eq!((frame.width, frame.height), NOTHING_SIZE);
        assert_eq!(selector.gone(), Some(WindowId(0x1234)));
    }
}
