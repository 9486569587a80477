//! Deterministic tests of `consent_record` and `report_participant` in the
//! session core (the harness is the one of `tests.rs`).

use std::time::Duration;

use tandem_wire::channels::Capability;
use tandem_wire::{ClientMessage, ConsentOutcome, ErrorCode, ParticipantId};

use super::tests::{Harness, error_code, error_of, name, reports};
use super::*;

fn consent(with: ParticipantId, capability: Capability, incoming: bool, outcome: ConsentOutcome) -> Request {
    Request::ConsentRecord { with, capability, direction: ConsentDirection::from_incoming(incoming), outcome }
}

/// The consent records among the outputs.
fn records(out: &[Output]) -> Vec<&ConsentRecord> {
    reports(out)
        .into_iter()
        .filter_map(|r| match r {
            ReportEvent::ConsentRecorded { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

/// The participant reports among the outputs.
fn flags(out: &[Output]) -> Vec<&ParticipantReport> {
    reports(out)
        .into_iter()
        .filter_map(|r| match r {
            ReportEvent::ParticipantReported { report, .. } => Some(report),
            _ => None,
        })
        .collect()
}

#[test]
fn the_wire_flag_incoming_becomes_a_direction() {
    let with = ParticipantId::from_raw(9);
    for (incoming, direction) in [(true, ConsentDirection::Incoming), (false, ConsentDirection::Outgoing)] {
        let msg = ClientMessage::ConsentRecord {
            with,
            capability: Capability::ShareView,
            incoming,
            outcome: ConsentOutcome::Stopped,
        };
        match Request::from_client(msg, |_| None) {
            Ok(Some(Request::ConsentRecord { with: w, direction: d, .. })) => {
                assert_eq!((w, d), (with, direction));
            }
            other => panic!("expected a consent record, got {other:?}"),
        }
    }
    let msg = ClientMessage::ReportParticipant { about: with };
    assert!(matches!(
        Request::from_client(msg, |_| None),
        Ok(Some(Request::ReportParticipant { about })) if about == with
    ));
}

#[test]
fn consent_decisions_are_recorded_in_order_with_names_and_server_time() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let started = h.now;

    let out = h.req(2, consent(c.csr, Capability::ControlDesktop, true, ConsentOutcome::Allowed));
    let expected = ConsentRecord {
        seq: 0,
        at: started,
        from: ann,
        from_name: name("Ann"),
        with: c.csr,
        with_name: name("Carla CSR"),
        capability: Capability::ControlDesktop,
        direction: ConsentDirection::Incoming,
        outcome: ConsentOutcome::Allowed,
    };
    assert_eq!(records(&out), vec![&expected]);
    assert!(out.iter().all(|o| matches!(o, Output::Report(_))), "no reply to anyone: {out:?}");
    assert_eq!(expected.text(), "Carla CSR asked to control Ann's desktop: allowed by Ann (recorded by Ann)");

    h.now = h.now.after(Duration::from_secs(5));
    let out = h.req(2, consent(c.csr, Capability::ControlDesktop, true, ConsentOutcome::Revoked));
    let revoked = records(&out)[0];
    assert_eq!((revoked.seq, revoked.at, revoked.outcome), (1, h.now, ConsentOutcome::Revoked));
    assert_eq!(revoked.text(), "Carla CSR asked to control Ann's desktop: revoked by Ann (recorded by Ann)");

    // The CSR records its own side: it asked Ann to look at its screen, then stopped.
    let out = h.req(1, consent(ann, Capability::ShareView, false, ConsentOutcome::Stopped));
    let stopped = records(&out)[0];
    assert_eq!((stopped.seq, stopped.from, stopped.with), (2, c.csr, ann));
    assert_eq!(
        stopped.text(),
        "Carla CSR asked to show their own screen to Ann: stopped by Carla CSR (recorded by Carla CSR)"
    );
}

#[test]
fn consent_records_from_outside_or_about_strangers_are_refused() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let wendy = h.join_lobby(3, c.number, "Wendy");
    let other = h.create(5);
    let allowed = |with| consent(with, Capability::ViewDesktop, true, ConsentOutcome::Allowed);

    let out = h.req(9, allowed(c.csr));
    assert_eq!((error_code(&out, ConnId(9)), records(&out).len()), (Some(ErrorCode::NotInSession), 0));
    // From the lobby, even about the CSR.
    let out = h.req(3, allowed(c.csr));
    assert_eq!((error_code(&out, ConnId(3)), records(&out).len()), (Some(ErrorCode::NotAllowed), 0));
    for (with, why) in [
        (ann, "the sender itself"),
        (wendy, "someone waiting in the lobby"),
        (other.csr, "a participant of another session"),
        (ParticipantId::from_raw(0x5eed), "nobody"),
    ] {
        let out = h.req(2, allowed(with));
        assert_eq!(records(&out).len(), 0, "{why}");
        let (code, _, in_reply_to) = error_of(&out, 2);
        assert_eq!(
            (code, in_reply_to.as_deref()),
            (ErrorCode::UnknownParticipant, Some("consent_record")),
            "{why}"
        );
    }
    // Refusals do not use up sequence numbers.
    let out = h.req(2, allowed(c.csr));
    assert_eq!(records(&out)[0].seq, 0);
}

#[test]
fn a_decision_about_someone_who_left_still_names_them() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (bob, _) = h.join_invited(2, &c, "Bob");
    h.join_invited(3, &c, "Ann");
    h.req(2, Request::Leave);

    let out = h.req(3, consent(bob, Capability::ViewApplication, true, ConsentOutcome::Gone));
    let gone = records(&out)[0];
    assert_eq!((gone.with, gone.with_name.as_str()), (bob, "Bob"));
    assert_eq!(
        gone.text(),
        "Bob asked to view one application of Ann's: ended: a participant left or reconnected (recorded by Ann)"
    );
    let out = h.req(3, Request::ReportParticipant { about: bob });
    assert_eq!(flags(&out)[0].about_name.as_str(), "Bob");
}

#[test]
fn the_consent_log_of_a_session_is_capped() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    for i in 0..MAX_CONSENT_RECORDS {
        let out = h.req(2, consent(c.csr, Capability::ViewDesktop, true, ConsentOutcome::Denied));
        assert_eq!(records(&out)[0].seq, i);
    }
    let out = h.req(2, consent(c.csr, Capability::ViewDesktop, true, ConsentOutcome::Denied));
    assert_eq!(records(&out).len(), 0, "the 1001st is not stored");
    let (code, message, in_reply_to) = error_of(&out, 2);
    assert_eq!((code, in_reply_to.as_deref()), (ErrorCode::NotAllowed, Some("consent_record")));
    assert!(message.contains("consent records (1000)"), "{message}");
    // The CSR is refused too: the cap is per session.
    let out = h.req(1, consent(ann, Capability::ShareView, false, ConsentOutcome::Stopped));
    assert_eq!(error_code(&out, ConnId(1)), Some(ErrorCode::NotAllowed));
    // Another session has its own log.
    let d = h.create(5);
    let (_, _) = h.join_invited(6, &d, "Zoe");
    let out = h.req(6, consent(d.csr, Capability::ViewDesktop, true, ConsentOutcome::Allowed));
    assert_eq!(records(&out)[0].seq, 0);
}

#[test]
fn participant_reports_flag_the_session_once_per_pair() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let wendy = h.join_lobby(3, c.number, "Wendy");

    let out = h.req(2, Request::ReportParticipant { about: c.csr });
    let expected = ParticipantReport {
        at: h.now,
        by: ann,
        by_name: name("Ann"),
        about: c.csr,
        about_name: name("Carla CSR"),
    };
    assert_eq!(flags(&out), vec![&expected]);
    assert_eq!(expected.text(), "Ann reported Carla CSR");
    assert!(out.iter().all(|o| matches!(o, Output::Report(_))), "no reply: {out:?}");
    // The same pair again: accepted, nothing new stored.
    h.now = h.now.after(Duration::from_secs(1));
    let out = h.req(2, Request::ReportParticipant { about: c.csr });
    assert!(out.is_empty(), "{out:?}");
    // The other way round is a report of its own.
    let out = h.req(1, Request::ReportParticipant { about: ann });
    assert_eq!((flags(&out)[0].by, flags(&out)[0].about), (c.csr, ann));

    let out = h.req(9, Request::ReportParticipant { about: ann });
    assert_eq!(error_code(&out, ConnId(9)), Some(ErrorCode::NotInSession));
    let out = h.req(3, Request::ReportParticipant { about: c.csr });
    assert_eq!(error_code(&out, ConnId(3)), Some(ErrorCode::NotAllowed), "not from the lobby");
    for about in [ann, wendy, ParticipantId::from_raw(1)] {
        let out = h.req(2, Request::ReportParticipant { about });
        let (code, _, in_reply_to) = error_of(&out, 2);
        assert_eq!(
            (code, in_reply_to.as_deref()),
            (ErrorCode::UnknownParticipant, Some("report_participant"))
        );
        assert!(flags(&out).is_empty());
    }
}

#[test]
fn participant_reports_of_a_session_are_capped() {
    let mut h = Harness::with(CoreConfig { max_participants: 16, ..CoreConfig::default() });
    let c = h.create(1);
    let mut people = vec![(1, c.csr)];
    for conn in 2..=12 {
        let (pid, _) = h.join_invited(conn, &c, &format!("Customer {conn}"));
        people.push((conn, pid));
    }
    let pairs: Vec<_> = people
        .iter()
        .flat_map(|&(conn, by)| people.iter().map(move |&(_, about)| (conn, by, about)))
        .collect();
    let mut stored = 0;
    for &(conn, by, about) in pairs.iter().filter(|(_, by, about)| by != about) {
        let out = h.req(conn, Request::ReportParticipant { about });
        if stored < MAX_PARTICIPANT_REPORTS {
            assert_eq!(flags(&out).len(), 1, "report {stored} of {by} about {about}");
            stored += 1;
        } else {
            assert!(flags(&out).is_empty());
            let (code, message, _) = error_of(&out, conn);
            assert_eq!(code, ErrorCode::NotAllowed);
            assert!(message.contains("participant reports (100)"), "{message}");
        }
    }
    assert_eq!(stored, 100);
    // A pair reported before the cap is still accepted silently.
    let (conn, _, about) = pairs[1];
    assert!(h.req(conn, Request::ReportParticipant { about }).is_empty());
}
