//! The video pipeline: one thread per sent video feed that captures,
//! converts, encodes and hands samples to the [`Feed`].
//!
//! Latest-frame-wins: the thread asks the source for a frame only when it is
//! ready to encode one, so nothing ever queues between capture and encoder.
//! Unchanged frames are not encoded (one refresh a second keeps receivers
//! alive). When a frame costs more than its share of time, the pipeline first
//! lowers the frame rate (down to [`PipelineSettings::min_fps`]) and then halves
//! the resolution; when there is ample headroom again it climbs back, the
//! resolution first. The encoder's bitrate follows the smallest congestion
//! target of the links that receive the feed.
//!
//! The decisions live in [`Adaptation`], a plain state machine with time as
//! an input, so they are unit-tested without a clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{I420Frame, VideoEncoder, VideoError, VideoSource, nal_types};
use crate::media::{EncodedSample, Feed};

/// Builds the source on the pipeline's thread (X11 capturers cannot move between threads).
pub type SourceFactory = Box<dyn FnOnce() -> Result<Box<dyn VideoSource>, VideoError> + Send>;
/// Builds the encoder for a frame rate and bitrate.
pub type EncoderFactory = Box<dyn FnOnce(f32, u32) -> Result<Box<dyn VideoEncoder>, VideoError> + Send>;

/// Frame rate and bitrate bounds.
#[derive(Debug, Clone, Copy)]
pub struct PipelineSettings {
    pub max_fps: u32,
    pub min_fps: u32,
    /// Start and bounds for the bitrate (bits/s) before congestion control speaks.
    pub start_bitrate: u32,
    pub min_bitrate: u32,
    pub max_bitrate: u32,
    /// How many times the resolution may be halved.
    pub max_downscale_steps: u32,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            max_fps: 30,
            min_fps: 10,
            start_bitrate: 1_500_000,
            min_bitrate: 150_000,
            max_bitrate: 6_000_000,
            max_downscale_steps: 2,
        }
    }
}

/// Counters a pipeline keeps (for logs and benchmarks).
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub captured: std::sync::atomic::AtomicU64,
    pub encoded: std::sync::atomic::AtomicU64,
    pub unchanged_skipped: std::sync::atomic::AtomicU64,
    pub keyframes: std::sync::atomic::AtomicU64,
    /// Display-mode switches applied (SHR-11).
    pub display_mode_changes: std::sync::atomic::AtomicU64,
}

/// A running pipeline. Dropping it stops the thread.
pub struct VideoPipeline {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub stats: Arc<PipelineStats>,
}

impl Drop for VideoPipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl VideoPipeline {
    /// Starts the pipeline; returns once the source and encoder exist (or failed to).
    pub fn start(
        source: SourceFactory,
        encoder: EncoderFactory,
        feed: Feed,
        settings: PipelineSettings,
    ) -> Result<Self, VideoError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(PipelineStats::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(format!("video-{:?}", feed.kind()).to_lowercase())
            .spawn({
                let (stop, stats) = (stop.clone(), stats.clone());
                move || {
                    let built = source().and_then(|s| {
                        encoder(settings.max_fps as f32, settings.start_bitrate).map(|e| (s, e))
                    });
                    match built {
                        Ok((source, encoder)) => {
                            let _ = ready_tx.send(Ok(()));
                            run(source, encoder, &feed, settings, &stop, &stats);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                }
            })
            .map_err(|e| VideoError::Capture(format!("cannot start the video thread: {e}")))?;
        let ready =
            ready_rx.recv().unwrap_or_else(|_| Err(VideoError::Capture("the video thread ended".into())));
        let pipeline = Self { stop, thread: Some(thread), stats };
        ready.map(|()| pipeline)
    }
}

fn run(
    mut source: Box<dyn VideoSource>,
    mut encoder: Box<dyn VideoEncoder>,
    feed: &Feed,
    settings: PipelineSettings,
    stop: &AtomicBool,
    stats: &PipelineStats,
) {
    let mut adapt = Adaptation::new(settings, Instant::now());
    let mut previous: Option<I420Frame> = None;
    let mut last_sent: Option<Instant> = None;
    let mut bitrate = settings.start_bitrate;
    let mut next_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next_tick > now {
            std::thread::sleep(next_tick - now);
        }
        let started = Instant::now();
        // Never catch up on missed ticks: that would be a backlog.
        next_tick = next_tick.max(started - adapt.interval()) + adapt.interval();
        if feed.viewers() == 0 {
            // Nobody receives: capture nothing, and give the first viewer a keyframe.
            feed.request_keyframe();
            previous = None;
            continue;
        }
        let frame = match source.next_frame() {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(kind = ?feed.kind(), error = %e, "video source failed; stopping this feed");
                return;
            }
        };
        stats.captured.fetch_add(1, Ordering::Relaxed);
        let frame = (0..adapt.downscale_steps()).fold(frame, |f, _| f.half());
        let keyframe = feed.take_keyframe_request();
        let unchanged = previous.as_ref() == Some(&frame);
        if unchanged && !keyframe && last_sent.is_some_and(|t| started - t < Duration::from_secs(1)) {
            stats.unchanged_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let target = feed
            .bitrate_target()
            .unwrap_or(settings.start_bitrate)
            .clamp(settings.min_bitrate, settings.max_bitrate);
        if target.abs_diff(bitrate) > bitrate / 10 {
            bitrate = target;
            if let Err(e) = encoder.set_bitrate(bitrate) {
                tracing::warn!(error = %e, "bitrate change refused");
            }
        }
        if let Some(mode) = feed.take_display_mode() {
            match encoder.set_display_mode(mode) {
                Ok(()) => {
                    stats.display_mode_changes.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(?mode, "display mode changed");
                }
                Err(e) => tracing::warn!(error = %e, ?mode, "display mode change refused"),
            }
        }
        if keyframe {
            encoder.force_keyframe();
        }
        let data = match encoder.encode(&frame) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(kind = ?feed.kind(), error = %e, "encoder failed; stopping this feed");
                return;
            }
        };
        let finished = Instant::now();
        adapt.frame_done(finished - started, finished);
        if data.is_empty() {
            continue;
        }
        let is_key = nal_types(&data).contains(&5);
        stats.encoded.fetch_add(1, Ordering::Relaxed);
        if is_key {
            stats.keyframes.fetch_add(1, Ordering::Relaxed);
        }
        let duration = last_sent.map_or(adapt.interval(), |t| started - t);
        last_sent = Some(started);
        feed.send(EncodedSample {
            data: Bytes::from(data),
            captured_at: started,
            duration,
            keyframe: is_key,
        });
        previous = Some(frame);
    }
}

/// Frame rate and resolution decisions from measured per-frame cost.
#[derive(Debug)]
pub struct Adaptation {
    settings: PipelineSettings,
    fps: u32,
    downscale: u32,
    /// Smoothed cost of a frame (capture + convert + encode), seconds.
    cost: f64,
    last_change: Instant,
}

/// How long a decision stands before the next one.
const SETTLE: Duration = Duration::from_secs(2);

impl Adaptation {
    pub fn new(settings: PipelineSettings, now: Instant) -> Self {
        Self { settings, fps: settings.max_fps, downscale: 0, cost: 0.0, last_change: now }
    }

    pub fn fps(&self) -> u32 {
        self.fps
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.fps))
    }

    /// How many times the picture is halved.
    pub fn downscale_steps(&self) -> u32 {
        self.downscale
    }

    /// Records the cost of one frame and adapts.
    pub fn frame_done(&mut self, cost: Duration, now: Instant) {
        self.cost =
            if self.cost == 0.0 { cost.as_secs_f64() } else { 0.9 * self.cost + 0.1 * cost.as_secs_f64() };
        if now - self.last_change < SETTLE {
            return;
        }
        let budget = self.interval().as_secs_f64();
        let s = self.settings;
        if self.cost > 0.9 * budget {
            // Behind: fewer frames first, then fewer pixels.
            if self.fps > s.min_fps {
                self.fps = (self.fps * 2 / 3).max(s.min_fps);
            } else if self.downscale < s.max_downscale_steps {
                self.downscale += 1;
                self.cost /= 4.0;
            } else {
                return;
            }
        } else if self.downscale > 0 && self.cost * 4.0 < 0.6 * budget {
            // Ample headroom even at four times the pixels: the resolution comes back first.
            self.downscale -= 1;
            self.cost *= 4.0;
        } else if self.downscale == 0 && self.fps < s.max_fps {
            let faster = (self.fps * 3 / 2).min(s.max_fps);
            if self.cost < 0.6 / f64::from(faster) {
                self.fps = faster;
            } else {
                return;
            }
        } else {
            return;
        }
        self.last_change = now;
        tracing::debug!(
            fps = self.fps,
            downscale = self.downscale,
            cost_ms = self.cost * 1e3,
            "video adapted"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_for(a: &mut Adaptation, t: &mut Instant, cost_ms: u64, seconds: u64) {
        for _ in 0..seconds * u64::from(a.fps()) {
            *t += a.interval();
            a.frame_done(Duration::from_millis(cost_ms), *t);
        }
    }

    #[test]
    fn a_slow_encoder_lowers_frame_rate_then_resolution_and_recovers_in_reverse() {
        let mut t = Instant::now();
        let mut a = Adaptation::new(PipelineSettings::default(), t);
        run_for(&mut a, &mut t, 10, 5);
        assert_eq!((a.fps(), a.downscale_steps()), (30, 0), "10 ms fits 33 ms");

        run_for(&mut a, &mut t, 85, 10);
        assert_eq!(a.fps(), 10, "frame rate drops to the floor first");
        assert_eq!(a.downscale_steps(), 0, "resolution holds while the frame rate may still drop");
        run_for(&mut a, &mut t, 120, 10);
        assert!(a.downscale_steps() >= 1, "then the resolution halves");

        // The content calms down: cheap frames bring the resolution back, then the frame rate.
        run_for(&mut a, &mut t, 2, 30);
        assert_eq!((a.fps(), a.downscale_steps()), (30, 0));
    }

    #[test]
    fn the_interval_follows_the_frame_rate() {
        let a = Adaptation::new(PipelineSettings { max_fps: 25, ..Default::default() }, Instant::now());
        assert_eq!(a.interval(), Duration::from_millis(40));
    }
}
