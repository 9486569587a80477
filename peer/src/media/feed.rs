//! A feed: one encoded stream (screen, camera or voice) fanned out to every
//! peer connection, and the way back from those connections to the encoder
//! (keyframe requests, congestion-controlled bitrate targets).
//!
//! The pipeline thread owns the encoder; links only hold a [`Feed`] clone.
//! Samples go through a small broadcast queue: a link that falls behind
//! loses samples (and asks for a keyframe) instead of delaying the others.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::MediaKind;
use crate::video::DisplayMode;
use crate::video::screen_selector::ScreenSelector;

/// How many samples a slow link may lag before it loses some.
const QUEUE: usize = 16;

/// One encoded access unit (H.264) or packet (Opus).
#[derive(Debug, Clone)]
pub struct EncodedSample {
    pub data: Bytes,
    /// When the source produced the picture or sound: the RTP timestamp follows it.
    pub captured_at: Instant,
    /// How long it lasts (time since the previous sample of the feed).
    pub duration: Duration,
    /// Whether it starts a picture that decodes on its own (IDR with SPS/PPS).
    pub keyframe: bool,
}

/// A cheap handle to one feed; clone it for every user.
#[derive(Clone)]
pub struct Feed {
    kind: MediaKind,
    samples: broadcast::Sender<Arc<EncodedSample>>,
    shared: Arc<Shared>,
}

struct Shared {
    keyframe_requested: AtomicBool,
    /// Links whose [`SendGate`] is open now.
    open_gates: AtomicUsize,
    /// A display mode asked for and not applied yet (0: none; see [`mode_code`]).
    display_mode: AtomicU8,
    /// What a screen feed shows (desktop, one window, nothing), when its source can switch.
    selector: std::sync::OnceLock<ScreenSelector>,
    /// Bitrate targets of the links that receive this feed (bits/s, `f64` bits).
    targets: Mutex<Vec<Weak<AtomicU64>>>,
}

impl Feed {
    pub fn new(kind: MediaKind) -> Self {
        let (samples, _) = broadcast::channel(QUEUE);
        let shared = Arc::new(Shared {
            keyframe_requested: AtomicBool::new(false),
            open_gates: AtomicUsize::new(0),
            display_mode: AtomicU8::new(0),
            selector: std::sync::OnceLock::new(),
            targets: Mutex::new(Vec::new()),
        });
        Self { kind, samples, shared }
    }

    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// Hands a sample to every link; returns how many links took it.
    pub fn send(&self, sample: EncodedSample) -> usize {
        self.samples.send(Arc::new(sample)).unwrap_or(0)
    }

    /// A new subscriber (one per link).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EncodedSample>> {
        self.samples.subscribe()
    }

    /// How many links may receive this feed now (their gate is open): no
    /// viewers, nothing worth capturing or encoding.
    pub fn viewers(&self) -> usize {
        self.shared.open_gates.load(Ordering::Relaxed)
    }

    /// A link's permission to receive this feed, open or closed at first.
    pub fn gate(&self, open: bool) -> Arc<SendGate> {
        let gate = Arc::new(SendGate { open: AtomicBool::new(false), shared: self.shared.clone() });
        gate.set(open);
        gate
    }

    /// Ties a screen feed to the selector its source follows (set once, at start-up).
    pub fn attach_selector(&self, selector: ScreenSelector) {
        let _ = self.shared.selector.set(selector);
    }

    /// The selector of a screen feed whose source can show one window or nothing
    /// (`None`: the source shows what it shows, e.g. a test pattern).
    pub fn selector(&self) -> Option<&ScreenSelector> {
        self.shared.selector.get()
    }

    /// A viewer asks for another encoding (SHR-11); the pipeline applies it at its next frame.
    pub fn request_display_mode(&self, mode: DisplayMode) {
        self.shared.display_mode.store(mode_code(mode), Ordering::Relaxed);
    }

    /// Takes a pending display-mode request (the pipeline calls this before each frame).
    pub fn take_display_mode(&self) -> Option<DisplayMode> {
        match self.shared.display_mode.swap(0, Ordering::Relaxed) {
            1 => Some(DisplayMode::Standard),
            2 => Some(DisplayMode::ScreenSampling),
            _ => None,
        }
    }

    /// Asks the encoder for a keyframe (PLI/FIR, a new viewer, a lagging link).
    pub fn request_keyframe(&self) {
        self.shared.keyframe_requested.store(true, Ordering::Relaxed);
    }

    /// Takes a pending keyframe request (the pipeline calls this before each frame).
    pub fn take_keyframe_request(&self) -> bool {
        self.shared.keyframe_requested.swap(false, Ordering::Relaxed)
    }

    /// Registers a link's congestion-control target (bits/s as `f64` bits).
    pub fn add_bitrate_target(&self, target: &Arc<AtomicU64>) {
        let mut targets = self.shared.targets.lock().unwrap_or_else(|p| p.into_inner());
        targets.retain(|t| t.strong_count() > 0);
        targets.push(Arc::downgrade(target));
    }

    /// The bitrate every link can carry: the smallest target of the live links.
    pub fn bitrate_target(&self) -> Option<u32> {
        let mut targets = self.shared.targets.lock().unwrap_or_else(|p| p.into_inner());
        targets.retain(|t| t.strong_count() > 0);
        targets
            .iter()
            .filter_map(Weak::upgrade)
            .map(|t| f64::from_bits(t.load(Ordering::Relaxed)))
            .filter(|bps| bps.is_finite() && *bps > 0.0)
            .map(|bps| bps.min(f64::from(u32::MAX)) as u32)
            .min()
    }
}

/// Whether one link may receive a feed's samples. The screen's gate opens
/// only while consent allows that participant to see it (the approver's
/// grant, or the requester's accepted `share_*`); camera and voice are open.
/// While it is closed the link's writer drops the samples: nothing leaves.
pub struct SendGate {
    open: AtomicBool,
    shared: Arc<Shared>,
}

impl SendGate {
    pub fn set(&self, open: bool) {
        let was = self.open.swap(open, Ordering::Relaxed);
        match (was, open) {
            (false, true) => {
                self.shared.open_gates.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.shared.open_gates.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }
}

impl Drop for SendGate {
    fn drop(&mut self) {
        self.set(false);
    }
}

fn mode_code(mode: DisplayMode) -> u8 {
    match mode {
        DisplayMode::Standard => 1,
        DisplayMode::ScreenSampling => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u8) -> EncodedSample {
        EncodedSample {
            data: Bytes::from(vec![n]),
            captured_at: Instant::now(),
            duration: Duration::from_millis(33),
            keyframe: false,
        }
    }

    #[test]
    fn fans_out_and_drops_for_a_lagging_link_only() {
        let feed = Feed::new(MediaKind::Screen);
        assert_eq!(feed.send(sample(0)), 0, "no links yet");
        let mut fast = feed.subscribe();
        let mut slow = feed.subscribe();
        for n in 0..(QUEUE as u8 + 4) {
            feed.send(sample(n));
            assert_eq!(fast.try_recv().unwrap().data[0], n);
        }
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(4))));
        assert_eq!(slow.try_recv().unwrap().data[0], 4, "then the newest samples");
    }

    #[test]
    fn viewers_are_the_open_gates() {
        let feed = Feed::new(MediaKind::Screen);
        let a = feed.gate(false);
        let b = feed.gate(true);
        assert_eq!(feed.viewers(), 1, "a closed gate is no viewer");
        a.set(true);
        a.set(true);
        assert_eq!(feed.viewers(), 2, "opening twice counts once");
        b.set(false);
        assert_eq!(feed.viewers(), 1);
        drop(a);
        assert_eq!(feed.viewers(), 0, "a dropped link lets go of its gate");
        drop(b);
        assert_eq!(feed.viewers(), 0);
    }

    #[test]
    fn display_mode_requests_are_taken_once_latest_wins() {
        let feed = Feed::new(MediaKind::Screen);
        assert_eq!(feed.take_display_mode(), None);
        feed.request_display_mode(DisplayMode::Standard);
        feed.request_display_mode(DisplayMode::ScreenSampling);
        assert_eq!(feed.take_display_mode(), Some(DisplayMode::ScreenSampling));
        assert_eq!(feed.take_display_mode(), None);
    }

    #[test]
    fn keyframe_requests_are_taken_once_and_bitrate_is_the_smallest_live_target() {
        let feed = Feed::new(MediaKind::Camera);
        assert!(!feed.take_keyframe_request());
        feed.request_keyframe();
        feed.request_keyframe();
        assert!(feed.take_keyframe_request());
        assert!(!feed.take_keyframe_request());

        assert_eq!(feed.bitrate_target(), None);
        let a = Arc::new(AtomicU64::new(2_000_000f64.to_bits()));
        let b = Arc::new(AtomicU64::new(500_000f64.to_bits()));
        feed.add_bitrate_target(&a);
        feed.add_bitrate_target(&b);
        assert_eq!(feed.bitrate_target(), Some(500_000));
        drop(b);
        assert_eq!(feed.bitrate_target(), Some(2_000_000), "a closed link no longer counts");
    }
}
