//! Remote control through the whole native path (issue 6): a CSR's native
//! peer asks a native customer for control over the `consent` channel; the
//! customer's person answers (here the test, through the session's commands);
//! input then crosses the `control` channel and is injected on the customer's
//! X display (Xvfb, logged by `xev`). Input before consent, after a deny and
//! after a revoke is never injected; consent decisions reach both sides.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::xev::Xev;
use common::xvfb::start_xvfb;
use common::*;
use tandem_peer::control::x11::{X11Injector, desktop_surface};
use tandem_peer::media::Media;
use tandem_peer::session::{self, Command, Controls, Event, InputCounters, InputTarget};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_wire::channels::{Capability, ControlMessage, MouseButton, Point};
use tandem_wire::{ConsentOutcome, DisplayName, ParticipantId};
use tokio::sync::mpsc;

/// Waits until the customer's session has dropped `n` control messages in all (the `control`
/// channel and the `consent` channel are not ordered with each other).
async fn dropped(counters: &InputCounters, n: u64) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while counters.dropped.load(std::sync::atomic::Ordering::Relaxed) < n {
        assert!(tokio::time::Instant::now() < deadline, "the customer never dropped {n} control messages");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn click(x: f64, y: f64) -> [ControlMessage; 2] {
    let at = Point::new(x, y).unwrap();
    [true, false].map(|down| ControlMessage::Button { at, button: MouseButton::Left, down })
}

async fn send_clicks(csr: &Peer, to: ParticipantId, x: f64, y: f64) {
    for message in click(x, y) {
        csr.commands.send(Command::Control { to, message }).await.unwrap();
    }
}

/// The CSR asks for control; the customer's person answers `allowed`; both sides see the outcome.
async fn ask_control(csr: &mut Peer, customer: &mut Peer, customer_id: ParticipantId, allowed: bool) {
    csr.commands
        .send(Command::RequestConsent { to: customer_id, capability: Capability::ControlDesktop })
        .await
        .unwrap();
    let (from, request_id, name) = customer
        .wait_for("the consent prompt", |e| match e {
            Event::ConsentPrompt { from, request_id, name, capability: Capability::ControlDesktop } => {
                Some((*from, *request_id, name.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(name, "carla", "the prompt names the CSR as the server knows them");
    customer.commands.send(Command::Decide { from, request_id, allowed, window: None }).await.unwrap();
    let want = if allowed { ConsentOutcome::Allowed } else { ConsentOutcome::Denied };
    let outcome = csr
        .wait_for("the decision", |e| match e {
            Event::Consent { outcome, incoming: false, .. } => Some(*outcome),
            _ => None,
        })
        .await;
    assert_eq!(outcome, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_needs_the_customers_yes_and_ends_when_they_stop_it() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    let (server, _dir) = start_server().await;
    let url = server.url.clone();
    let (mut csr, number, invite) = start_session(&url, Media::default(), loopback()).await;

    // The customer's machine: input goes to its X display.
    let counters = Arc::new(InputCounters::default());
    let controls = Controls {
        policy: Default::default(),
        counters: counters.clone(),
        input: Some(InputTarget {
            injector: X11Injector::start(Some(xvfb.display.clone())).unwrap(),
            surface: desktop_surface(Some(&xvfb.display)).unwrap(),
        }),
    };
    let (command_tx, command_rx) = mpsc::channel(8);
    let (event_tx, events) = mpsc::channel(64);
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let entry = Entry::Customer { target, name: DisplayName::parse("Dana").unwrap() };
    let task = tokio::spawn(async move {
        session::run_with(&url, entry, loopback(), Media::default(), controls, command_rx, event_tx).await
    });
    let mut customer = Peer { commands: command_tx, events, task };
    let customer_id = customer
        .wait_for("joined", |e| match e {
            Event::Joined { me, .. } => Some(*me),
            _ => None,
        })
        .await;
    csr.wait_for("connected", |e| matches!(e, Event::Connected(_)).then_some(())).await;

    // The control channels open (the CSR's first input opens them); input before consent is dropped.
    send_clicks(&csr, customer_id, 0.5, 0.5).await;
    csr.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
    send_clicks(&csr, customer_id, 0.5, 0.5).await;
    dropped(&counters, 2).await;

    // Denied: still nothing.
    ask_control(&mut csr, &mut customer, customer_id, false).await;
    send_clicks(&csr, customer_id, 0.75, 0.75).await;
    dropped(&counters, 4).await;

    // Allowed: a click a quarter across and half down lands on (160, 240) of the customer's screen.
    ask_control(&mut csr, &mut customer, customer_id, true).await;
    send_clicks(&csr, customer_id, 0.25, 0.5).await;
    xev.wait_for("root:(160,240)").await;

    // The customer stops it: the CSR learns, and its next clicks are dropped.
    customer.commands.send(Command::StopAll).await.unwrap();
    let outcome = csr
        .wait_for("the revoke", |e| match e {
            Event::Consent { outcome: ConsentOutcome::Revoked, .. } => Some(()),
            _ => None,
        })
        .await;
    let () = outcome;
    send_clicks(&csr, customer_id, 0.9, 0.9).await;
    dropped(&counters, 6).await;

    // A marker: allowed again, a click at the origin. The control channel is ordered, so once
    // the marker is on screen every click sent before it has been decided on.
    ask_control(&mut csr, &mut customer, customer_id, true).await;
    send_clicks(&csr, customer_id, 0.0, 0.0).await;
    xev.wait_for("root:(0,0)").await;
    let log = xev.text();
    let presses: Vec<&str> = log.lines().filter(|l| l.contains("root:(")).collect();
    assert_eq!(
        log.matches("ButtonPress").count(),
        2,
        "only the two granted clicks were injected (not before consent, after a deny or after the revoke):\n{presses:#?}"
    );
    for never in ["root:(320,240)", "root:(479,359)", "root:(575,431)"] {
        assert!(!log.contains(never), "{never} was injected without consent");
    }
    assert_eq!(counters.injected.load(std::sync::atomic::Ordering::Relaxed), 4, "two clicks, down and up");
}
