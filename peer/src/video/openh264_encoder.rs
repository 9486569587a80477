//! The software H.264 encoder backend: Cisco's openh264, Constrained Baseline
//! (profile-level-id 42e01f), Annex B output with SPS and PPS before every IDR.
//!
//! Open point for the pipeline: with frame skipping off (as here, so that no
//! frame is silently dropped), openh264 warns that it cannot hold the target
//! bitrate in its bitrate rate-control mode. When the bitrate must follow
//! congestion feedback, either enable skipping and account for skipped frames,
//! or lower frame rate/resolution in the pipeline (latest-frame-wins) instead.

use openh264::OpenH264API;
use openh264::encoder::{BitRate, Complexity, Encoder, EncoderConfig, FrameRate, UsageType};
use openh264::formats::YUVSource;

use super::{DisplayMode, I420Frame, VideoEncoder, VideoError};

/// openh264, configured for live screen sharing.
pub struct OpenH264Encoder {
    encoder: Encoder,
}

impl OpenH264Encoder {
    /// An encoder for `mode` at `bitrate_bps`, for at most `max_fps` frames a second.
    pub fn new(mode: DisplayMode, bitrate_bps: u32, max_fps: f32) -> Result<Self, VideoError> {
        // openh264's defaults (120 kbps, frame skipping) are wrong for live screens: set both.
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(max_fps))
            .skip_frames(false);
        let config = match mode {
            DisplayMode::Standard => config.usage_type(UsageType::ScreenContentRealTime),
            DisplayMode::ScreenSampling => {
                config.usage_type(UsageType::CameraVideoRealTime).complexity(Complexity::Low)
            }
        };
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| VideoError::Encoder(e.to_string()))?;
        Ok(Self { encoder })
    }
}

impl VideoEncoder for OpenH264Encoder {
    fn encode(&mut self, frame: &I420Frame) -> Result<Vec<u8>, VideoError> {
        let stream = self.encoder.encode(frame).map_err(|e| VideoError::Encoder(e.to_string()))?;
        Ok(stream.to_vec())
    }

    fn force_keyframe(&mut self) {
        self.encoder.force_intra_frame();
    }
}

impl YUVSource for I420Frame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }

    fn y(&self) -> &[u8] {
        I420Frame::y(self)
    }

    fn u(&self) -> &[u8] {
        I420Frame::u(self)
    }

    fn v(&self) -> &[u8] {
        I420Frame::v(self)
    }
}

#[cfg(test)]
mod tests {
    use openh264::decoder::Decoder;

    use super::*;
    use crate::video::test_pattern::{TestPattern, mismatched_blocks, read_counter};
    use crate::video::{VideoSource as _, nal_types};

    /// Copies a decoded picture into a tightly packed frame.
    fn to_frame(decoded: &impl YUVSource) -> I420Frame {
        let (w, h) = decoded.dimensions();
        let (sy, su, sv) = decoded.strides();
        let mut f = I420Frame::black(w, h);
        let luma = w * h;
        let mut data = Vec::with_capacity(luma * 3 / 2);
        for row in 0..h {
            data.extend_from_slice(&decoded.y()[row * sy..row * sy + w]);
        }
        for row in 0..h / 2 {
            data.extend_from_slice(&decoded.u()[row * su..row * su + w / 2]);
        }
        for row in 0..h / 2 {
            data.extend_from_slice(&decoded.v()[row * sv..row * sv + w / 2]);
        }
        f.data = data;
        f
    }

    #[test]
    fn test_pattern_survives_encode_and_decode_in_both_modes() {
        for mode in [DisplayMode::Standard, DisplayMode::ScreenSampling] {
            let mut source = TestPattern::new(640, 480);
            let mut encoder = OpenH264Encoder::new(mode, 2_000_000, 30.0).unwrap();
            let mut decoder = Decoder::new().unwrap();
            let mut last_counter = None;
            for n in 0..30u64 {
                let frame = source.next_frame().unwrap();
                let au = encoder.encode(&frame).unwrap();
                assert!(!au.is_empty(), "{mode:?}: frame {n} not skipped");
                if n == 0 {
                    let types = nal_types(&au);
                    assert!(
                        types.contains(&7) && types.contains(&8) && types.contains(&5),
                        "SPS, PPS, IDR: {types:?}"
                    );
                }
                if let Some(decoded) = decoder.decode(&au).unwrap() {
                    let picture = to_frame(&decoded);
                    let bad = mismatched_blocks(&picture, 12);
                    assert!(bad.is_empty(), "{mode:?} frame {n}: colour blocks off: {bad:?}");
                    let counter = read_counter(&picture);
                    assert!(last_counter.is_none_or(|c| counter > c), "{mode:?}: counter advances");
                    last_counter = Some(counter);
                }
            }
            assert_eq!(last_counter, Some(29), "{mode:?}: every frame decoded, the last one is 29");
        }
    }

    #[test]
    fn a_keyframe_is_produced_on_request() {
        let mut source = TestPattern::new(640, 480);
        let mut encoder = OpenH264Encoder::new(DisplayMode::Standard, 1_000_000, 30.0).unwrap();
        for _ in 0..5 {
            encoder.encode(&source.next_frame().unwrap()).unwrap();
        }
        let delta = encoder.encode(&source.next_frame().unwrap()).unwrap();
        assert!(!nal_types(&delta).contains(&5), "no IDR without a request");
        encoder.force_keyframe();
        let key = encoder.encode(&source.next_frame().unwrap()).unwrap();
        let types = nal_types(&key);
        assert!(types.contains(&5) && types.contains(&7), "IDR with SPS after a request: {types:?}");
    }
}
