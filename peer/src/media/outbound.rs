//! Sending a feed on one peer connection: a track per feed and per link, a
//! task that writes the feed's samples to it, and a task that turns the
//! remote's keyframe requests into [`Feed::request_keyframe`].
//!
//! The codecs are fixed for every link: H.264 Constrained Baseline with
//! `packetization-mode=1;profile-level-id=42e01f` for video (what Chromium and
//! openh264 agree on) and Opus for voice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS, MediaEngine};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

use super::feed::SendGate;
use super::keyframe_requests::is_keyframe_request;
use super::{Feed, MediaKind};
use crate::PeerError;

/// The one video codec: H.264 Constrained Baseline, non-interleaved.
pub fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned(),
        rtcp_feedback: ["nack", "nack pli", "ccm fir"]
            .iter()
            .map(|fb| {
                let (typ, parameter) = fb.split_once(' ').unwrap_or((fb, ""));
                RTCPFeedback { typ: typ.to_owned(), parameter: parameter.to_owned() }
            })
            .collect(),
    }
}

/// The one audio codec: Opus, 48 kHz, in-band FEC.
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Registers exactly these codecs, so that every video m-line negotiates H.264.
pub fn register_codecs(media: &mut MediaEngine) -> Result<(), PeerError> {
    media.register_codec(
        RTCRtpCodecParameters { rtp_codec: h264_codec(), payload_type: 102 },
        RtpCodecKind::Video,
    )?;
    media.register_codec(
        RTCRtpCodecParameters { rtp_codec: opus_codec(), payload_type: 111 },
        RtpCodecKind::Audio,
    )?;
    Ok(())
}

/// One feed sent on one link. Dropping it stops its tasks.
pub struct OutboundTrack {
    pub kind: MediaKind,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for OutboundTrack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Adds a track for `feed` to `pc` and starts sending the feed on it once
/// negotiated, while `gate` is open.
pub async fn send_feed(
    pc: &Arc<dyn PeerConnection>,
    feed: &Feed,
    gate: Arc<SendGate>,
) -> Result<OutboundTrack, PeerError> {
    let kind = feed.kind();
    let (codec_kind, codec) = if kind.is_video() {
        (RtpCodecKind::Video, h264_codec())
    } else {
        (RtpCodecKind::Audio, opus_codec())
    };
    let ssrc: u32 = rand::random();
    let track = MediaStreamTrack::new(
        kind.stream_id().to_owned(),
        format!("{}-{ssrc:08x}", kind.stream_id()),
        kind.stream_id().to_owned(),
        codec_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec,
            ..Default::default()
        }],
    );
    let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track)?);
    let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
    // Subscribe now: samples produced while negotiating are dropped by the writer, not queued.
    let samples = feed.subscribe();
    let writer = tokio::spawn(write_samples(track.clone(), sender, ssrc, samples, feed.clone(), gate));
    let feedback = tokio::spawn(read_feedback(track, feed.clone()));
    Ok(OutboundTrack { kind, tasks: [writer, feedback] })
}

/// Writes the feed's samples to the track. Until the sender has a negotiated
/// codec nothing can be sent; the first sample that goes out after that (and
/// after any loss, and after the gate opens) is preceded by a keyframe request.
/// While the gate is closed, samples are dropped here: nothing of them leaves.
async fn write_samples(
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    mut samples: tokio::sync::broadcast::Receiver<Arc<super::EncodedSample>>,
    feed: Feed,
    gate: Arc<SendGate>,
) {
    let video = feed.kind().is_video();
    let mut payload_type = None;
    // A viewer needs a keyframe before anything else decodes.
    let mut need_keyframe = video;
    let mut clock = VideoClock::default();
    loop {
        let sample = match samples.recv().await {
            Ok(s) => s,
            Err(RecvError::Lagged(n)) => {
                tracing::debug!(kind = ?feed.kind(), lost = n, "link fell behind the feed");
                need_keyframe = video;
                feed.request_keyframe();
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !gate.is_open() {
            need_keyframe = video;
            continue;
        }
        if payload_type.is_none() {
            payload_type = negotiated_payload_type(&sender).await;
            if payload_type.is_none() {
                continue;
            }
        }
        if need_keyframe && !sample.keyframe {
            feed.request_keyframe();
            continue;
        }
        let Some(pt) = payload_type else { continue };
        let duration = if video {
            // The RTP timestamp follows the capture clock (see `VideoClock`): first move it on
            // by the time since the last picture, with an empty sample (no packet goes out).
            let gap =
                Sample { duration: clock.advance(sample.captured_at), ..Sample::new(sample.captured_at) };
            if let Err(e) = track.sample_writer(ssrc, pt).write_sample(&gap).await {
                tracing::trace!(error = %e, "timestamp not advanced");
            }
            Duration::ZERO
        } else {
            sample.duration
        };
        let out = Sample { data: sample.data.clone(), duration, ..Sample::new(sample.captured_at) };
        match track.sample_writer(ssrc, pt).write_sample(&out).await {
            Ok(()) => need_keyframe = false,
            Err(e) => {
                // Not bound yet, or the connection is closing: try again with the next keyframe.
                tracing::trace!(kind = ?feed.kind(), error = %e, "sample not sent");
                need_keyframe = video;
            }
        }
    }
}

/// The RTP clock of a video track: 90 kHz ticks since its first picture, by
/// capture time.
///
/// webrtc's sample writer stamps a sample with the track's running timestamp
/// and only then adds the sample's duration: a duration is the gap to the
/// *next* picture. A screen sends pictures irregularly (nothing while it is
/// still, then a picture the moment it changes), so that gap is unknown when
/// a picture goes out, and stamping each picture with the gap *before* it
/// shifts every timestamp by one picture. A receiver that plays pictures by
/// their timestamps, like Chromium, then holds a picture that came 170 ms
/// after the last one for as long as the one before had waited (up to a
/// second on a still screen). So before each picture the timestamp is moved
/// on by the time since the previous one (an empty sample: no packet), and
/// the picture itself is written with duration zero.
#[derive(Debug, Default)]
struct VideoClock {
    first: Option<Instant>,
    /// Ticks the track's timestamp has been moved on so far.
    ticks: u64,
}

impl VideoClock {
    const RATE: f64 = 90_000.0;

    /// How far to move the timestamp before the picture captured at `captured_at`:
    /// whole ticks, so that the writer's own rounding (`(duration × rate) as u32`) gives
    /// exactly the ticks meant and no error adds up over a session.
    fn advance(&mut self, captured_at: Instant) -> Duration {
        let first = *self.first.get_or_insert(captured_at);
        let since = captured_at.saturating_duration_since(first).as_nanos();
        let target = u64::try_from(since * Self::RATE as u128 / 1_000_000_000).unwrap_or(u64::MAX);
        let step = target.saturating_sub(self.ticks).min(u64::from(u32::MAX / 2));
        self.ticks += step;
        // Half a tick more, so that the writer's truncation lands on `step`.
        Duration::from_secs_f64((step as f64 + 0.5) / Self::RATE)
    }
}

async fn negotiated_payload_type(sender: &Arc<dyn RtpSender>) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params.rtp_parameters.codecs.first().map(|c| c.payload_type)
}

/// Answers PLI/FIR from the remote with a keyframe request to the encoder.
async fn read_feedback(track: Arc<TrackLocalStaticSample>, feed: Feed) {
    loop {
        match track.poll().await {
            Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    tracing::debug!(kind = ?feed.kind(), "keyframe requested by the remote");
                    feed.request_keyframe();
                }
            }
            Some(_) => {}
            // Not bound yet (before negotiation) or unbound: look again shortly.
            None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::codec::h264::H264Payloader;
    use rtc::rtp::packetizer::{Packetizer, new_packetizer};
    use rtc::rtp::sequence::new_random_sequencer;

    /// What webrtc's `write_sample` does with a sample's duration (its packetizer is private).
    fn write(p: &mut impl Packetizer, data: &[u8], duration: Duration) -> Vec<u32> {
        let samples = (duration.as_secs_f64() * 90_000.0) as u32;
        let packets = p.packetize(Instant::now(), &bytes::Bytes::copy_from_slice(data), samples).unwrap();
        packets.iter().map(|pkt| pkt.header.timestamp).collect()
    }

    #[test]
    fn video_timestamps_follow_capture_time_when_pictures_come_irregularly() {
        let mut p = new_packetizer(
            Instant::now(),
            1200,
            102,
            1,
            Box::new(H264Payloader::default()),
            Box::new(new_random_sequencer()),
            90_000,
        );
        // A still screen: a refresh a second later, then a click 170 ms after it, then 33 ms
        // frames, then still again; and a long session's rounding (1 ms steps).
        let t0 = Instant::now();
        let mut at = Vec::new();
        let mut t = 0u64;
        for gap in [0u64, 1000, 170, 33, 33, 1000, 999, 1].into_iter().chain(std::iter::repeat_n(1, 5000)) {
            t += gap;
            at.push(t0 + Duration::from_millis(t));
        }
        let mut clock = VideoClock::default();
        let mut stamps = Vec::new();
        let picture = [0u8, 0, 0, 1, 0x65, 0x88, 0x84];
        for &captured in &at {
            assert!(write(&mut p, &[], clock.advance(captured)).is_empty(), "the advance sends nothing");
            let ts = write(&mut p, &picture, Duration::ZERO);
            assert_eq!(ts.len(), 1);
            stamps.push(ts[0]);
        }
        for (i, (&ts, &captured)) in stamps.iter().zip(&at).enumerate() {
            let want = (captured - at[0]).as_millis() as u32 * 90;
            assert_eq!(ts.wrapping_sub(stamps[0]), want, "picture {i}'s timestamp is its capture time");
        }
    }
}
