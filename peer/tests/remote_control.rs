//! Remote control through the whole native path (issue 6): a CSR's native
//! peer asks a native customer for control over the `consent` channel; the
//! customer's person answers (here the test, through the session's commands);
//! input then crosses the `control` channel and is injected on the customer's
//! X display (Xvfb, logged by `xev`). Input before consent, after a deny,
//! after a revoke, after an unanswered prompt timed out (30 s) and from a
//! controller that dropped and came back without asking again is never
//! injected; consent decisions reach both sides.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use common::xev::Xev;
use common::xvfb::start_xvfb;
use common::*;
use tandem_peer::consent::PROMPT_TIMEOUT;
use tandem_peer::media::Media;
use tandem_peer::session::{Command, Event, InputCounters};
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_wire::channels::{Capability, ControlMessage, MouseButton, Point};
use tandem_wire::{ConsentOutcome, DisplayName, InviteToken, ParticipantId, SessionNumber};

/// Waits until the customer's session has dropped `n` control messages in all (the `control`
/// channel and the `consent` channel are not ordered with each other).
async fn dropped(counters: &InputCounters, n: u64) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while counters.dropped.load(Relaxed) < n {
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

/// The customer's machine: joins by the invite, and injects what it allows on `display`.
async fn join_customer(
    url: &str,
    number: SessionNumber,
    invite: InviteToken,
    display: &str,
) -> (Peer, ParticipantId, Arc<InputCounters>) {
    let (controls, counters) = x11_controls(display);
    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let entry = Entry::Customer { target, name: DisplayName::parse("Dana").unwrap() };
    let mut customer = spawn_peer_controlled(url, entry, Media::default(), loopback(), controls);
    let customer_id = customer
        .wait_for("joined", |e| match e {
            Event::Joined { me, .. } => Some(*me),
            _ => None,
        })
        .await;
    (customer, customer_id, counters)
}

/// Like [`Peer::wait_for`], with a deadline of `within`.
async fn wait_longer<T>(
    peer: &mut Peer,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, peer.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {within:?}"))
            .unwrap_or_else(|| panic!("session ended before {what}"));
        if let Some(t) = pick(&event) {
            return t;
        }
    }
}

/// A CSR signs in and assists in session `number`, as a controller; waits until connected to `customer`.
async fn assist(url: &str, number: SessionNumber, customer: ParticipantId) -> (Peer, ParticipantId) {
    let tls = tandem_peer::tls::client_config(&[]).unwrap();
    let token = tandem_peer::signaling::sign_in_trusting(url, "carla", PASSWORD, tls).await.unwrap();
    let mut peer = spawn_peer(url, Entry::Assist { token, number });
    let me = peer
        .wait_for("assisting", |e| match e {
            Event::Joined { me, .. } => Some(*me),
            _ => None,
        })
        .await;
    peer.wait_for("connected to the customer", |e| {
        matches!(e, Event::Connected(id) if *id == customer).then_some(())
    })
    .await;
    (peer, me)
}

/// The ButtonPress lines xev logged, for messages.
fn press_lines(xev: &Xev) -> Vec<String> {
    xev.text().lines().filter(|l| l.contains("root:(")).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_needs_the_customers_yes_and_ends_when_they_stop_it() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    let (server, _dir) = start_server().await;
    let url = server.url.clone();
    let (mut csr, number, invite) = start_session(&url, Media::default(), loopback()).await;

    // The customer's machine: input goes to its X display.
    let (mut customer, customer_id, counters) = join_customer(&url, number, invite, &xvfb.display).await;
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
    assert_eq!(counters.injected.load(Relaxed), 4, "two clicks, down and up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_nobody_answers_for_30_seconds_is_a_no() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    let (server, _dir) = start_server().await;
    let (mut csr, number, invite) = start_session(&server.url, Media::default(), loopback()).await;
    let (mut customer, customer_id, counters) =
        join_customer(&server.url, number, invite, &xvfb.display).await;
    csr.wait_for("connected", |e| matches!(e, Event::Connected(_)).then_some(())).await;

    // The CSR asks; the prompt shows; nobody answers.
    let asked = Instant::now();
    csr.commands
        .send(Command::RequestConsent { to: customer_id, capability: Capability::ControlDesktop })
        .await
        .unwrap();
    let (from, request_id) = customer
        .wait_for("the consent prompt", |e| match e {
            Event::ConsentPrompt { from, request_id, capability: Capability::ControlDesktop, .. } => {
                Some((*from, *request_id))
            }
            _ => None,
        })
        .await;
    let within = PROMPT_TIMEOUT + DEADLINE;
    let closed = wait_longer(&mut customer, within, "the prompt withdrawn", |e| match e {
        Event::ConsentPromptClosed { from: f, request_id: r } => Some((*f, *r)),
        _ => None,
    })
    .await;
    assert_eq!(closed, (from, request_id), "the unanswered prompt is taken off the screen");
    let recorded = customer
        .wait_for("the customer's record", |e| match e {
            Event::Consent { incoming: true, capability: Capability::ControlDesktop, outcome, .. } => {
                Some(*outcome)
            }
            _ => None,
        })
        .await;
    assert_eq!(recorded, ConsentOutcome::TimedOut, "recorded as timed out for the report");
    let answer = wait_longer(&mut csr, within, "the CSR's answer", |e| match e {
        Event::Consent { incoming: false, outcome, .. } => Some(*outcome),
        _ => None,
    })
    .await;
    assert_eq!(answer, ConsentOutcome::Denied, "the CSR hears a no");
    // A lower bound only: the timer cannot fire early, however slow the machine.
    assert!(asked.elapsed() >= PROMPT_TIMEOUT, "denied after {:?}, before the 30 s were up", asked.elapsed());

    // The CSR's input after the timeout is dropped, never injected.
    send_clicks(&csr, customer_id, 0.5, 0.5).await;
    csr.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
    send_clicks(&csr, customer_id, 0.75, 0.75).await;
    dropped(&counters, 2).await;

    // A late answer to the expired prompt changes nothing.
    customer.commands.send(Command::Decide { from, request_id, allowed: true, window: None }).await.unwrap();
    send_clicks(&csr, customer_id, 0.5, 0.25).await;
    dropped(&counters, 4).await;

    // Marker: asked again and allowed, a click at the origin lands; it is the only one.
    ask_control(&mut csr, &mut customer, customer_id, true).await;
    send_clicks(&csr, customer_id, 0.0, 0.0).await;
    xev.wait_for("root:(0,0)").await;
    assert_eq!(xev.count("ButtonPress"), 1, "only the marker was injected:\n{:#?}", press_lines(&xev));
    assert_eq!(counters.injected.load(Relaxed), 2, "the marker, down and up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_that_drops_and_comes_back_must_ask_again() {
    let xvfb = start_xvfb("640x480x24");
    let xev = Xev::start(&xvfb.display, 640, 480);
    // A short grace period: the dropped controller's place is given up within the test.
    let (server, _dir) = start_server_with(|c| c.session.grace_secs = 2).await;
    let url = server.url.clone();
    let (mut csr, number, invite) = start_session(&url, Media::default(), loopback()).await;
    let (mut customer, customer_id, counters) = join_customer(&url, number, invite, &xvfb.display).await;
    csr.wait_for("connected", |e| matches!(e, Event::Connected(_)).then_some(())).await;
    // The session's owner stays but is not under test: its events are drained.
    let Peer { commands: _owner, events: mut owner_events, task: _owner_task } = csr;
    tokio::spawn(async move { while owner_events.recv().await.is_some() {} });

    // A second CSR (the controller) assists, is allowed control, and clicks.
    let (mut first, first_id) = assist(&url, number, customer_id).await;
    // Its first input opens the control channels (and goes nowhere: they are not open yet).
    send_clicks(&first, customer_id, 0.5, 0.5).await;
    first.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
    ask_control(&mut first, &mut customer, customer_id, true).await;
    send_clicks(&first, customer_id, 0.25, 0.5).await;
    xev.wait_for("root:(160,240)").await;

    // Its session drops (no leave: the process is gone) and it comes back: a new participant.
    first.task.abort();
    let _ = first.task.await;
    drop((first.commands, first.events));
    let (mut second, second_id) = assist(&url, number, customer_id).await;
    assert_ne!(second_id, first_id);

    // Its input, with no new consent, is dropped and counted; also once the old place is gone.
    let before = counters.dropped.load(Relaxed);
    send_clicks(&second, customer_id, 0.5, 0.5).await;
    second.wait_for("control channels", |e| matches!(e, Event::ControlReady(_)).then_some(())).await;
    send_clicks(&second, customer_id, 0.75, 0.75).await;
    dropped(&counters, before + 2).await;
    let gone = customer
        .wait_for("the old grant ends with the old place", |e| match e {
            Event::Consent {
                with, capability: Capability::ControlDesktop, incoming: true, outcome, ..
            } if *with == first_id && *outcome != ConsentOutcome::Allowed => Some(*outcome),
            _ => None,
        })
        .await;
    assert_eq!(gone, ConsentOutcome::Gone);
    send_clicks(&second, customer_id, 0.9, 0.9).await;
    dropped(&counters, before + 4).await;

    // Marker: asked again and allowed, a click at the origin lands after the first grant's click only.
    ask_control(&mut second, &mut customer, customer_id, true).await;
    send_clicks(&second, customer_id, 0.0, 0.0).await;
    xev.wait_for("root:(0,0)").await;
    assert_eq!(
        xev.count("ButtonPress"),
        2,
        "only the first grant's click and the marker were injected:\n{:#?}",
        press_lines(&xev)
    );
    for never in ["root:(320,240)", "root:(479,359)", "root:(575,431)"] {
        assert!(!xev.text().contains(never), "{never} was injected without consent");
    }
    assert_eq!(counters.injected.load(Relaxed), 4, "two granted clicks, down and up");
}
