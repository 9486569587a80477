//! Reassembles H.264 access units from RTP ([RFC 6184](https://www.rfc-editor.org/rfc/rfc6184)),
//! sans I/O: feed packets in arrival order, get whole access units (Annex B)
//! out, or a note that a keyframe must be requested.
//!
//! After a gap in sequence numbers, the partial picture is dropped and nothing
//! is handed out until the next IDR: decoding P-frames whose reference is
//! missing would only show garbage.

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;

use super::nal_types;

/// Largest access unit accepted (a 4K IDR at a generous bitrate fits).
pub const MAX_ACCESS_UNIT_BYTES: usize = 8 * 1024 * 1024;

/// What one packet completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    /// Nothing yet (the picture continues).
    Pending,
    /// A whole access unit in Annex B form; `keyframe` when it holds an IDR.
    AccessUnit { data: Vec<u8>, keyframe: bool, rtp_timestamp: u32 },
    /// Packets were lost or unreadable: ask the sender for a keyframe.
    NeedKeyframe,
}

/// The reassembly state of one received video stream.
pub struct H264Receiver {
    depacketizer: H264Packet,
    buffer: Vec<u8>,
    last_seq: Option<u16>,
    /// Set until an IDR arrives (at start and after any loss).
    waiting_for_keyframe: bool,
    /// Whether an SPS and a PPS arrived: an IDR without them cannot be decoded
    /// (the packet carrying them may be the one lost before the first one seen).
    have_param_sets: bool,
    broken: bool,
}

impl Default for H264Receiver {
    fn default() -> Self {
        Self::new()
    }
}

impl H264Receiver {
    pub fn new() -> Self {
        Self {
            depacketizer: H264Packet::default(),
            buffer: Vec::new(),
            last_seq: None,
            waiting_for_keyframe: true,
            have_param_sets: false,
            broken: false,
        }
    }

    /// Takes one RTP packet's sequence number, marker bit, timestamp and payload.
    pub fn push(&mut self, seq: u16, marker: bool, rtp_timestamp: u32, payload: &Bytes) -> Assembled {
        let gap = self.last_seq.is_some_and(|last| seq != last.wrapping_add(1));
        self.last_seq = Some(seq);
        if gap {
            self.buffer.clear();
            self.depacketizer = H264Packet::default();
            self.broken = true;
        }
        match self.depacketizer.depacketize(payload) {
            Ok(nals) => {
                if self.buffer.len() + nals.len() > MAX_ACCESS_UNIT_BYTES {
                    self.buffer.clear();
                    self.broken = true;
                } else if !self.broken {
                    self.buffer.extend_from_slice(&nals);
                }
            }
            Err(_) => self.broken = true,
        }
        if !marker {
            return if gap { Assembled::NeedKeyframe } else { Assembled::Pending };
        }
        let data = std::mem::take(&mut self.buffer);
        if std::mem::take(&mut self.broken) {
            self.waiting_for_keyframe = true;
            return Assembled::NeedKeyframe;
        }
        let types = nal_types(&data);
        let keyframe = types.contains(&5);
        self.have_param_sets |= types.contains(&7) && types.contains(&8);
        if self.waiting_for_keyframe && !(keyframe && self.have_param_sets) {
            return Assembled::NeedKeyframe;
        }
        self.waiting_for_keyframe = false;
        if data.is_empty() {
            return Assembled::Pending;
        }
        Assembled::AccessUnit { data, keyframe, rtp_timestamp }
    }
}

#[cfg(test)]
mod tests {
    use rtc::rtp::codec::h264::H264Payloader;
    use rtc::rtp::packetizer::Payloader;

    use super::*;
    use crate::video::openh264_encoder::OpenH264Encoder;
    use crate::video::test_pattern::TestPattern;
    use crate::video::{DisplayMode, VideoEncoder, VideoSource};

    /// Encodes `n` frames and packetizes each into RTP payloads of at most 1,200 bytes.
    fn packetized(n: usize) -> Vec<Vec<Bytes>> {
        let mut source = TestPattern::new(640, 480);
        let mut encoder = OpenH264Encoder::new(DisplayMode::Standard, 2_000_000, 30.0).unwrap();
        let mut payloader = H264Payloader::default();
        (0..n)
            .map(|_| {
                let au = encoder.encode(&source.next_frame().unwrap()).unwrap();
                payloader.payload(1200, &Bytes::from(au)).unwrap()
            })
            .collect()
    }

    fn feed(rx: &mut H264Receiver, seq: &mut u16, packets: &[Bytes], ts: u32) -> Vec<Assembled> {
        let last = packets.len().saturating_sub(1);
        packets
            .iter()
            .enumerate()
            .map(|(i, p)| {
                *seq = seq.wrapping_add(1);
                rx.push(*seq, i == last, ts, p)
            })
            .filter(|a| *a != Assembled::Pending)
            .collect()
    }

    #[test]
    fn whole_pictures_come_out_and_a_loss_waits_for_the_next_keyframe() {
        let frames = packetized(4);
        assert!(frames[0].len() > 1, "the IDR spans several packets (FU-A)");
        let mut rx = H264Receiver::new();
        let mut seq = 65_530u16; // wraps during the test
        let out = feed(&mut rx, &mut seq, &frames[0], 0);
        assert!(matches!(&out[..], [Assembled::AccessUnit { keyframe: true, .. }]), "{out:?}");
        let out = feed(&mut rx, &mut seq, &frames[1], 3000);
        assert!(matches!(&out[..], [Assembled::AccessUnit { keyframe: false, rtp_timestamp: 3000, .. }]));

        // Lose the first packet of frame 2: it is dropped, and so is frame 3 (a P-frame).
        seq = seq.wrapping_add(1);
        let mut out = feed(&mut rx, &mut seq, &frames[2][1..], 6000);
        out.extend(feed(&mut rx, &mut seq, &frames[3], 9000));
        assert!(out.contains(&Assembled::NeedKeyframe), "{out:?}");
        assert!(
            !out.iter().any(|a| matches!(a, Assembled::AccessUnit { .. })),
            "nothing decodable until an IDR"
        );
        // A keyframe heals it.
        let out = feed(&mut rx, &mut seq, &frames[0], 12_000);
        assert!(matches!(&out[..], [Assembled::AccessUnit { keyframe: true, .. }]));
    }

    #[test]
    fn an_idr_whose_parameter_sets_were_lost_before_the_first_packet_waits_for_the_next_keyframe() {
        let frames = packetized(2);
        let first = &frames[0];
        // The payloader sends SPS and PPS in a packet of their own (a STAP-A) before the IDR.
        assert!(first.len() >= 2, "the keyframe spans several packets");
        let mut rx = H264Receiver::new();
        let mut seq = 100;
        // The stream is seen from its second packet on: no gap shows, but the IDR has no SPS/PPS.
        assert_eq!(feed(&mut rx, &mut seq, &first[1..], 0), vec![Assembled::NeedKeyframe]);
        assert_eq!(feed(&mut rx, &mut seq, &frames[1], 3000), vec![Assembled::NeedKeyframe]);
        // A whole keyframe (SPS, PPS, IDR) heals it.
        let out = feed(&mut rx, &mut seq, first, 6000);
        assert!(matches!(&out[..], [Assembled::AccessUnit { keyframe: true, .. }]), "{out:?}");
    }

    #[test]
    fn nothing_before_the_first_keyframe_and_garbage_is_refused() {
        let frames = packetized(2);
        let mut rx = H264Receiver::new();
        let mut seq = 0;
        assert_eq!(feed(&mut rx, &mut seq, &frames[1], 0), vec![Assembled::NeedKeyframe]);
        let out = feed(&mut rx, &mut seq, &[Bytes::from_static(&[0x1c])], 1);
        assert_eq!(out, vec![Assembled::NeedKeyframe], "a 1-byte payload is unreadable");
    }
}
