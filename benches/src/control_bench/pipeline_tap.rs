//! Where the customer's screen pipeline is in time, seen from outside it:
//! [`CaptureTap`] wraps the screen source (X11, scrap) and logs when each
//! frame came back and the colours under the sink's taps; [`EncodeLog`]
//! subscribes to the feed like one more link and logs when each encoded
//! sample came out of the encoder, keyed by the pipeline's capture instant.
//! With the probe's repaint time and the CSR's decode time, a click's
//! picture is followed through capture, encode and transport.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_peer::media::Feed;
use tandem_peer::video::{I420Frame, VideoError, VideoSource, Yuv};
use tokio::sync::broadcast::error::RecvError;

use super::stage::{TAPS, shows, taps};
use crate::now_ms;

/// How many records each log keeps (several seconds at 30 fps).
const KEEP: usize = 512;

/// One frame the source returned.
#[derive(Debug, Clone, Copy)]
pub struct Captured {
    /// When the pipeline asked for it (to find its encoded sample).
    pub called: Instant,
    /// The same on the bench's clock. scrap sends its X request for the next image at the
    /// end of each call but xcb does not flush it: the server takes the image when the
    /// next call waits for it, so the picture is as of this call, not the previous one.
    pub called_ms: f64,
    /// When the source returned it (converted to I420).
    pub returned_ms: f64,
    pub colours: [Yuv; TAPS.len()],
}

/// One encoded sample handed to the feed.
#[derive(Debug, Clone, Copy)]
pub struct Encoded {
    /// The pipeline's instant for the frame (taken just before it asked the source).
    pub captured_at: Instant,
    /// When it reached this subscriber (the encoder had finished).
    pub out_ms: f64,
}

/// The logs, shared with the pipeline thread and the feed subscriber.
#[derive(Clone, Default)]
pub struct Logs {
    captured: Arc<Mutex<VecDeque<Captured>>>,
    encoded: Arc<Mutex<VecDeque<Encoded>>>,
}

impl Logs {
    /// The first frame returned after `after_ms` that shows `rgb`.
    pub fn first_capture_showing(&self, rgb: u32, after_ms: f64) -> Option<Captured> {
        let log = self.captured.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().find(|c| c.returned_ms > after_ms && shows(&c.colours, rgb)).copied()
    }

    /// The encoded sample of the frame the pipeline asked for at `called`.
    pub fn encoded_for(&self, called: Instant) -> Option<Encoded> {
        let log = self.encoded.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .find(|e| e.captured_at <= called && called - e.captured_at < Duration::from_millis(5))
            .copied()
    }

    /// Logs every sample of `feed` until it ends (a task on the current runtime).
    pub fn follow(&self, feed: &Feed) {
        let mut samples = feed.subscribe();
        let log = self.encoded.clone();
        tokio::spawn(async move {
            loop {
                match samples.recv().await {
                    Ok(sample) => push(&log, Encoded { captured_at: sample.captured_at, out_ms: now_ms() }),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    /// Wraps `inner` so that its frames are logged here.
    pub fn tap(&self, inner: Box<dyn VideoSource>) -> CaptureTap {
        CaptureTap { inner, log: self.captured.clone() }
    }
}

fn push<T>(log: &Mutex<VecDeque<T>>, item: T) {
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    if log.len() == KEEP {
        log.pop_front();
    }
    log.push_back(item);
}

/// A screen source that logs what it returns.
pub struct CaptureTap {
    inner: Box<dyn VideoSource>,
    log: Arc<Mutex<VecDeque<Captured>>>,
}

impl VideoSource for CaptureTap {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        let (called, called_ms) = (Instant::now(), now_ms());
        let frame = self.inner.next_frame()?;
        let returned_ms = now_ms();
        if let Some(colours) = taps(&frame) {
            push(&self.log, Captured { called, called_ms, returned_ms, colours });
        }
        Ok(frame)
    }
}
