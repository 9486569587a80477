//! The X11 screen source: `scrap` (MIT-SHM) capture of the whole display,
//! BGRA converted to I420 with the `yuv` crate's SIMD code.
//!
//! `scrap`'s X11 capturer returns the image it requested on the previous
//! call (one frame of lag) and cannot move between threads: the pipeline
//! builds it on its own thread.

use super::convert::bgra_to_i420;
use super::{I420Frame, VideoError, VideoSource};
use scrap::{Capturer, Display};

/// Captures the primary display of `$DISPLAY`.
pub struct X11Screen {
    capturer: Capturer,
    width: usize,
    height: usize,
}

impl X11Screen {
    pub fn open() -> Result<Self, VideoError> {
        let display = Display::primary()
            .map_err(|e| VideoError::NoDevice(format!("no X display to capture (is DISPLAY set?): {e}")))?;
        let capturer = Capturer::new(display)
            .map_err(|e| VideoError::Capture(format!("cannot capture the display: {e}")))?;
        let (width, height) = (capturer.width(), capturer.height());
        Ok(Self { capturer, width, height })
    }
}

impl VideoSource for X11Screen {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        let (width, height) = (self.width, self.height);
        loop {
            match self.capturer.frame() {
                Ok(bgra) => {
                    let stride = bgra.len() / height.max(1);
                    return bgra_to_i420(&bgra, stride, width, height);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                }
                Err(e) => return Err(VideoError::Capture(e.to_string())),
            }
        }
    }
}
