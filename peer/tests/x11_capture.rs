//! Under a real X server (Xvfb): what is drawn on the display is captured by
//! `scrap`, sent as H.264 over WebRTC and decoded on the far side with
//! matching pixels. The test starts its own Xvfb on a free display number and
//! stops it at the end, also on failure.

mod common;

use std::process::Command;

use common::xvfb::start_xvfb;
use common::*;
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::x11_screen::X11Screen;
use tandem_peer::video::{VideoSource, Yuv};
use tandem_wire::DisplayName;
use tokio::sync::mpsc;

fn paint(display: &str, colour: &str) {
    let ok =
        Command::new("xsetroot").args(["-display", display, "-solid", colour]).status().expect("xsetroot");
    assert!(ok.success(), "xsetroot -solid {colour} failed");
}

/// Waits for a picture of the whole display in one colour (sampled at the corners and the centre).
async fn wait_for_colour(pictures: &mut mpsc::UnboundedReceiver<Picture>, want: Yuv, name: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut last = None;
    loop {
        let (_, _, f) = tokio::time::timeout_at(deadline, pictures.recv())
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
    let xvfb = start_xvfb("640x480x24");
    paint(&xvfb.display, "#ff0000");
    let repaint = xvfb.display.clone();
    // SAFETY: set before the runtime and any other thread exist (nextest runs
    // each test in a process of its own); scrap reads DISPLAY to connect.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async move {
        let (server, _dir) = start_server().await;
        let (csr_media, mut pictures) = receiving(None);
        let (csr, number, invite) = start_session(&server.url, csr_media, loopback()).await;

        // The customer shares the X display.
        let (feed, _pipeline) = video_feed(
            MediaKind::Screen,
            Box::new(|| Ok(Box::new(X11Screen::open()?) as Box<dyn VideoSource>)),
        );
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
        let mut customer = spawn_peer_with(
            &server.url,
            Entry::Customer { target, name: DisplayName::parse("Xena").unwrap() },
            media,
        );
        let customer_id = customer
            .wait_for("joined", |e| match e {
                tandem_peer::session::Event::Joined { me, .. } => Some(*me),
                _ => None,
            })
            .await;
        allow_view(&csr, &mut customer, customer_id).await;

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
