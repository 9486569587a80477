//! Native peer ↔ native peer media through the real signaling server on
//! 127.0.0.1: the customer sends a synthetic H.264 screen (colour blocks and a
//! frame counter), a synthetic camera and an Opus tone; the CSR decodes all
//! three. An assistant who joins late gets a picture from a fresh keyframe.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tandem_peer::audio::analysis::dominant_frequency;
use tandem_peer::audio::pipeline::AudioPipeline;
use tandem_peer::audio::recorder::Recorder;
use tandem_peer::audio::tone::Tone;
use tandem_peer::media::{Feed, Media, MediaKind};
use tandem_peer::session::Event;
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_peer::video::pipeline::VideoPipeline;
use tandem_peer::video::test_pattern::{TestPattern, mismatched_blocks, read_counter};
use tandem_peer::video::{I420Frame, VideoSource};
use tandem_wire::DisplayName;
use tokio::sync::mpsc;

const TONE_HZ: f64 = 600.0;

fn test_pattern_feed(kind: MediaKind, width: usize, height: usize) -> (Feed, VideoPipeline) {
    video_feed(kind, Box::new(move || Ok(Box::new(TestPattern::new(width, height)) as Box<dyn VideoSource>)))
}

async fn next_picture(rx: &mut mpsc::UnboundedReceiver<Picture>, kind: MediaKind) -> I420Frame {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (_, k, frame) = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind:?} picture within {DEADLINE:?}"))
            .expect("sink open");
        if k == kind {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn screen_camera_and_voice_cross_and_a_late_viewer_gets_a_keyframe() {
    let (server, _dir) = start_server().await;
    let url = server.url.clone();

    // The CSR starts the session and only receives.
    let csr_recorder = Recorder::default();
    let (csr_media, mut csr_pictures) = receiving(Some(Arc::new(csr_recorder.clone())));
    let (csr, number, invite) = start_session(&url, csr_media, loopback()).await;

    // The customer sends a screen, a camera and a tone.
    let (screen, screen_pipeline) = test_pattern_feed(MediaKind::Screen, 640, 480);
    let (camera, _camera_pipeline) = test_pattern_feed(MediaKind::Camera, 320, 240);
    let voice = Feed::new(MediaKind::Audio);
    let _voice_pipeline = AudioPipeline::start(
        Box::new(|| Ok(Box::new(Tone::new(TONE_HZ)) as Box<dyn tandem_peer::audio::AudioSource>)),
        voice.clone(),
        32_000,
    )
    .unwrap();
    let customer_media =
        Media { feeds: vec![screen.clone(), camera, voice], video_sinks: None, audio_sinks: None };
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let name = DisplayName::parse("Dana").unwrap();
    let mut customer = spawn_peer_with(&url, Entry::Customer { target, name }, customer_media);
    let customer_id = customer
        .wait_for("joined", |e| match e {
            Event::Joined { me, .. } => Some(*me),
            _ => None,
        })
        .await;
    // Nothing of the screen goes out before the customer allows it; the camera does (15 of its
    // pictures serve as the clock).
    let mut camera_pictures = 0;
    while camera_pictures < 15 {
        let (_, kind, _) =
            tokio::time::timeout(DEADLINE, csr_pictures.recv()).await.expect("camera pictures").unwrap();
        assert_ne!(kind, MediaKind::Screen, "a screen picture arrived before the customer allowed view");
        camera_pictures += u32::from(kind == MediaKind::Camera);
    }
    allow_view(&csr, &mut customer, customer_id).await;

    // Screen: colour blocks within tolerance, and the frame counter advances.
    let mut counters = Vec::new();
    while counters.len() < 20 {
        let picture = next_picture(&mut csr_pictures, MediaKind::Screen).await;
        assert_eq!((picture.width, picture.height), (640, 480));
        let bad = mismatched_blocks(&picture, 16);
        assert!(bad.is_empty(), "colour blocks off after H.264 over WebRTC: {bad:?}");
        counters.push(read_counter(&picture));
    }
    assert!(counters.windows(2).all(|w| w[1] > w[0]), "frame counter advances: {counters:?}");

    // Display mode (SHR-11): the CSR asks for screen sampling; the customer's pipeline switches
    // live and the pictures still decode.
    csr.commands
        .send(tandem_peer::session::Command::SetDisplayMode {
            to: customer_id,
            mode: tandem_wire::channels::DisplayMode::ScreenSampling,
        })
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while screen_pipeline.stats.display_mode_changes.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the display mode was not switched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while csr_pictures.try_recv().is_ok() {}
    for _ in 0..10 {
        let picture = next_picture(&mut csr_pictures, MediaKind::Screen).await;
        assert!(mismatched_blocks(&picture, 16).is_empty(), "colour blocks off in screen-sampling mode");
    }

    // Camera: its own track, decoded.
    let picture = next_picture(&mut csr_pictures, MediaKind::Camera).await;
    assert_eq!((picture.width, picture.height), (512, 256), "the camera pattern (clamped to 512x256)");
    assert!(mismatched_blocks(&picture, 16).is_empty());

    // Voice: at least a second of it, and its pitch within ±2 %.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while csr_recorder.recording(customer_id).len() < 48_000 {
        assert!(tokio::time::Instant::now() < deadline, "no second of voice within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pcm = csr_recorder.recording(customer_id);
    let f = dominant_frequency(&pcm[pcm.len() - 48_000..], 100, 4_000).unwrap();
    assert!((f - TONE_HZ).abs() <= TONE_HZ * 0.02, "received {f} Hz, sent {TONE_HZ} Hz");

    // A late viewer: an assistant joins and asks to see; its first picture comes from a keyframe
    // made for it, within 30 source frames (1 s of the 30 fps pattern) of the customer's yes.
    let assistant_recorder = Recorder::default();
    let (assistant_media, mut assistant_pictures) = receiving(Some(Arc::new(assistant_recorder)));
    let token = sign_in(&url, "carla", PASSWORD).await.unwrap();
    let mut assistant = spawn_peer_with(&url, Entry::Assist { token, number }, assistant_media);
    assistant
        .wait_for("connected to the customer", |e| {
            matches!(e, Event::Connected(id) if *id == customer_id).then_some(())
        })
        .await;
    let keyframes_before = screen_pipeline.stats.keyframes.load(std::sync::atomic::Ordering::Relaxed);
    allow_view(&assistant, &mut customer, customer_id).await;
    let captured_at_connect = screen_pipeline.stats.captured.load(std::sync::atomic::Ordering::Relaxed);
    let first = next_picture(&mut assistant_pictures, MediaKind::Screen).await;
    assert!(mismatched_blocks(&first, 16).is_empty());
    let lag = read_counter(&first) as i64 - captured_at_connect as i64;
    assert!(lag <= 30, "first picture is frame {}, {lag} frames after the connection", read_counter(&first));
    assert!(
        screen_pipeline.stats.keyframes.load(std::sync::atomic::Ordering::Relaxed) > keyframes_before
            || lag < 0,
        "a keyframe was made for the new viewer"
    );

    // The customer's Stop ends every view at once: no picture captured after it reaches anyone
    // (30 camera pictures at the CSR serve as the clock), and the screen is no longer captured.
    customer.commands.send(tandem_peer::session::Command::StopAll).await.unwrap();
    customer
        .wait_for("the revoke recorded", |e| {
            matches!(e, Event::Consent { outcome: tandem_wire::ConsentOutcome::Revoked, .. }).then_some(())
        })
        .await;
    let captured_at_stop = screen_pipeline.stats.captured.load(std::sync::atomic::Ordering::Relaxed);
    let mut camera_pictures = 0;
    while camera_pictures < 30 {
        let (_, kind, frame) = tokio::time::timeout(DEADLINE, csr_pictures.recv())
            .await
            .expect("camera pictures keep coming")
            .expect("sink open");
        match kind {
            MediaKind::Camera => camera_pictures += 1,
            MediaKind::Screen => assert!(
                read_counter(&frame) <= captured_at_stop,
                "screen frame {} captured after the Stop (at {captured_at_stop}) reached the CSR",
                read_counter(&frame)
            ),
            MediaKind::Audio => {}
        }
    }
    let captured_later = screen_pipeline.stats.captured.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        captured_later <= captured_at_stop + 1,
        "nobody may see the screen: nothing more captured ({captured_at_stop} → {captured_later})"
    );
    drop(customer.commands);
    drop(csr.commands);
    drop(assistant.commands);
    server.shutdown().await.unwrap();
}
