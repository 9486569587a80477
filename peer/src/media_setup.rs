//! Choosing the media backends at start-up (the only place that does): the
//! command-line options, the pipelines they start, and the sinks for what
//! arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tandem_wire::ParticipantId;

use crate::PeerError;
use crate::audio::cpal_backend::{CpalCapture, CpalPlayback};
use crate::audio::pipeline::AudioPipeline;
use crate::audio::recorder::Recorder;
use crate::audio::tone::Tone;
use crate::media::inbound::{VideoSink, VideoSinkFactory};
use crate::media::{Feed, Media, MediaKind};
use crate::video::openh264_encoder::OpenH264Encoder;
use crate::video::pipeline::{PipelineSettings, VideoPipeline};
use crate::video::screen_selector::{ScreenSelector, ScreenTarget, source_factory};
use crate::video::test_pattern::TestPattern;
use crate::video::v4l_camera::V4lCamera;
use crate::video::x11_screen::X11Screen;
use crate::video::{DisplayMode, I420Frame, VideoEncoder, VideoSource};

/// Where the screen picture comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScreenChoice {
    /// Share nothing.
    None,
    /// The whole X11 display (`$DISPLAY`).
    X11,
    /// A synthetic test pattern (colour blocks and a frame counter).
    Test,
    /// The test pattern over a background that scrolls every frame (a busy screen).
    TestBusy,
}

/// Where the camera picture comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CameraChoice {
    None,
    /// A V4L2 camera (`/dev/videoN`, see `--camera-device`).
    V4l,
    /// A synthetic moving test pattern.
    Test,
}

/// Where the voice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AudioInChoice {
    None,
    /// The default microphone.
    Mic,
    /// A 440 Hz tone (see `--tone-hz`).
    Tone,
}

/// Where received voice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AudioOutChoice {
    None,
    /// The default speaker or headset.
    Speaker,
    /// Kept in memory (tests and headless machines).
    Record,
}

/// The SHR-11 display modes, as options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DisplayModeChoice {
    /// Better image quality, more CPU.
    Standard,
    /// Faster, lower quality.
    Sampling,
}

/// Media options shared by every way of joining.
#[derive(Debug, Clone, clap::Args)]
pub struct MediaArgs {
    /// Send this screen picture from the start.
    #[arg(long, value_enum, default_value_t = ScreenChoice::None)]
    pub screen: ScreenChoice,
    /// Send this camera picture from the start.
    #[arg(long, value_enum, default_value_t = CameraChoice::None)]
    pub camera: CameraChoice,
    /// Camera number (0 for /dev/video0).
    #[arg(long, default_value_t = 0)]
    pub camera_device: u32,
    /// Send this voice.
    #[arg(long, value_enum, default_value_t = AudioInChoice::None)]
    pub audio_in: AudioInChoice,
    /// Play received voice here.
    #[arg(long, value_enum, default_value_t = AudioOutChoice::Speaker)]
    pub audio_out: AudioOutChoice,
    /// Frequency of `--audio-in tone`.
    #[arg(long, default_value_t = 440.0)]
    pub tone_hz: f64,
    /// Display mode of the screen (SHR-11).
    #[arg(long, value_enum, default_value_t = DisplayModeChoice::Standard)]
    pub display_mode: DisplayModeChoice,
    /// Highest frame rate of the screen.
    #[arg(long, default_value_t = 30)]
    pub max_fps: u32,
    /// Size of the test patterns, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    pub test_size: (usize, usize),
    /// Local UDP addresses for WebRTC (repeatable); 0.0.0.0:0 skips loopback.
    #[arg(long = "bind", default_value = "0.0.0.0:0")]
    pub bind: Vec<String>,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
    let n = |v: &str| v.parse::<usize>().map_err(|e| e.to_string());
    Ok((n(w)?, n(h)?))
}

/// The running media of one peer process. Dropping it stops the pipelines.
pub struct MediaSetup {
    feeds: Vec<Feed>,
    _video: Vec<VideoPipeline>,
    _audio: Option<AudioPipeline>,
    video_sinks: Arc<FrameCounter>,
    audio_sinks: Option<Arc<dyn crate::media::AudioSinkFactory>>,
    /// Problems that leave the peer usable (e.g. no speaker).
    pub warnings: Vec<String>,
}

impl MediaSetup {
    /// Opens the chosen devices and starts their pipelines.
    pub fn start(args: &MediaArgs) -> Result<Self, PeerError> {
        let mut feeds = Vec::new();
        let mut video = Vec::new();
        let mode = match args.display_mode {
            DisplayModeChoice::Standard => DisplayMode::Standard,
            DisplayModeChoice::Sampling => DisplayMode::ScreenSampling,
        };
        let settings = PipelineSettings { max_fps: args.max_fps.clamp(1, 60), ..Default::default() };
        let (tw, th) = args.test_size;
        let mut screen_selector = None;
        let screen: Option<crate::video::pipeline::SourceFactory> = match args.screen {
            ScreenChoice::None => None,
            ScreenChoice::X11 => {
                // Nothing until someone may see it; then the desktop or the one window allowed.
                X11Screen::open().map_err(|e| PeerError::Media(format!("screen: {e}")))?;
                let selector = ScreenSelector::new(ScreenTarget::Nothing);
                screen_selector = Some(selector.clone());
                Some(source_factory(selector, None))
            }
            ScreenChoice::Test => {
                Some(Box::new(move || Ok(Box::new(TestPattern::new(tw, th)) as Box<dyn VideoSource>)))
            }
            ScreenChoice::TestBusy => {
                Some(Box::new(move || Ok(Box::new(TestPattern::busy(tw, th)) as Box<dyn VideoSource>)))
            }
        };
        let device = args.camera_device;
        let camera: Option<crate::video::pipeline::SourceFactory> = match args.camera {
            CameraChoice::None => None,
            CameraChoice::V4l => {
                Some(Box::new(move || Ok(Box::new(V4lCamera::open(device)?) as Box<dyn VideoSource>)))
            }
            CameraChoice::Test => {
                Some(Box::new(|| Ok(Box::new(TestPattern::new(640, 480)) as Box<dyn VideoSource>)))
            }
        };
        for (kind, source, mode) in
            [(MediaKind::Screen, screen, mode), (MediaKind::Camera, camera, DisplayMode::ScreenSampling)]
        {
            let Some(source) = source else { continue };
            let feed = Feed::new(kind);
            if kind == MediaKind::Screen
                && let Some(selector) = screen_selector.take()
            {
                feed.attach_selector(selector);
            }
            let encoder = Box::new(move |fps: f32, bps: u32| {
                OpenH264Encoder::new(mode, bps, fps).map(|e| Box::new(e) as Box<dyn VideoEncoder>)
            });
            let pipeline = VideoPipeline::start(source, encoder, feed.clone(), settings)
                .map_err(|e| PeerError::Media(format!("{kind:?}: {e}").to_lowercase()))?;
            video.push(pipeline);
            feeds.push(feed);
        }
        let audio = match args.audio_in {
            AudioInChoice::None => None,
            choice => {
                let feed = Feed::new(MediaKind::Audio);
                let hz = args.tone_hz;
                let source: crate::audio::pipeline::AudioSourceFactory = if choice == AudioInChoice::Tone {
                    Box::new(move || Ok(Box::new(Tone::new(hz)) as Box<dyn crate::audio::AudioSource>))
                } else {
                    Box::new(|| Ok(Box::new(CpalCapture::open()?) as Box<dyn crate::audio::AudioSource>))
                };
                let pipeline = AudioPipeline::start(source, feed.clone(), 32_000)
                    .map_err(|e| PeerError::Media(format!("voice: {e}")))?;
                feeds.push(feed);
                Some(pipeline)
            }
        };
        let mut warnings = Vec::new();
        let audio_sinks: Option<Arc<dyn crate::media::AudioSinkFactory>> = match args.audio_out {
            AudioOutChoice::None => None,
            AudioOutChoice::Record => Some(Arc::new(Recorder::default())),
            AudioOutChoice::Speaker => match CpalPlayback::open() {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    warnings.push(format!("received voice will not play: {e}"));
                    None
                }
            },
        };
        Ok(Self { feeds, _video: video, _audio: audio, video_sinks: Arc::default(), audio_sinks, warnings })
    }

    /// What the session needs.
    pub fn media(&self) -> Media {
        Media {
            feeds: self.feeds.clone(),
            video_sinks: Some(self.video_sinks.clone() as Arc<dyn VideoSinkFactory>),
            audio_sinks: self.audio_sinks.clone(),
        }
    }
}

/// Counts received pictures (the window that shows them comes with remote control).
#[derive(Default)]
struct FrameCounter {
    frames: Arc<AtomicU64>,
}

impl VideoSinkFactory for FrameCounter {
    fn open(&self, from: ParticipantId, kind: MediaKind) -> Box<dyn VideoSink> {
        println!("receiving {} video from {from}", format!("{kind:?}").to_lowercase());
        Box::new(CountingSink { frames: self.frames.clone(), first: true })
    }
}

struct CountingSink {
    frames: Arc<AtomicU64>,
    first: bool,
}

impl VideoSink for CountingSink {
    fn frame(&mut self, frame: I420Frame, _rtp_timestamp: u32) {
        if std::mem::take(&mut self.first) {
            println!("first picture: {}x{}", frame.width, frame.height);
        }
        self.frames.fetch_add(1, Ordering::Relaxed);
    }
}
