//! Sending a feed on one peer connection: a track per feed and per link, a
//! task that writes the feed's samples to it, and a task that turns the
//! remote's keyframe requests into [`Feed::request_keyframe`].
//!
//! The codecs are fixed for every link: H.264 Constrained Baseline with
//! `packetization-mode=1;profile-level-id=42e01f` for video (what Chromium and
//! openh264 agree on) and Opus for voice.

use std::sync::Arc;
use std::time::Instant;

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
        let out = Sample {
            data: sample.data.clone(),
            duration: sample.duration,
            ..Sample::new(sample.captured_at)
        };
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
