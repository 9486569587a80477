//! The CSR shows their own screen (SHR-3) and lets the customer control it
//! (SHR-4), from the native peer: the CSR's session offers `share_view` /
//! `share_control` to every customer (`Command::Share`, the command line's
//! `/share view` and `/share control`), confirmed first by the CSR on their
//! own screen (`Event::ConfirmOffer`); then the customer's person answers. The
//! CSR's screen reaches the customer only after their yes; the customer's
//! clicks land on the CSR's X display (Xvfb, logged by `xev`) only while
//! `share_control` is accepted; the CSR's Stop ends both. Prompts name the
//! CSR with the organisation the site is configured with.

mod common;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::xev::Xev;
use common::xvfb::start_xvfb;
use common::*;
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::{Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::VideoSource;
use tandem_peer::video::test_pattern::{TestPattern, mismatched_blocks};
use tandem_wire::channels::{Capability, ControlMessage, MouseButton, Point};
use tandem_wire::{ConsentOutcome, DisplayName, ParticipantId};

/// The customer's person answers the next share prompt for `capability`.
async fn answer_share(
    customer: &mut Peer,
    capability: Capability,
    allowed: bool,
) -> (ParticipantId, tandem_wire::channels::RequestId) {
    let (from, request_id, name) = customer
        .wait_for("the share prompt", |e| match e {
            Event::ConsentPrompt { from, request_id, name, capability: c } if *c == capability => {
                Some((*from, *request_id, name.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(name, "carla (Example Support)", "the prompt names the CSR and their organisation");
    customer.commands.send(Command::Decide { from, request_id, allowed, window: None }).await.unwrap();
    (from, request_id)
}

/// The CSR offers `capability` to every customer and confirms it on their own screen
/// (`confirmed`): only a confirmed offer reaches the customer.
async fn offer(csr: &mut Peer, capability: Capability, confirmed: bool) -> tandem_wire::channels::RequestId {
    csr.commands.send(Command::Share { capability }).await.unwrap();
    let (to, request_id, name) = csr
        .wait_for("the CSR's own confirmation", |e| match e {
            Event::ConfirmOffer { to, request_id, name, capability: c } if *c == capability => {
                Some((*to, *request_id, name.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(name, "Dana", "the confirmation names the customer");
    csr.commands
        .send(Command::Decide { from: to, request_id, allowed: confirmed, window: None })
        .await
        .unwrap();
    request_id
}

async fn click(customer: &Peer, csr: ParticipantId, x: f64, y: f64) {
    let at = Point::new(x, y).unwrap();
    for down in [true, false] {
        let message = ControlMessage::Button { at, button: MouseButton::Left, down };
        customer.commands.send(Command::Control { to: csr, message }).await.unwrap();
    }
}

/// Waits until the CSR's session has counted `n` control messages as `which`.
async fn counted(counter: &std::sync::atomic::AtomicU64, n: u64, which: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while counter.load(Relaxed) < n {
        assert!(tokio::time::Instant::now() < deadline, "the CSR never {which} {n} control messages");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn the_csr_shows_their_screen_and_lets_the_customer_control_it_only_after_the_yes() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    // The site names its organisation: prompts name the CSR with it.
    let (server, _dir) =
        start_server_with(|c| c.organisation = Some(DisplayName::parse("Example Support").unwrap())).await;
    let url = server.url.clone();

    // The CSR's machine: a test-pattern screen, input from those it lets control it goes to Xvfb.
    let (screen, _pipeline) = video_feed(
        MediaKind::Screen,
        Box::new(|| Ok(Box::new(TestPattern::new(320, 240)) as Box<dyn VideoSource>)),
    );
    let (controls, counters) = x11_controls(&xvfb.display);
    let media = Media { feeds: vec![screen], video_sinks: None, audio_sinks: None };
    let (mut csr, number, invite) = start_session_controlled(&url, media, loopback(), controls).await;

    // The customer joins and only receives.
    let (customer_media, mut pictures) = receiving(None);
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let name = DisplayName::parse("Dana").unwrap();
    let mut customer = spawn_peer_with(&url, Entry::Customer { target, name }, customer_media);
    let csr_id = customer
        .wait_for("connected to the CSR", |e| match e {
            Event::Connected(id) => Some(*id),
            _ => None,
        })
        .await;
    csr.wait_for("connected", |e| matches!(e, Event::Connected(_)).then_some(())).await;

    // Share view: the CSR thinks better of it on their own screen — the customer is never
    // asked; then the customer denies — nothing of the CSR's screen arrives; then allows — it does.
    offer(&mut csr, Capability::ShareView, false).await;
    csr.wait_for("the CSR's own no", |e| {
        matches!(e, Event::Consent { outcome: ConsentOutcome::Denied, incoming: false, .. }).then_some(())
    })
    .await;
    let confirmed = offer(&mut csr, Capability::ShareView, true).await;
    let (_, asked) = answer_share(&mut customer, Capability::ShareView, false).await;
    assert_eq!(asked, confirmed, "the customer's first question is the confirmed offer");
    csr.wait_for("the refusal", |e| {
        matches!(e, Event::Consent { outcome: ConsentOutcome::Denied, incoming: false, .. }).then_some(())
    })
    .await;
    offer(&mut csr, Capability::ShareView, true).await;
    answer_share(&mut customer, Capability::ShareView, true).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let picture = loop {
        let (from, kind, frame) =
            tokio::time::timeout_at(deadline, pictures.recv()).await.expect("the CSR's screen").unwrap();
        if kind == MediaKind::Screen {
            assert_eq!(from, csr_id);
            break frame;
        }
    };
    assert!(mismatched_blocks(&picture, 16).is_empty(), "the CSR's test pattern, decoded");

    // Before share_control, the customer's clicks are dropped; the control channels open with them.
    click(&customer, csr_id, 0.5, 0.5).await;
    customer.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
    click(&customer, csr_id, 0.5, 0.5).await;
    counted(&counters.dropped, 2, "dropped").await;

    // Share control, accepted: a click a quarter across and half down lands on (160, 240).
    offer(&mut csr, Capability::ShareControl, true).await;
    answer_share(&mut customer, Capability::ShareControl, true).await;
    csr.wait_for("the acceptance", |e| {
        matches!(
            e,
            Event::Consent {
                capability: Capability::ShareControl,
                outcome: ConsentOutcome::Allowed,
                incoming: false,
                ..
            }
        )
        .then_some(())
    })
    .await;
    click(&customer, csr_id, 0.25, 0.5).await;
    xev.wait_for("root:(160,240)").await;
    let injected = counters.injected.load(Relaxed);
    assert!(injected >= 2, "the click was injected ({injected})");

    // The CSR's Stop ends view and control: the customer learns, its clicks are dropped again.
    let dropped_before = counters.dropped.load(Relaxed);
    csr.commands.send(Command::StopAll).await.unwrap();
    for _ in 0..2 {
        customer
            .wait_for("the share stopped", |e| {
                matches!(e, Event::Consent { outcome: ConsentOutcome::Stopped, incoming: true, .. })
                    .then_some(())
            })
            .await;
    }
    click(&customer, csr_id, 0.9, 0.9).await;
    counted(&counters.dropped, dropped_before + 2, "dropped").await;
    assert_eq!(xev.text().matches("ButtonPress").count(), 1, "only the allowed click reached the X display");

    drop(customer.commands);
    drop(csr.commands);
    server.shutdown().await.unwrap();
    drop(xvfb);
}
