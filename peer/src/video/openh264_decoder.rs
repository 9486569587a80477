//! The software H.264 decoder backend (openh264): access units in, I420 frames out.

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use super::{I420Frame, VideoError};

/// Decodes one received stream.
pub struct OpenH264Decoder {
    decoder: Decoder,
}

impl OpenH264Decoder {
    pub fn new() -> Result<Self, VideoError> {
        Ok(Self { decoder: Decoder::new().map_err(|e| VideoError::Decoder(e.to_string()))? })
    }

    /// Decodes one Annex B access unit; `None` when it yields no picture yet.
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<I420Frame>, VideoError> {
        let decoded = self.decoder.decode(access_unit).map_err(|e| VideoError::Decoder(e.to_string()))?;
        Ok(decoded.map(|d| to_frame(&d)))
    }
}

/// Copies a decoded picture (with row strides) into a tightly packed frame.
pub fn to_frame(decoded: &impl YUVSource) -> I420Frame {
    let (w, h) = decoded.dimensions();
    let (sy, su, sv) = decoded.strides();
    let mut data = Vec::with_capacity(w * h * 3 / 2);
    for row in 0..h {
        data.extend_from_slice(&decoded.y()[row * sy..row * sy + w]);
    }
    for row in 0..h / 2 {
        data.extend_from_slice(&decoded.u()[row * su..row * su + w / 2]);
    }
    for row in 0..h / 2 {
        data.extend_from_slice(&decoded.v()[row * sv..row * sv + w / 2]);
    }
    I420Frame::from_packed(w, h, data).expect("sizes computed from the same dimensions")
}
