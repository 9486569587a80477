//! Audio (TOOL-2): sources and sinks behind small traits, one file per
//! backend, chosen at start-up; Opus 20 ms frames on the wire.
//!
//! ```text
//! sending:   AudioSource (tone, cpal_capture) --48 kHz mono, 20 ms--> pipeline --> Opus --> Feed
//! receiving: RTP --> Opus decode --> AudioSink (recorder, cpal_playback)
//! ```

pub mod analysis;
pub mod cpal_backend;
pub mod opus_codec;
pub mod pipeline;
pub mod recorder;
pub mod tone;

/// The one sample rate on the wire and in between (Opus's native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// Why an audio backend failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("no audio device: {0}")]
    NoDevice(String),
    #[error("audio device failed: {0}")]
    Device(String),
    #[error("Opus: {0}")]
    Codec(String),
}

/// Where sound comes from: paced, one 20 ms frame (48 kHz mono) per call.
pub trait AudioSource {
    /// Blocks until the next frame is ready.
    fn next_frame(&mut self) -> Result<Vec<i16>, AudioError>;
}
