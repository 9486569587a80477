//! The audio pipeline: one thread that takes 20 ms frames from the source,
//! encodes them with Opus and hands them to the [`Feed`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::opus_codec::OpusEncoder;
use super::{AudioError, AudioSource};
use crate::media::{EncodedSample, Feed};

/// Builds the source on the pipeline's thread.
pub type AudioSourceFactory = Box<dyn FnOnce() -> Result<Box<dyn AudioSource>, AudioError> + Send>;

/// A running audio pipeline; dropping it stops the thread.
pub struct AudioPipeline {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for AudioPipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl AudioPipeline {
    /// Starts the pipeline at `bitrate_bps` (32 kbps suits voice).
    pub fn start(source: AudioSourceFactory, feed: Feed, bitrate_bps: i32) -> Result<Self, AudioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("audio".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    let built = source().and_then(|s| OpusEncoder::new(bitrate_bps).map(|e| (s, e)));
                    let (mut source, mut encoder) = match built {
                        Ok(b) => {
                            let _ = ready_tx.send(Ok(()));
                            b
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    while !stop.load(Ordering::Relaxed) {
                        let frame = match source.next_frame() {
                            Ok(f) => f,
                            Err(e) => return tracing::warn!(error = %e, "audio source failed; voice stops"),
                        };
                        if feed.viewers() == 0 {
                            continue;
                        }
                        match encoder.encode(&frame) {
                            Ok(packet) => {
                                feed.send(EncodedSample {
                                    data: Bytes::from(packet),
                                    captured_at: Instant::now(),
                                    duration: Duration::from_millis(20),
                                    keyframe: true,
                                });
                            }
                            Err(e) => tracing::warn!(error = %e, "audio frame not encoded"),
                        }
                    }
                }
            })
            .map_err(|e| AudioError::Device(format!("cannot start the audio thread: {e}")))?;
        let ready =
            ready_rx.recv().unwrap_or_else(|_| Err(AudioError::Device("the audio thread ended".into())));
        let pipeline = Self { stop, thread: Some(thread) };
        ready.map(|()| pipeline)
    }
}
