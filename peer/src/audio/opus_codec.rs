//! Opus (libopus through the `opus` crate): 48 kHz mono, 20 ms frames, VoIP mode.

use super::{AudioError, FRAME_SAMPLES, SAMPLE_RATE};

/// Largest Opus packet we produce or accept.
const MAX_PACKET: usize = 1500;
/// Longest frame a packet may decode to (120 ms).
const MAX_FRAME: usize = FRAME_SAMPLES * 6;

pub struct OpusEncoder {
    encoder: opus::Encoder,
    out: Vec<u8>,
}

impl OpusEncoder {
    pub fn new(bitrate_bps: i32) -> Result<Self, AudioError> {
        let codec = |e: opus::Error| AudioError::Codec(e.to_string());
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).map_err(codec)?;
        encoder.set_bitrate(opus::Bitrate::Bits(bitrate_bps)).map_err(codec)?;
        encoder.set_inband_fec(true).map_err(codec)?;
        Ok(Self { encoder, out: vec![0; MAX_PACKET] })
    }

    /// Encodes one 20 ms frame.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Vec<u8>, AudioError> {
        let n = self.encoder.encode(pcm, &mut self.out).map_err(|e| AudioError::Codec(e.to_string()))?;
        Ok(self.out[..n].to_vec())
    }
}

pub struct OpusDecoder {
    decoder: opus::Decoder,
    pcm: Vec<i16>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, AudioError> {
        let decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
            .map_err(|e| AudioError::Codec(e.to_string()))?;
        Ok(Self { decoder, pcm: vec![0; MAX_FRAME] })
    }

    /// Decodes one packet (stereo packets are mixed down to mono by libopus).
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], AudioError> {
        if packet.len() > MAX_PACKET {
            return Err(AudioError::Codec(format!("a {}-byte packet is over the limit", packet.len())));
        }
        let n = self
            .decoder
            .decode(packet, &mut self.pcm, false)
            .map_err(|e| AudioError::Codec(e.to_string()))?;
        Ok(&self.pcm[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::dominant_frequency;
    use crate::audio::tone::Tone;

    #[test]
    fn a_tone_survives_opus() {
        let mut tone = Tone::new(600.0);
        let mut enc = OpusEncoder::new(32_000).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        for _ in 0..50 {
            let packet = enc.encode(&tone.render()).unwrap();
            assert!(packet.len() < 200, "32 kbps is ~80 bytes per 20 ms, got {}", packet.len());
            out.extend_from_slice(dec.decode(&packet).unwrap());
        }
        let f = dominant_frequency(&out, 100, 4000).unwrap();
        assert!((f - 600.0).abs() <= 12.0, "{f} Hz");
        assert!(dec.decode(&[0xff; 2000]).is_err(), "oversize packet refused");
    }
}
