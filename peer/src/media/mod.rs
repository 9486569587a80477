//! Media between peers: what this peer sends, how it reaches every peer
//! connection, and what happens to what it receives.
//!
//! ```text
//! sending:    VideoPipeline / AudioPipeline (own thread) --EncodedSample--> Feed (fan-out)
//!                 ^ keyframe requests, bitrate targets        |  one subscriber per link
//!                 +------------------------------------- outbound::OutboundTrack --RTP--> peer connection
//! receiving:  peer connection --RTP--> inbound::receive (H264Receiver / OpusReceiver) --> VideoSink / AudioSink
//! ```
//!
//! Tracks are told apart by their media stream id ([`MediaKind::stream_id`]),
//! which travels in the SDP's `a=msid` line.

pub mod feed;
pub mod inbound;
pub mod keyframe_requests;
pub mod outbound;

use std::sync::Arc;

pub use feed::{EncodedSample, Feed};
pub use inbound::{AudioSinkFactory, VideoSinkFactory};

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// A desktop or one application window (SHR-1..8), H.264.
    Screen,
    /// A camera (TOOL-3), H.264.
    Camera,
    /// Voice (TOOL-2), Opus.
    Audio,
}

impl MediaKind {
    /// The media stream id this peer sends the kind under (the `a=msid` stream id).
    pub fn stream_id(self) -> &'static str {
        match self {
            Self::Screen => "tandem-screen",
            Self::Camera => "tandem-camera",
            Self::Audio => "tandem-audio",
        }
    }

    /// The kind of a received track: by stream id when the sender is a Tandem
    /// peer; otherwise video is taken for a camera and audio for voice.
    pub fn of_remote(stream_id: &str, is_video: bool) -> Self {
        match stream_id {
            "tandem-screen" => Self::Screen,
            "tandem-camera" => Self::Camera,
            _ if is_video => Self::Camera,
            _ => Self::Audio,
        }
    }

    pub fn is_video(self) -> bool {
        self != Self::Audio
    }
}

/// Everything media-related a session needs, chosen at start-up: the feeds
/// this peer sends (their pipelines already running) and where received media goes.
#[derive(Clone, Default)]
pub struct Media {
    /// Sent to every remote participant.
    pub feeds: Vec<Feed>,
    /// Decoded video from remote participants.
    pub video_sinks: Option<Arc<dyn VideoSinkFactory>>,
    /// Decoded audio from remote participants.
    pub audio_sinks: Option<Arc<dyn AudioSinkFactory>>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("feeds", &self.feeds.iter().map(Feed::kind).collect::<Vec<_>>())
            .field("video_sinks", &self.video_sinks.is_some())
            .field("audio_sinks", &self.audio_sinks.is_some())
            .finish()
    }
}
