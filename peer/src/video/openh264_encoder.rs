//! The software H.264 encoder backend: Cisco's openh264, Constrained Baseline
//! (profile-level-id 42e01f), Annex B output with SPS and PPS before every IDR.
//!
//! Frame skipping is off: the pipeline decides which frames to encode
//! (latest-frame-wins, lower frame rate then resolution when behind), and the
//! bitrate follows congestion control through [`VideoEncoder::set_bitrate`].

use openh264::OpenH264API;
use openh264::encoder::{BitRate, Complexity, Encoder, EncoderConfig, FrameRate, UsageType};
use openh264::formats::YUVSource;

use super::{DisplayMode, I420Frame, VideoEncoder, VideoError};

/// openh264, configured for live screen sharing.
pub struct OpenH264Encoder {
    encoder: Encoder,
    mode: DisplayMode,
    max_fps: f32,
    bitrate_bps: u32,
    /// The bitrate the encoder (re)initialises itself with.
    configured_bps: u32,
    /// The size the encoder was last (re)initialised for; openh264 resets its
    /// bitrate to the configured one whenever the size changes.
    applied: Option<((usize, usize), u32)>,
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
        Ok(Self { encoder, mode, max_fps, bitrate_bps, configured_bps: bitrate_bps, applied: None })
    }

    /// Sets the target (and ceiling) bitrate on the running encoder. The
    /// target may not exceed the ceiling at any moment: raise the ceiling
    /// first, lower it last.
    fn apply_bitrate(&mut self, previous_bps: u32) -> Result<(), VideoError> {
        use openh264_sys2::{
            ENCODER_OPTION_BITRATE, ENCODER_OPTION_MAX_BITRATE, SBitrateInfo, SPATIAL_LAYER_0,
        };
        let bitrate = i32::try_from(self.bitrate_bps).unwrap_or(i32::MAX);
        let order = if self.bitrate_bps >= previous_bps {
            [ENCODER_OPTION_MAX_BITRATE, ENCODER_OPTION_BITRATE]
        } else {
            [ENCODER_OPTION_BITRATE, ENCODER_OPTION_MAX_BITRATE]
        };
        for option in order {
            let mut info = SBitrateInfo { iLayer: SPATIAL_LAYER_0, iBitrate: bitrate };
            // SAFETY: the encoder is initialised (a frame of this size was encoded), and
            // `info` is the struct these two options take, alive for the call.
            let rc = unsafe { self.encoder.raw_api().set_option(option, (&raw mut info).cast()) };
            if rc != 0 {
                return Err(VideoError::Encoder(format!("setting the bitrate failed ({rc})")));
            }
        }
        Ok(())
    }
}

impl VideoEncoder for OpenH264Encoder {
    fn encode(&mut self, frame: &I420Frame) -> Result<Vec<u8>, VideoError> {
        let size = (frame.width, frame.height);
        // A new size re-initialises the encoder inside `encode`: apply the bitrate before
        // the next frame. The first frame of a size goes out at the configured rate.
        if let Some((applied_size, applied_bps)) = self.applied
            && applied_size == size
            && applied_bps != self.bitrate_bps
        {
            if let Err(e) = self.apply_bitrate(applied_bps) {
                tracing::warn!(error = %e, "the encoder keeps its previous bitrate");
            }
            self.applied = Some((size, self.bitrate_bps));
        }
        let data = self.encoder.encode(frame).map_err(|e| VideoError::Encoder(e.to_string()))?.to_vec();
        if self.applied.is_none_or(|(s, _)| s != size) {
            if let Err(e) = self.apply_bitrate(self.configured_bps) {
                tracing::warn!(error = %e, "the encoder keeps its configured bitrate");
            }
            self.applied = Some((size, self.bitrate_bps));
        }
        Ok(data)
    }

    fn set_bitrate(&mut self, bits_per_second: u32) -> Result<(), VideoError> {
        self.bitrate_bps = bits_per_second.max(50_000);
        Ok(())
    }

    fn force_keyframe(&mut self) {
        self.encoder.force_intra_frame();
    }

    /// openh264 fixes the usage type at initialisation: a new encoder, at the
    /// current bitrate, whose first frame is an IDR.
    fn set_display_mode(&mut self, mode: DisplayMode) -> Result<(), VideoError> {
        if mode != self.mode {
            *self = Self::new(mode, self.bitrate_bps, self.max_fps)?;
        }
        Ok(())
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
    use crate::video::openh264_decoder::to_frame;
    use crate::video::test_pattern::{TestPattern, mismatched_blocks, read_counter};
    use crate::video::{VideoSource as _, nal_types};

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
    fn a_display_mode_switch_starts_with_a_keyframe_and_one_decoder_follows() {
        let mut source = TestPattern::new(640, 480);
        let mut encoder = OpenH264Encoder::new(DisplayMode::Standard, 1_000_000, 30.0).unwrap();
        let mut decoder = Decoder::new().unwrap();
        for _ in 0..5 {
            decoder.decode(&encoder.encode(&source.next_frame().unwrap()).unwrap()).unwrap();
        }
        encoder.set_display_mode(DisplayMode::Standard).unwrap();
        let same = encoder.encode(&source.next_frame().unwrap()).unwrap();
        assert!(!nal_types(&same).contains(&5), "the same mode changes nothing");
        decoder.decode(&same).unwrap();
        encoder.set_display_mode(DisplayMode::ScreenSampling).unwrap();
        let switched = encoder.encode(&source.next_frame().unwrap()).unwrap();
        let types = nal_types(&switched);
        assert!(types.contains(&7) && types.contains(&5), "SPS and IDR after the switch: {types:?}");
        let picture = to_frame(&decoder.decode(&switched).unwrap().expect("a picture"));
        assert!(mismatched_blocks(&picture, 12).is_empty(), "the viewer's decoder carries on");
        assert_eq!(read_counter(&picture), 6);
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

    /// A busy picture: every 32x32 block a new pseudo-random grey each frame.
    fn noise(n: u64, width: usize, height: usize) -> I420Frame {
        let mut f = I420Frame::black(width, height);
        let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for by in (0..height).step_by(32) {
            for bx in (0..width).step_by(32) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let grey = (x >> 56) as u8;
                f.fill_rect(bx, by, 32, 32, crate::video::Yuv { y: grey, u: 128, v: 128 });
            }
        }
        f
    }

    #[test]
    fn the_bitrate_follows_set_bitrate() {
        // A busy picture at 30 fps for 2 s, at two targets set after the first frame.
        let size_at = |bps: u32| {
            let mut encoder = OpenH264Encoder::new(DisplayMode::ScreenSampling, 1_000_000, 30.0).unwrap();
            encoder.encode(&noise(0, 640, 480)).unwrap();
            encoder.set_bitrate(bps).unwrap();
            (1..60).map(|n| encoder.encode(&noise(n, 640, 480)).unwrap().len()).sum::<usize>()
        };
        let (low, high) = (size_at(200_000), size_at(4_000_000));
        assert!(low * 2 < high, "200 kbps gave {low} bytes, 4 Mbps gave {high}");
    }
}
