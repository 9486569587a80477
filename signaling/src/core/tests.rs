//! Deterministic tests of the session core: fixed RNG seed, fake clock.

use std::time::Duration;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use tandem_wire::{
    DisplayName, EndReason, ErrorCode, IceCandidate, IceServer, InviteToken, ParticipantId, ResumeToken,
    Role, Sdp, ServerMessage, SessionNumber, Signal, close_code,
};

use super::*;

const GRACE: Duration = Duration::from_secs(60);

pub(super) struct Harness {
    pub reg: Registry,
    pub now: Timestamp,
}

/// What `create_session` returned.
pub(super) struct Created {
    pub number: SessionNumber,
    pub csr: ParticipantId,
    pub invite: InviteToken,
    pub resume: ResumeToken,
}

pub(super) fn agent(id: i64, name: &str) -> Agent {
    Agent { id: AgentId(id), name: DisplayName::parse(name).unwrap() }
}

pub(super) fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}

fn offer() -> Signal {
    Signal::Offer { sdp: Sdp::parse("v=0\r\n").unwrap() }
}

pub(super) fn sent_to(out: &[Output], conn: ConnId) -> Vec<&ServerMessage> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, msg } if *c == conn => Some(msg),
            _ => None,
        })
        .collect()
}

pub(super) fn error_code(out: &[Output], conn: ConnId) -> Option<ErrorCode> {
    sent_to(out, conn).into_iter().find_map(|m| match m {
        ServerMessage::Error { code, .. } => Some(*code),
        _ => None,
    })
}

/// The error sent to `conn`: code, message and `in_reply_to`.
pub(super) fn error_of(out: &[Output], conn: u64) -> (ErrorCode, String, Option<String>) {
    sent_to(out, ConnId(conn))
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::Error { code, message, in_reply_to } => {
                Some((*code, message.clone(), in_reply_to.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error to {conn} in {out:?}"))
}

pub(super) fn reports(out: &[Output]) -> Vec<&ReportEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Report(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The last participants list sent to `conn`, as (id, role, connected).
fn last_list(out: &[Output], conn: ConnId) -> Option<Vec<(ParticipantId, Role, bool)>> {
    sent_to(out, conn).into_iter().rev().find_map(|m| match m {
        ServerMessage::Participants { participants } => {
            Some(participants.iter().map(|p| (p.id, p.role, p.connected)).collect())
        }
        _ => None,
    })
}

impl Harness {
    pub fn new() -> Self {
        Self::with(CoreConfig { grace: GRACE, max_participants: 4, ..CoreConfig::default() })
    }

    pub fn with(config: CoreConfig) -> Self {
        Self {
            reg: Registry::new(config, StdRng::seed_from_u64(7)),
            now: Timestamp::from_unix_millis(1_700_000_000_000),
        }
    }

    pub fn req(&mut self, conn: u64, request: Request) -> Vec<Output> {
        let out = self.reg.handle(Input::Request { conn: ConnId(conn), request }, self.now);
        self.reg.check_invariants();
        out
    }

    pub fn create(&mut self, conn: u64) -> Created {
        let out = self.req(
            conn,
            Request::CreateSession { agent: agent(1, "Carla CSR"), session_type: None, tracking_code: None },
        );
        match sent_to(&out, ConnId(conn)).first() {
            Some(ServerMessage::SessionCreated {
                session,
                participant_id,
                resume_token,
                invite_token,
                ..
            }) => Created {
                number: session.session_number,
                csr: *participant_id,
                invite: invite_token.clone(),
                resume: resume_token.clone(),
            },
            other => panic!("expected session_created, got {other:?}"),
        }
    }

    /// Joins by number; returns the waiting participant's id.
    pub fn join_lobby(&mut self, conn: u64, number: SessionNumber, who: &str) -> ParticipantId {
        let out =
            self.req(conn, Request::Join { session_number: number, name: name(who), invite_token: None });
        match sent_to(&out, ConnId(conn)).first() {
            Some(ServerMessage::Lobby { participant_id, .. }) => *participant_id,
            other => panic!("expected lobby, got {other:?}"),
        }
    }

    /// Joins with the invite token; returns the participant id and role.
    pub fn join_invited(&mut self, conn: u64, c: &Created, who: &str) -> (ParticipantId, Role) {
        let out = self.req(
            conn,
            Request::Join { session_number: c.number, name: name(who), invite_token: Some(c.invite.clone()) },
        );
        match sent_to(&out, ConnId(conn)).first() {
            Some(ServerMessage::Joined { participant_id, role, .. }) => (*participant_id, *role),
            other => panic!("expected joined, got {other:?}"),
        }
    }

    pub fn disconnect(&mut self, conn: u64) -> Vec<Output> {
        let out = self.reg.handle(Input::Disconnected { conn: ConnId(conn) }, self.now);
        self.reg.check_invariants();
        out
    }

    pub fn advance(&mut self, d: Duration) -> Vec<Output> {
        self.now = self.now.after(d);
        let out = self.reg.handle_timeout(self.now);
        self.reg.check_invariants();
        out
    }
}

#[test]
fn csr_creates_a_session_with_type_and_tracking_code() {
    let mut h = Harness::new();
    let out = h.req(
        1,
        Request::CreateSession {
            agent: agent(1, "Carla"),
            session_type: Some(tandem_wire::Label::parse("Billing").unwrap()),
            tracking_code: Some(tandem_wire::Label::parse("T-42").unwrap()),
        },
    );
    let Some(ServerMessage::SessionCreated { session, invite_token, invite_link, .. }) =
        sent_to(&out, ConnId(1)).first()
    else {
        panic!("{out:?}")
    };
    assert_eq!(session.display_number.len(), 11, "grouped as 123 456 789");
    assert_eq!(session.session_type.as_ref().unwrap().as_str(), "Billing");
    assert_eq!(invite_token.as_str().len(), 22, "128 bits in base64url");
    assert!(invite_link.ends_with(&format!(
        "/join/{}#invite={}",
        session.session_number.to_digits(),
        invite_token.as_str()
    )));
    let r = reports(&out);
    assert!(
        matches!(r[0], ReportEvent::SessionStarted { tracking_code: Some(t), .. } if t.as_str() == "T-42")
    );
    assert!(matches!(
        r[1],
        ReportEvent::ParticipantJoined { role: Role::PrimaryCsr, agent_id: Some(AgentId(1)), .. }
    ));
    assert_eq!(last_list(&out, ConnId(1)).unwrap().len(), 1);
    assert_eq!(h.reg.session_count(), 1);
}

#[test]
fn session_numbers_are_unique_among_live_sessions() {
    let mut h = Harness::new();
    let mut seen = std::collections::HashSet::new();
    for conn in 0..5000 {
        let request =
            Request::CreateSession { agent: agent(1, "Carla"), session_type: None, tracking_code: None };
        // Straight to the registry: checking every invariant after each of 5000 creations is quadratic.
        let out = h.reg.handle(Input::Request { conn: ConnId(conn), request }, h.now);
        let Some(ServerMessage::SessionCreated { session, .. }) =
            sent_to(&out, ConnId(conn)).first().copied()
        else {
            panic!("{out:?}")
        };
        assert!(seen.insert(session.session_number), "duplicate number");
    }
    h.reg.check_invariants();
    assert_eq!(h.reg.session_count(), 5000);
}

#[test]
fn customer_waits_in_lobby_until_admitted() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(2, Request::Join { session_number: c.number, name: name("Ann"), invite_token: None });
    let Some(ServerMessage::Lobby { participant_id: ann, .. }) = sent_to(&out, ConnId(2)).first().copied()
    else {
        panic!("{out:?}")
    };
    let ann = *ann;
    // The CSR sees the lobby; the waiting customer gets no participants list.
    assert_eq!(
        last_list(&out, ConnId(1)).unwrap(),
        vec![(c.csr, Role::PrimaryCsr, true), (ann, Role::Waiting, true)]
    );
    assert!(last_list(&out, ConnId(2)).is_none());
    assert!(reports(&out).is_empty(), "a lobby wait is not a join");
    // Waiting customers cannot signal.
    let out = h.req(2, Request::Relay { to: c.csr, signal: offer() });
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::NotAllowed));

    let out = h.req(1, Request::Admit { participant_id: ann });
    assert!(matches!(sent_to(&out, ConnId(2))[0], ServerMessage::Joined { role: Role::PrimaryCustomer, .. }));
    assert_eq!(last_list(&out, ConnId(2)).unwrap().len(), 2);
    assert!(matches!(reports(&out)[0], ReportEvent::ParticipantJoined { role: Role::PrimaryCustomer, .. }));

    // A second customer admitted is secondary.
    let bob = h.join_lobby(3, c.number, "Bob");
    let out = h.req(1, Request::Admit { participant_id: bob });
    assert!(matches!(
        sent_to(&out, ConnId(3))[0],
        ServerMessage::Joined { role: Role::SecondaryCustomer, .. }
    ));
    // Admitting someone not waiting is refused.
    let out = h.req(1, Request::Admit { participant_id: bob });
    assert_eq!(error_code(&out, ConnId(1)), Some(ErrorCode::UnknownParticipant));
}

#[test]
fn refused_customer_is_removed_and_may_try_again() {
    let mut h = Harness::new();
    let c = h.create(1);
    let ann = h.join_lobby(2, c.number, "Ann");
    let out = h.req(1, Request::Refuse { participant_id: ann });
    assert_eq!(sent_to(&out, ConnId(2)), vec![&ServerMessage::Refused {}]);
    assert_eq!(last_list(&out, ConnId(1)).unwrap(), vec![(c.csr, Role::PrimaryCsr, true)]);
    assert_eq!(h.reg.participant_count(), 1);
    // The connection is free again.
    h.join_lobby(2, c.number, "Ann");
}

#[test]
fn invite_token_admits_directly_and_a_wrong_one_looks_like_no_session() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (_, role) = h.join_invited(2, &c, "Ann");
    assert_eq!(role, Role::PrimaryCustomer);

    let wrong = InviteToken::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let bad_token =
        h.req(3, Request::Join { session_number: c.number, name: name("Eve"), invite_token: Some(wrong) });
    let other =
        SessionNumber::new(if c.number.get() == 111_111_111 { 222_222_222 } else { 111_111_111 }).unwrap();
    let no_session = h.req(4, Request::Join { session_number: other, name: name("Eve"), invite_token: None });
    assert_eq!(error_code(&bad_token, ConnId(3)), Some(ErrorCode::SessionUnavailable));
    assert_eq!(sent_to(&bad_token, ConnId(3)), sent_to(&no_session, ConnId(4)), "identical replies");
}

#[test]
fn assistant_joins_without_control() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(2, Request::Assist { agent: agent(2, "Ana Assist"), session_number: c.number });
    assert!(matches!(sent_to(&out, ConnId(2))[0], ServerMessage::Joined { role: Role::AssistantCsr, .. }));
    let ann = h.join_lobby(3, c.number, "Ann");
    // The assistant sees the lobby but cannot admit, refuse or end.
    for r in [
        Request::Admit { participant_id: ann },
        Request::Refuse { participant_id: ann },
        Request::EndSession { notes: None },
    ] {
        let out = h.req(2, r);
        assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::NotAllowed));
    }
    assert_eq!(h.reg.session_count(), 1);
}

#[test]
fn only_the_primary_csr_ends_the_session() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    h.join_lobby(3, c.number, "Waiting Walt");
    let out = h.req(2, Request::EndSession { notes: None });
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::NotAllowed));
    let out = h.req(3, Request::EndSession { notes: None });
    assert_eq!(error_code(&out, ConnId(3)), Some(ErrorCode::NotAllowed));

    let out = h.req(1, Request::EndSession { notes: None });
    for conn in [1, 2, 3] {
        assert_eq!(
            sent_to(&out, ConnId(conn)),
            vec![&ServerMessage::SessionEnded { reason: EndReason::EndedByCsr }],
            "conn {conn}"
        );
    }
    let r = reports(&out);
    assert_eq!(
        r.iter().filter(|e| matches!(e, ReportEvent::ParticipantLeft { .. })).count(),
        2,
        "the lobby is not reported"
    );
    assert!(matches!(r.last().unwrap(), ReportEvent::SessionEnded { reason: EndReason::EndedByCsr, .. }));
    assert_eq!((h.reg.session_count(), h.reg.participant_count()), (0, 0));
    // Connections are unbound: the customer's next request is not in a session.
    let out = h.req(2, Request::Leave);
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::NotInSession));
}

#[test]
fn relay_reaches_only_the_addressee_in_the_same_session() {
    let mut h = Harness::new();
    let a = h.create(1);
    let (ann, _) = h.join_invited(2, &a, "Ann");
    let (bob, _) = h.join_invited(3, &a, "Bob");
    let b = h.create(10);
    let (zed, _) = h.join_invited(11, &b, "Zed");

    let out = h.req(1, Request::Relay { to: ann, signal: offer() });
    assert_eq!(out.len(), 1, "exactly one delivery: {out:?}");
    assert!(matches!(sent_to(&out, ConnId(2))[0], ServerMessage::Offer { from, .. } if *from == a.csr));

    let cand = Signal::Candidate {
        ice: IceCandidate {
            candidate: tandem_wire::IceText::parse("candidate:1 1 udp 1 127.0.0.1 9 typ host").unwrap(),
            sdp_mid: None,
            sdp_m_line_index: Some(0),
            username_fragment: None,
        },
    };
    let out = h.req(2, Request::Relay { to: bob, signal: cand });
    assert!(matches!(sent_to(&out, ConnId(3))[0], ServerMessage::Candidate { from, .. } if *from == ann));

    // To another session's participant, to oneself, to nobody: one answer, nothing delivered.
    for to in [zed, b.csr, a.csr, ParticipantId::from_raw(42)] {
        let conn = if to == a.csr { 1 } else { 2 };
        let out = h.req(conn, Request::Relay { to, signal: offer() });
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(error_code(&out, ConnId(conn)), Some(ErrorCode::UnknownParticipant));
    }
    // Not joined at all.
    let out = h.req(99, Request::Relay { to: ann, signal: offer() });
    assert_eq!(error_code(&out, ConnId(99)), Some(ErrorCode::NotInSession));
    // To a waiting customer.
    let walt = h.join_lobby(4, a.number, "Walt");
    let out = h.req(1, Request::Relay { to: walt, signal: offer() });
    assert_eq!(error_code(&out, ConnId(1)), Some(ErrorCode::UnknownParticipant));
}

#[test]
fn leaving_customer_is_reported_and_secondary_is_promoted() {
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    let (bob, role) = h.join_invited(3, &c, "Bob");
    assert_eq!(role, Role::SecondaryCustomer);
    let out = h.req(2, Request::Leave);
    assert!(
        matches!(reports(&out)[0], ReportEvent::ParticipantLeft { participant_id, reason: LeaveReason::Left, .. } if *participant_id == ann)
    );
    assert_eq!(
        last_list(&out, ConnId(1)).unwrap(),
        vec![(c.csr, Role::PrimaryCsr, true), (bob, Role::PrimaryCustomer, true)]
    );
    assert_eq!(h.reg.session_count(), 1, "a customer leaving does not end the session");
}

#[test]
fn primary_csr_leaving_ends_the_session() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    let out = h.req(1, Request::Leave);
    assert_eq!(
        sent_to(&out, ConnId(2)),
        vec![&ServerMessage::SessionEnded { reason: EndReason::PrimaryCsrLeft }]
    );
    assert_eq!(h.reg.session_count(), 0);
}

#[test]
fn resume_within_grace_keeps_the_participant_id() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(
        2,
        Request::Join { session_number: c.number, name: name("Ann"), invite_token: Some(c.invite.clone()) },
    );
    let Some(ServerMessage::Joined { participant_id: ann, resume_token, .. }) =
        sent_to(&out, ConnId(2)).first().copied()
    else {
        panic!()
    };
    let (ann, token) = (*ann, resume_token.clone());

    let out = h.disconnect(2);
    assert_eq!(last_list(&out, ConnId(1)).unwrap()[1], (ann, Role::PrimaryCustomer, false));
    assert_eq!(h.reg.poll_timeout(), Some(h.now.after(GRACE)));
    // Messages to a disconnected participant are not delivered.
    let out = h.req(1, Request::Relay { to: ann, signal: offer() });
    assert_eq!(error_code(&out, ConnId(1)), Some(ErrorCode::UnknownParticipant));

    assert!(h.advance(GRACE - Duration::from_millis(1)).is_empty());
    let out = h.req(5, Request::Resume { resume_token: token });
    assert!(
        matches!(sent_to(&out, ConnId(5))[0], ServerMessage::Resumed { participant_id, role: Role::PrimaryCustomer, .. } if *participant_id == ann)
    );
    assert_eq!(last_list(&out, ConnId(1)).unwrap()[1], (ann, Role::PrimaryCustomer, true));
    assert_eq!(h.reg.poll_timeout(), None, "the deadline is gone");
    assert!(h.advance(GRACE).is_empty(), "nothing expires after a resume");
    // The new connection carries the participant.
    let out = h.req(1, Request::Relay { to: ann, signal: offer() });
    assert!(matches!(sent_to(&out, ConnId(5))[0], ServerMessage::Offer { .. }));
}

#[test]
fn customer_removed_when_grace_expires_and_token_dies() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(
        2,
        Request::Join { session_number: c.number, name: name("Ann"), invite_token: Some(c.invite.clone()) },
    );
    let Some(ServerMessage::Joined { resume_token, .. }) = sent_to(&out, ConnId(2)).first().copied() else {
        panic!()
    };
    let token = resume_token.clone();
    h.disconnect(2);
    let out = h.advance(GRACE);
    assert!(matches!(reports(&out)[0], ReportEvent::ParticipantLeft { reason: LeaveReason::TimedOut, .. }));
    assert_eq!(last_list(&out, ConnId(1)).unwrap(), vec![(c.csr, Role::PrimaryCsr, true)]);
    let out = h.req(5, Request::Resume { resume_token: token });
    assert_eq!(error_code(&out, ConnId(5)), Some(ErrorCode::ResumeFailed));
}

#[test]
fn primary_csr_not_back_in_time_ends_the_session() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    h.disconnect(1);
    assert!(h.advance(Duration::from_secs(59)).is_empty());
    let out = h.advance(Duration::from_secs(1));
    assert_eq!(
        sent_to(&out, ConnId(2)),
        vec![&ServerMessage::SessionEnded { reason: EndReason::PrimaryCsrTimedOut }]
    );
    assert!(matches!(
        reports(&out).last().unwrap(),
        ReportEvent::SessionEnded { reason: EndReason::PrimaryCsrTimedOut, .. }
    ));
    let out = h.req(3, Request::Resume { resume_token: c.resume });
    assert_eq!(error_code(&out, ConnId(3)), Some(ErrorCode::ResumeFailed));
}

#[test]
fn primary_csr_resumes_and_the_session_goes_on() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.disconnect(1);
    h.advance(Duration::from_secs(30));
    let out = h.req(7, Request::Resume { resume_token: c.resume });
    assert!(matches!(sent_to(&out, ConnId(7))[0], ServerMessage::Resumed { role: Role::PrimaryCsr, .. }));
    assert!(h.advance(Duration::from_secs(120)).is_empty());
    assert_eq!(h.reg.session_count(), 1);
}

#[test]
fn resume_on_a_new_connection_replaces_a_live_one() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(2, Request::Resume { resume_token: c.resume.clone() });
    assert!(out.contains(&Output::Close { conn: ConnId(1), code: close_code::REPLACED }));
    // The old connection's later disconnect changes nothing.
    let out = h.disconnect(1);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.reg.poll_timeout(), None);
    // A connection already in a session cannot resume another participant.
    let other = h.create(3);
    let out = h.req(2, Request::Resume { resume_token: other.resume });
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::AlreadyInSession));
}

#[test]
fn session_full_and_already_in_session() {
    let mut h = Harness::new(); // max 4 participants
    let c = h.create(1);
    h.join_invited(2, &c, "A");
    h.join_invited(3, &c, "B");
    h.join_lobby(4, c.number, "C");
    let out = h.req(5, Request::Join { session_number: c.number, name: name("D"), invite_token: None });
    assert_eq!(error_code(&out, ConnId(5)), Some(ErrorCode::SessionFull));
    let out = h.req(5, Request::Assist { agent: agent(2, "Ana"), session_number: c.number });
    assert_eq!(error_code(&out, ConnId(5)), Some(ErrorCode::SessionFull));
    let out = h.req(2, Request::Join { session_number: c.number, name: name("A again"), invite_token: None });
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::AlreadyInSession));
    let out = h
        .req(1, Request::CreateSession { agent: agent(1, "Carla"), session_type: None, tracking_code: None });
    assert_eq!(error_code(&out, ConnId(1)), Some(ErrorCode::AlreadyInSession));
}

#[test]
fn unknown_session_for_assist_and_errors_name_the_request() {
    let mut h = Harness::new();
    let out = h.req(
        1,
        Request::Assist { agent: agent(2, "Ana"), session_number: SessionNumber::new(123_456_789).unwrap() },
    );
    assert!(matches!(
        sent_to(&out, ConnId(1))[0],
        ServerMessage::Error { code: ErrorCode::SessionUnavailable, in_reply_to: Some(t), .. } if t == "assist"
    ));
}

#[test]
fn shutdown_ends_every_session_with_a_reason() {
    let mut h = Harness::new();
    let a = h.create(1);
    h.join_invited(2, &a, "Ann");
    h.create(3);
    h.disconnect(3);
    let out = h.reg.handle(Input::Shutdown, h.now);
    for conn in [1, 2] {
        assert_eq!(
            sent_to(&out, ConnId(conn)),
            vec![&ServerMessage::SessionEnded { reason: EndReason::ServerShutdown }]
        );
    }
    assert_eq!(reports(&out).iter().filter(|r| matches!(r, ReportEvent::SessionEnded { .. })).count(), 2);
    assert_eq!(h.reg.poll_timeout(), None);
    assert_eq!((h.reg.session_count(), h.reg.participant_count()), (0, 0));
}

#[test]
fn a_disconnected_waiting_customer_expires_quietly() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_lobby(2, c.number, "Walt");
    h.disconnect(2);
    let out = h.advance(GRACE);
    assert!(reports(&out).is_empty(), "lobby waits are not in reports");
    assert_eq!(last_list(&out, ConnId(1)).unwrap(), vec![(c.csr, Role::PrimaryCsr, true)]);
}

#[test]
fn lobby_changes_reach_only_csrs() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    let out = h.req(3, Request::Join { session_number: c.number, name: name("Walt"), invite_token: None });
    assert!(last_list(&out, ConnId(1)).is_some(), "the CSR sees the lobby change");
    assert!(sent_to(&out, ConnId(2)).is_empty(), "the customer's view did not change: {out:?}");
    let walt = h.reg.handle(Input::Disconnected { conn: ConnId(3) }, h.now);
    assert!(sent_to(&walt, ConnId(2)).is_empty());
}

#[test]
fn a_waiting_customer_resumes_into_the_lobby_and_learns_nothing_more() {
    let mut h = Harness::new();
    let c = h.create(1);
    let out = h.req(2, Request::Join { session_number: c.number, name: name("Walt"), invite_token: None });
    let Some(ServerMessage::Lobby { participant_id, resume_token, .. }) =
        sent_to(&out, ConnId(2)).first().copied()
    else {
        panic!()
    };
    let (walt, token) = (*participant_id, resume_token.clone());
    h.disconnect(2);
    let out = h.req(3, Request::Resume { resume_token: token });
    assert!(
        matches!(sent_to(&out, ConnId(3))[0], ServerMessage::Lobby { participant_id, .. } if *participant_id == walt),
        "{out:?}"
    );
    // Admitting after the resume reaches the new connection.
    let out = h.req(1, Request::Admit { participant_id: walt });
    assert!(matches!(sent_to(&out, ConnId(3))[0], ServerMessage::Joined { .. }));
}

fn notes(s: &str) -> tandem_wire::Notes {
    tandem_wire::Notes::parse(s).unwrap()
}

#[test]
fn csrs_save_notes_into_the_report_and_customers_may_not() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    h.req(3, Request::Assist { agent: agent(2, "Ana Assist"), session_number: c.number });
    h.join_lobby(4, c.number, "Walt");

    h.now = h.now.after(Duration::from_millis(1234));
    let out = h.req(1, Request::SaveNotes { notes: notes("Printer jams on tray 2.\nReplaced roller.") });
    assert_eq!(
        sent_to(&out, ConnId(1)),
        vec![&ServerMessage::NotesSaved { saved_at: h.now.unix_millis() }],
        "the saving CSR, and only they, get the confirmation with the fake clock's time"
    );
    assert!(sent_to(&out, ConnId(2)).is_empty() && sent_to(&out, ConnId(3)).is_empty());
    match reports(&out).as_slice() {
        [ReportEvent::NotesSaved { by, notes, at, .. }] => {
            assert_eq!((*by, *at), (c.csr, h.now));
            assert_eq!(notes.as_str(), "Printer jams on tray 2.\nReplaced roller.");
        }
        other => panic!("expected one NotesSaved event, got {other:?}"),
    }

    // The assistant may save notes too; empty notes clear them.
    let out = h.req(3, Request::SaveNotes { notes: notes("") });
    assert!(matches!(sent_to(&out, ConnId(3))[..], [ServerMessage::NotesSaved { .. }]));
    assert!(
        matches!(reports(&out)[..], [ReportEvent::NotesSaved { notes, .. }] if notes.as_str().is_empty())
    );

    // Customers (in the session or in the lobby) and strangers may not.
    for (conn, code) in [(2, ErrorCode::NotAllowed), (4, ErrorCode::NotAllowed), (9, ErrorCode::NotInSession)]
    {
        let out = h.req(conn, Request::SaveNotes { notes: notes("mine") });
        assert_eq!(error_code(&out, ConnId(conn)), Some(code), "conn {conn}");
        assert!(reports(&out).is_empty(), "nothing reaches the report from conn {conn}");
    }
}

#[test]
fn end_session_with_notes_saves_them_before_the_end() {
    let mut h = Harness::new();
    let c = h.create(1);
    h.join_invited(2, &c, "Ann");
    // A customer's end with notes is refused and saves nothing.
    let out = h.req(2, Request::EndSession { notes: Some(notes("sneaky")) });
    assert_eq!(error_code(&out, ConnId(2)), Some(ErrorCode::NotAllowed));
    assert!(reports(&out).is_empty());

    let out = h.req(1, Request::EndSession { notes: Some(notes("Solved: driver updated.")) });
    let r = reports(&out);
    let saved = r.iter().position(|e| matches!(e, ReportEvent::NotesSaved { .. })).expect("notes saved");
    let ended = r.iter().position(|e| matches!(e, ReportEvent::SessionEnded { .. })).expect("session ended");
    assert!(saved < ended, "notes are written before the session ends: {r:?}");
    assert_eq!(
        sent_to(&out, ConnId(1)),
        vec![
            &ServerMessage::NotesSaved { saved_at: h.now.unix_millis() },
            &ServerMessage::SessionEnded { reason: EndReason::EndedByCsr }
        ]
    );
    assert_eq!(
        sent_to(&out, ConnId(2)),
        vec![&ServerMessage::SessionEnded { reason: EndReason::EndedByCsr }]
    );
}

#[test]
fn invitation_details_only_for_the_sessions_csrs() {
    let mut h = Harness::with(CoreConfig {
        public_url: "https://support.example.com/".into(),
        ..CoreConfig::default()
    });
    let c = h.create(1); // agent 1
    h.req(2, Request::Assist { agent: agent(2, "Ana Assist"), session_number: c.number });
    let d = h.reg.invitation(AgentId(1), c.number).expect("the primary CSR may invite");
    assert_eq!(
        d.invite_link,
        format!("https://support.example.com/join/{}#invite={}", c.number.to_digits(), c.invite.as_str())
    );
    assert_eq!(d.site_url, "https://support.example.com");
    assert!(h.reg.invitation(AgentId(2), c.number).is_some(), "an assistant may invite");
    assert_eq!(h.reg.invitation(AgentId(3), c.number), None, "a CSR of no session may not");
    let other =
        SessionNumber::new(if c.number.get() == 111_111_111 { 222_222_222 } else { 111_111_111 }).unwrap();
    assert_eq!(h.reg.invitation(AgentId(1), other), None, "nor about a session that does not exist");
    h.req(2, Request::Leave);
    assert_eq!(h.reg.invitation(AgentId(2), c.number), None, "an assistant who left may not");
}

#[test]
fn every_participant_gets_their_own_turn_credential_on_create_join_and_resume() {
    let turn: tandem_turn_config::TurnSettings = toml::from_str(
        r#"
        secret = "0123456789abcdef0123"
        stun_urls = ["stun:turn.example.com:3478"]
        udp_urls = ["turn:turn.example.com:3478?transport=udp"]
        tcp_urls = ["turn:turn.example.com:3478?transport=tcp"]
        tls_urls = ["turns:turn.example.com:443?transport=tcp"]
        tls_cert = "/etc/t.pem"
        tls_key = "/etc/t.key"
        "#,
    )
    .unwrap();
    let mut h = Harness::with(CoreConfig {
        turn: Some(turn.validate().unwrap()),
        ice_servers: vec![IceServer {
            urls: vec!["stun:static.example.com".into()],
            username: None,
            credential: None,
        }],
        ..CoreConfig::default()
    });
    let minter = tandem_turn_config::CredentialMinter::new("0123456789abcdef0123", Duration::from_secs(600));
    let expiry = h.now.unix_millis() / 1000 + 600;
    let check = |servers: &[IceServer], pid: ParticipantId| {
        assert_eq!(servers.len(), 3, "static, STUN, TURN: {servers:?}");
        assert_eq!(servers[0].urls, vec!["stun:static.example.com"]);
        assert_eq!(servers[1].urls, vec!["stun:turn.example.com:3478"]);
        assert_eq!(servers[2].urls.len(), 3, "UDP, TCP and TLS");
        let user = servers[2].username.clone().unwrap();
        assert_eq!(user, format!("{expiry}:{pid}"), "per participant, 10 minutes");
        assert_eq!(servers[2].credential.as_deref(), Some(minter.password_for(&user).as_str()));
    };
    let out = h
        .req(1, Request::CreateSession { agent: agent(1, "Carla"), session_type: None, tracking_code: None });
    let Some(ServerMessage::SessionCreated { ice_servers, participant_id, invite_token, session, .. }) =
        sent_to(&out, ConnId(1)).first().copied()
    else {
        panic!("{out:?}")
    };
    check(ice_servers, *participant_id);
    let c = Created {
        number: session.session_number,
        csr: *participant_id,
        invite: invite_token.clone(),
        resume: ResumeToken::parse("x".repeat(22)).unwrap(),
    };
    let out = h.req(
        2,
        Request::Join { session_number: c.number, name: name("Ann"), invite_token: Some(c.invite.clone()) },
    );
    let Some(ServerMessage::Joined { ice_servers, participant_id: ann, resume_token, .. }) =
        sent_to(&out, ConnId(2)).first().copied()
    else {
        panic!("{out:?}")
    };
    check(ice_servers, *ann);
    assert_ne!(*ann, c.csr);
    let (ann, resume_token) = (*ann, resume_token.clone());

    // A resume later gets a fresh credential with a later expiry.
    h.disconnect(2);
    h.now = h.now.after(Duration::from_secs(30));
    let out = h.req(3, Request::Resume { resume_token });
    let Some(ServerMessage::Resumed { ice_servers, .. }) = sent_to(&out, ConnId(3)).first().copied() else {
        panic!("{out:?}")
    };
    assert_eq!(ice_servers[2].username.as_deref(), Some(format!("{}:{ann}", expiry + 30).as_str()));

    // Before the credential expires, the client asks for fresh ones.
    h.now = h.now.after(Duration::from_secs(500));
    let out = h.req(3, Request::RefreshIceServers);
    let Some(ServerMessage::IceServers { ice_servers }) = sent_to(&out, ConnId(3)).first().copied() else {
        panic!("{out:?}")
    };
    check_user(ice_servers, format!("{}:{ann}", expiry + 530));
    // Not from the lobby, nor from outside a session.
    h.join_lobby(4, c.number, "Walt");
    assert_eq!(error_code(&h.req(4, Request::RefreshIceServers), ConnId(4)), Some(ErrorCode::NotAllowed));
    assert_eq!(error_code(&h.req(9, Request::RefreshIceServers), ConnId(9)), Some(ErrorCode::NotInSession));
}

fn check_user(servers: &[IceServer], user: String) {
    assert_eq!(servers.last().and_then(|s| s.username.clone()), Some(user), "{servers:?}");
}

fn path(local: tandem_wire::CandidateType, remote: tandem_wire::CandidateType) -> Path {
    Path { local, remote, protocol: tandem_wire::PathProtocol::Udp }
}

#[test]
fn path_reports_reach_the_csrs_and_the_report_once_per_change() {
    use tandem_wire::CandidateType::{Host, Relay, Srflx};
    let mut h = Harness::new();
    let c = h.create(1);
    let (ann, _) = h.join_invited(2, &c, "Ann");
    h.req(3, Request::Assist { agent: agent(2, "Ana Assist"), session_number: c.number });
    let walt = h.join_lobby(4, c.number, "Walt");
    assert_eq!(h.reg.sessions_by_path(), [1, 0, 0, 0], "unknown before any report");

    let out = h.req(2, Request::PathReport { with: c.csr, path: path(Relay, Srflx) });
    let shown = ServerMessage::PathReported {
        from: ann,
        with: c.csr,
        local: Relay,
        remote: Srflx,
        protocol: tandem_wire::PathProtocol::Udp,
    };
    assert_eq!(sent_to(&out, ConnId(1)), vec![&shown], "the primary CSR sees it");
    assert_eq!(sent_to(&out, ConnId(3)), vec![&shown], "the assistant sees it");
    assert!(sent_to(&out, ConnId(2)).is_empty() && sent_to(&out, ConnId(4)).is_empty(), "customers do not");
    assert!(matches!(
        reports(&out)[..],
        [ReportEvent::PathReported { from, with, path: Path { local: Relay, .. }, .. }] if *from == ann && *with == c.csr
    ));
    assert_eq!(h.reg.sessions_by_path(), [0, 0, 0, 1], "a relayed connection makes a relayed session");

    let again = h.req(2, Request::PathReport { with: c.csr, path: path(Relay, Srflx) });
    assert!(again.is_empty(), "an unchanged path is neither shown nor stored again: {again:?}");
    let out = h.req(1, Request::PathReport { with: ann, path: path(Host, Srflx) });
    assert_eq!(reports(&out).len(), 1);
    assert_eq!(h.reg.sessions_by_path(), [0, 0, 0, 1], "the most indirect path counts");

    for (conn, with, code) in [
        (2, ann, ErrorCode::UnknownParticipant),  // itself
        (2, walt, ErrorCode::UnknownParticipant), // someone in the lobby
        (4, c.csr, ErrorCode::NotAllowed),        // from the lobby
        (9, c.csr, ErrorCode::NotInSession),
    ] {
        let out = h.req(conn, Request::PathReport { with, path: path(Host, Host) });
        assert_eq!(error_code(&out, ConnId(conn)), Some(code), "conn {conn}");
        assert!(reports(&out).is_empty());
    }

    // When Ann leaves, her connections' paths go with her.
    h.req(2, Request::Leave);
    assert_eq!(h.reg.sessions_by_path(), [1, 0, 0, 0]);
}
