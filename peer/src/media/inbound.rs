//! Receiving a remote track: RTP in, decoded pictures and sound out to the
//! sinks chosen at start-up.
//!
//! Each remote video track gets a decoder thread fed through a short queue;
//! when the queue is full the picture is dropped and a keyframe requested, so
//! a slow decoder never builds latency. Keyframe requests (PLI) are also sent
//! when a track starts and after any loss, at most every 250 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use tandem_wire::ParticipantId;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::MediaKind;
use crate::audio::opus_codec::OpusDecoder;
use crate::video::I420Frame;
use crate::video::h264_receiver::{Assembled, H264Receiver};
use crate::video::openh264_decoder::OpenH264Decoder;

/// Where decoded pictures of one remote track go.
pub trait VideoSink: Send {
    /// One decoded picture; `rtp_timestamp` is the sender's 90 kHz clock.
    fn frame(&mut self, frame: I420Frame, rtp_timestamp: u32);
}

/// Makes a sink per remote video track.
pub trait VideoSinkFactory: Send + Sync {
    fn open(&self, from: ParticipantId, kind: MediaKind) -> Box<dyn VideoSink>;
}

/// Where decoded sound of one remote track goes: 48 kHz mono, 20 ms at a time.
pub trait AudioSink: Send {
    fn samples(&mut self, pcm: &[i16]);
}

/// Makes a sink per remote audio track.
pub trait AudioSinkFactory: Send + Sync {
    fn open(&self, from: ParticipantId) -> Box<dyn AudioSink>;
}

/// Pictures waiting for the decoder before new ones are dropped.
const DECODE_QUEUE: usize = 4;
/// Keyframe requests are sent at most this often.
const PLI_INTERVAL: Duration = Duration::from_millis(250);

/// Reads `track` until it ends, decoding into a sink. Runs as its own task.
pub async fn receive(
    from: ParticipantId,
    track: Arc<dyn TrackRemote>,
    video_sinks: Option<Arc<dyn VideoSinkFactory>>,
    audio_sinks: Option<Arc<dyn AudioSinkFactory>>,
) {
    let stream_id = track.stream_id().await;
    let is_video = track.kind().await == rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video;
    let kind = MediaKind::of_remote(&stream_id, is_video);
    tracing::debug!(%from, ?kind, %stream_id, "remote track");
    match kind {
        MediaKind::Audio => match audio_sinks {
            Some(sinks) => receive_audio(track, sinks.open(from)).await,
            None => drain(track).await,
        },
        _ => match video_sinks {
            Some(sinks) => receive_video(track, sinks.open(from, kind)).await,
            None => drain(track).await,
        },
    }
}

async fn drain(track: Arc<dyn TrackRemote>) {
    while track.poll().await.is_some() {}
}

async fn receive_video(track: Arc<dyn TrackRemote>, mut sink: Box<dyn VideoSink>) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, u32)>(DECODE_QUEUE);
    let decoder = std::thread::Builder::new().name("video-decode".into()).spawn(move || {
        let mut decoder = match OpenH264Decoder::new() {
            Ok(d) => d,
            Err(e) => return tracing::warn!(error = %e, "no video decoder"),
        };
        while let Ok((au, ts)) = rx.recv() {
            match decoder.decode(&au) {
                Ok(Some(frame)) => sink.frame(frame, ts),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "undecodable picture"),
            }
        }
    });
    if decoder.is_err() {
        return tracing::warn!("cannot start the video decoder thread");
    }
    let mut assembler = H264Receiver::new();
    let mut last_pli: Option<Instant> = None;
    let mut media_ssrc = None;
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
        let ssrc = *media_ssrc.get_or_insert(packet.header.ssrc);
        let h = &packet.header;
        let need_keyframe = match assembler.push(h.sequence_number, h.marker, h.timestamp, &packet.payload) {
            Assembled::Pending => false,
            Assembled::NeedKeyframe => true,
            Assembled::AccessUnit { data, rtp_timestamp, .. } => tx.try_send((data, rtp_timestamp)).is_err(),
        };
        if need_keyframe && last_pli.is_none_or(|t| t.elapsed() >= PLI_INTERVAL) {
            last_pli = Some(Instant::now());
            let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                tracing::debug!(error = %e, "keyframe request not sent");
            }
        }
    }
}

async fn receive_audio(track: Arc<dyn TrackRemote>, mut sink: Box<dyn AudioSink>) {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => return tracing::warn!(error = %e, "no audio decoder"),
    };
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
        match decoder.decode(&packet.payload) {
            Ok(pcm) => sink.samples(pcm),
            Err(e) => tracing::debug!(error = %e, "undecodable audio packet"),
        }
    }
}
