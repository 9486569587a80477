//! Application sharing through the whole native path (SHR-5/6): a CSR asks
//! a native customer to control one application; the customer's person
//! picks window A of two (A red, B blue, B lying over part of A) and allows
//! it. The pictures the CSR decodes are A's size and colour and never show
//! B, even where B covers A on screen; a click on A's visible part is
//! injected there, a click where B covers A is dropped; after the customer's
//! Stop nothing more is sent. The test starts its own Xvfb.

mod common;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::xvfb::start_xvfb;
use common::xwindows::TestWindows;
use common::*;
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::{Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::screen_selector::{ScreenSelector, ScreenTarget, source_factory};
use tandem_peer::video::{I420Frame, WindowId, Yuv};
use tandem_wire::channels::{Capability, ControlMessage, MouseButton, Point};
use tandem_wire::{ConsentOutcome, DisplayName};

const A_RGB: u32 = 0xd0_2020;
const B_RGB: u32 = 0x20_40d0;
/// A at (40, 40), 240×180; B at (200, 100), 200×200, on top: they overlap in x 200..280, y 100..220.
const A_AT: (i16, i16) = (40, 40);
const A_SIZE: (u16, u16) = (240, 180);
const B_AT: (i16, i16) = (200, 100);
const B_SIZE: (u16, u16) = (200, 200);

fn yuv(rgb: u32) -> Yuv {
    let [b, g, r, _] = rgb.to_le_bytes();
    Yuv::from_rgb(r, g, b)
}

/// Pixels within `tolerance` of `colour` (after H.264).
fn count_near(frame: &I420Frame, colour: Yuv, tolerance: u8) -> usize {
    let mut n = 0;
    for y in (0..frame.height).step_by(2) {
        for x in (0..frame.width).step_by(2) {
            n += usize::from(frame.at(x, y).near(colour, tolerance));
        }
    }
    n
}

fn pointer(display: &str) -> (i32, i32) {
    let out = std::process::Command::new("xdotool")
        .args(["getmouselocation", "--shell"])
        .env("DISPLAY", display)
        .output()
        .expect("xdotool runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)?.parse::<i32>().ok()).expect("xdotool prints X= and Y=")
    };
    (value("X="), value("Y="))
}

async fn counted(counter: &std::sync::atomic::AtomicU64, n: u64, which: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while counter.load(Relaxed) < n {
        assert!(tokio::time::Instant::now() < deadline, "the customer never {which} {n} control messages");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn the_csr_sees_and_controls_only_the_window_the_customer_picked() {
    let xvfb = start_xvfb("640x480x24");
    // The desktop source captures $DISPLAY; this test is its own process.
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };
    let windows = TestWindows::connect(&xvfb.display);
    let a = windows.create("Window A", A_RGB, A_AT, A_SIZE);
    let b = windows.create("Window B", B_RGB, B_AT, B_SIZE);
    windows.place(b, B_AT, B_SIZE, true);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async {
        let (server, _dir) = start_server().await;
        let url = server.url.clone();
        let (csr_media, mut pictures) = receiving(None);
        let (mut csr, number, invite) = start_session(&url, csr_media, loopback()).await;

        // The customer: its screen follows a selector (nothing until someone may see it).
        let selector = ScreenSelector::new(ScreenTarget::Nothing);
        let (screen, _pipeline) =
            video_feed(MediaKind::Screen, source_factory(selector.clone(), Some(xvfb.display.clone())));
        screen.attach_selector(selector.clone());
        let (controls, counters) = x11_controls(&xvfb.display);
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let entry = Entry::Customer { target, name: DisplayName::parse("Dana").unwrap() };
        let media = Media { feeds: vec![screen], video_sinks: None, audio_sinks: None };
        let mut customer = spawn_peer_controlled(&url, entry, media, loopback(), controls);
        let customer_id = csr
            .wait_for("connected to the customer", |e| match e {
                Event::Connected(id) => Some(*id),
                _ => None,
            })
            .await;

        // The CSR asks to control one application; the person picks window A and allows it.
        csr.commands
            .send(Command::RequestConsent { to: customer_id, capability: Capability::ControlApplication })
            .await
            .unwrap();
        let (from, request_id) = customer
            .wait_for("the application prompt", |e| match e {
                Event::ConsentPrompt {
                    from, request_id, capability: Capability::ControlApplication, ..
                } => Some((*from, *request_id)),
                _ => None,
            })
            .await;
        let window = Some(WindowId(a));
        customer.commands.send(Command::Decide { from, request_id, allowed: true, window }).await.unwrap();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while selector.get() != ScreenTarget::Window(WindowId(a)) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the screen never showed window A: {:?}",
                selector.get()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // Pictures: A's size and colour; none of B's blue, though B covers a third of A on screen.
        // (A still window is sent once and then refreshed once a second: three pictures.)
        let (mut seen, deadline) = (0, tokio::time::Instant::now() + DEADLINE);
        while seen < 3 {
            let (_, kind, frame) = tokio::time::timeout_at(deadline, pictures.recv())
                .await
                .expect("window A's pictures")
                .unwrap();
            if kind != MediaKind::Screen {
                continue;
            }
            assert_eq!((frame.width, frame.height), (A_SIZE.0 as usize, A_SIZE.1 as usize), "A's size");
            let total = frame.width * frame.height / 4;
            assert_eq!(count_near(&frame, yuv(B_RGB), 40), 0, "B's colour in the shared window's picture");
            let red = count_near(&frame, yuv(A_RGB), 24);
            assert!(red * 100 >= total * 98, "only {red} of {total} samples are A's colour");
            seen += 1;
        }

        // Input: a click where B covers A is dropped; a click on A's visible part lands there.
        let click = |x: f64, y: f64| {
            let at = Point::new(x, y).unwrap();
            [true, false].map(|down| ControlMessage::Button { at, button: MouseButton::Left, down })
        };
        let to_a = |(px, py): (i32, i32)| {
            (
                f64::from(px - i32::from(A_AT.0)) / f64::from(A_SIZE.0),
                f64::from(py - i32::from(A_AT.1)) / f64::from(A_SIZE.1),
            )
        };
        let (cx, cy) = to_a((240, 160));
        for message in click(cx, cy) {
            csr.commands.send(Command::Control { to: customer_id, message }).await.unwrap();
        }
        csr.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
        for message in click(cx, cy) {
            csr.commands.send(Command::Control { to: customer_id, message }).await.unwrap();
        }
        // The press is dropped (B is on top there); its release passes without moving the pointer.
        counted(&counters.dropped, 1, "dropped").await;
        let (vx, vy) = to_a((100, 80));
        for message in click(vx, vy) {
            csr.commands.send(Command::Control { to: customer_id, message }).await.unwrap();
        }
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while pointer(&xvfb.display) != (100, 80) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the click on A never moved the pointer to (100, 80)"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            counters.dropped.load(Relaxed) >= 1 && counters.injected.load(Relaxed) >= 2,
            "dropped {} injected {}",
            counters.dropped.load(Relaxed),
            counters.injected.load(Relaxed)
        );

        // The customer's Stop: the screen shows nothing any more.
        customer.commands.send(Command::StopAll).await.unwrap();
        csr.wait_for("the revoke", |e| {
            matches!(e, Event::Consent { outcome: ConsentOutcome::Revoked, .. }).then_some(())
        })
        .await;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while selector.get() != ScreenTarget::Nothing {
            assert!(tokio::time::Instant::now() < deadline, "the screen still shows {:?}", selector.get());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(customer.commands);
        drop(csr.commands);
        server.shutdown().await.unwrap();
    });
    drop(xvfb);
}
