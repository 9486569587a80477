//! Under a real X server (Xvfb): what is drawn on the display is captured by
//! `scrap`, sent as H.264 over WebRTC and decoded on the far side with
//! matching pixels. The test starts its own Xvfb on a free display number and
//! stops it at the end, also on failure.

mod common;

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tandem_peer::media::inbound::{VideoSink, VideoSinkFactory};
use tandem_peer::media::{Feed, Media, MediaKind};
use tandem_peer::session::Event;
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_peer::video::openh264_encoder::OpenH264Encoder;
use tandem_peer::video::pipeline::{PipelineSettings, VideoPipeline};
use tandem_peer::video::x11_screen::X11Screen;
use tandem_peer::video::{DisplayMode, I420Frame, VideoEncoder, VideoSource, Yuv};
use tandem_wire::{DisplayName, ParticipantId};
use tokio::sync::mpsc;

/// An Xvfb process, killed when dropped.
struct Xvfb {
    child: Child,
    display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_xvfb() -> Xvfb {
    for n in 90..130 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset"])
            .spawn()
            .expect("Xvfb must be installed (scripts/debian-packages/peer.txt)");
        let mut xvfb = Xvfb { child, display };
        for _ in 0..100 {
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return xvfb;
            }
            if let Ok(Some(_)) = xvfb.child.try_wait() {
                break; // lost a race for this number: try the next
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = xvfb.child.kill();
    }
    panic!("could not start Xvfb on any display :90..:129");
}

fn paint(display: &str, colour: &str) {
    let ok =
        Command::new("xsetroot").args(["-display", display, "-solid", colour]).status().expect("xsetroot");
    assert!(ok.success(), "xsetroot -solid {colour} failed");
}

struct Pictures(mpsc::UnboundedSender<I420Frame>);

impl VideoSinkFactory for Pictures {
    fn open(&self, _from: ParticipantId, _kind: MediaKind) -> Box<dyn VideoSink> {
        Box::new(Sink(self.0.clone()))
    }
}

struct Sink(mpsc::UnboundedSender<I420Frame>);

impl VideoSink for Sink {
    fn frame(&mut self, frame: I420Frame, _rtp_timestamp: u32) {
        let _ = self.0.send(frame);
    }
}

/// Waits for a picture of the whole display in one colour (sampled at the corners and the centre).
async fn wait_for_colour(pictures: &mut mpsc::UnboundedReceiver<I420Frame>, want: Yuv, name: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut last = None;
    loop {
        let f = tokio::time::timeout_at(deadline, pictures.recv())
            .await
            .unwrap_or_else(|_| panic!("no {name} picture within {DEADLINE:?}; last centre {last:?}"))
            .expect("sink open");
        assert_eq!((f.width, f.height), (640, 480), "the whole display");
        let points = [(8, 8), (630, 8), (8, 470), (630, 470), (320, 240)];
        if points.iter().all(|&(x, y)| f.at(x, y).near(want, 12)) {
            return;
        }
        last = Some(f.at(320, 240));
    }
}

#[test]
fn the_x_display_is_captured_sent_and_decoded() {
    let xvfb = start_xvfb();
    paint(&xvfb.display, "#ff0000");
    let repaint = xvfb.display.clone();
    // SAFETY: set before the runtime and any other thread exist (nextest runs
    // each test in a process of its own); scrap reads DISPLAY to connect.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async move {
        let (server, _dir) = start_server().await;
        let (tx, mut pictures) = mpsc::unbounded_channel();
        let csr_media = Media { feeds: vec![], video_sinks: Some(Arc::new(Pictures(tx))), audio_sinks: None };
        let token = sign_in(&server.url, "carla", PASSWORD).await.unwrap();
        let mut csr = spawn_peer_with(&server.url, Entry::CreateSession { token }, csr_media);
        let (number, invite) = csr
            .wait_for("session created", |e| match e {
                Event::Joined { session, invite: Some((invite, _)), .. } => {
                    Some((session.session_number, invite.clone()))
                }
                _ => None,
            })
            .await;

        // The customer shares the X display.
        let feed = Feed::new(MediaKind::Screen);
        let source = Box::new(|| Ok(Box::new(X11Screen::open()?) as Box<dyn VideoSource>));
        let encoder = Box::new(|fps: f32, bps: u32| {
            OpenH264Encoder::new(DisplayMode::Standard, bps, fps)
                .map(|e| Box::new(e) as Box<dyn VideoEncoder>)
        });
        let _pipeline =
            VideoPipeline::start(source, encoder, feed.clone(), PipelineSettings::default()).unwrap();
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
        let customer = spawn_peer_with(
            &server.url,
            Entry::Customer { target, name: DisplayName::parse("Xena").unwrap() },
            media,
        );

        wait_for_colour(&mut pictures, Yuv::from_rgb(255, 0, 0), "red").await;
        // Repaint: the change on the display reaches the far side too.
        paint(&repaint, "#0000ff");
        wait_for_colour(&mut pictures, Yuv::from_rgb(0, 0, 255), "blue").await;
        drop(customer.commands);
        drop(csr.commands);
        server.shutdown().await.unwrap();
    });
    drop(xvfb);
}
