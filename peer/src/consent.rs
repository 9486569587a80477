//! Consent (SHR-1..8): who may see or control this machine's screen, decided
//! here, by the person at this machine. A pure state machine: messages from
//! the `consent` channel, the local person's answers and the clock go in;
//! what to send, what to show and what to record come out. The session owns
//! one [`ConsentBook`]; input injection and screen sending ask it first.
//!
//! Both directions live here. As the **approver** this peer answers requests
//! (`view_*`, `control_*` ask for its screen; `share_*` offer the requester's):
//! each one is prompted, then allowed or denied by the person, denied by the
//! policy, or denied after [`PROMPT_TIMEOUT`]; an allowed one stays active
//! until the person revokes it or the requester stops it. As the
//! **requester** it tracks what it asked for, so that a `share_control` it
//! offered and the other side accepted lets that side's input in.
//!
//! Control implies view. A participant who leaves or reconnects loses
//! everything it was allowed ([`ConsentBook::forget`]): consent is asked again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tandem_wire::ParticipantId;
use tandem_wire::channels::{Capability, ConsentMessage, RequestId};

/// No answer within this time is a "no".
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A consent message that does not fit the conversation so far. The message is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("request {0:?} is already live")]
    DuplicateRequest(RequestId),
    #[error("no request {0:?} from this participant")]
    UnknownRequest(RequestId),
    #[error("request {0:?} is not waiting for an answer")]
    NotPending(RequestId),
    #[error("request {0:?} is not active")]
    NotActive(RequestId),
}

/// Why a request ended or was denied, for the session report (the wire's type).
pub use tandem_wire::ConsentOutcome as Outcome;

/// What the session must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send on the `consent` channel to `to`.
    Send { to: ParticipantId, message: ConsentMessage },
    /// Ask the person at this machine (the native prompt window).
    Prompt { from: ParticipantId, request_id: RequestId, capability: Capability },
    /// Close that prompt: answered elsewhere, timed out or withdrawn.
    ClosePrompt { from: ParticipantId, request_id: RequestId },
    /// Ask the person at this machine to confirm this machine's own offer to
    /// `to` (their screen seen or controlled by `to`), before `to` is asked.
    Confirm { to: ParticipantId, request_id: RequestId, capability: Capability },
    /// Close that confirmation: answered, timed out or withdrawn.
    CloseConfirm { to: ParticipantId, request_id: RequestId },
    /// A decision or an end, for the indicator and the session report.
    /// `incoming`: `with` asked this machine (otherwise this machine asked `with`).
    Record {
        with: ParticipantId,
        request_id: RequestId,
        capability: Capability,
        incoming: bool,
        outcome: Outcome,
    },
}

/// Capabilities the managed machine's policy denies outright (the default denies none: ask).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub denied: Vec<Capability>,
}

/// What part of this machine's screen a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Desktop,
    Application,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Prompting {
        since: Instant,
    },
    Active,
    /// Ours, sent, not answered yet (requester side).
    Asked,
    /// Our offer (`share_*`), waiting for this machine's person to confirm it
    /// before the other side is asked (nothing sent yet).
    Confirming {
        since: Instant,
    },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    capability: Capability,
    state: State,
}

/// Every live request, both directions.
#[derive(Debug, Default)]
pub struct ConsentBook {
    policy: Policy,
    /// Requests others made of us, by (requester, id).
    incoming: Book,
    /// Requests we made of others, by (approver, id).
    outgoing: Book,
    next_id: u32,
}

impl ConsentBook {
    pub fn new(policy: Policy) -> Self {
        Self { policy, ..Self::default() }
    }

    /// A message from `from` on the consent channel.
    pub fn on_message(
        &mut self,
        from: ParticipantId,
        message: ConsentMessage,
        now: Instant,
    ) -> Result<Vec<Action>, ConsentError> {
        match message {
            ConsentMessage::Request { request_id, capability } => {
                let key = (from, request_id);
                if self.incoming.contains_key(&key) {
                    return Err(ConsentError::DuplicateRequest(request_id));
                }
                if self.policy.denied.contains(&capability) {
                    return Ok(vec![
                        Action::Send {
                            to: from,
                            message: ConsentMessage::Decision { request_id, allowed: false },
                        },
                        Action::Record {
                            with: from,
                            request_id,
                            capability,
                            incoming: true,
                            outcome: Outcome::DeniedByPolicy,
                        },
                    ]);
                }
                self.incoming.insert(key, Entry { capability, state: State::Prompting { since: now } });
                Ok(vec![Action::Prompt { from, request_id, capability }])
            }
            ConsentMessage::Stop { request_id } => {
                let entry = self
                    .incoming
                    .remove(&(from, request_id))
                    .ok_or(ConsentError::UnknownRequest(request_id))?;
                let mut actions = Vec::new();
                if matches!(entry.state, State::Prompting { .. }) {
                    actions.push(Action::ClosePrompt { from, request_id });
                }
                actions.push(Action::Record {
                    with: from,
                    request_id,
                    capability: entry.capability,
                    incoming: true,
                    outcome: Outcome::Stopped,
                });
                Ok(actions)
            }
            ConsentMessage::Decision { request_id, allowed } => {
                let (capability, outcome) = answer(&mut self.outgoing, (from, request_id), allowed)?;
                Ok(vec![Action::Record { with: from, request_id, capability, incoming: false, outcome }])
            }
            ConsentMessage::Revoke { request_id } => {
                let capability = end_active(&mut self.outgoing, (from, request_id))?;
                Ok(vec![Action::Record {
                    with: from,
                    request_id,
                    capability,
                    incoming: false,
                    outcome: Outcome::Revoked,
                }])
            }
        }
    }

    /// The person at this machine answered a prompt.
    pub fn decide(
        &mut self,
        from: ParticipantId,
        request_id: RequestId,
        allowed: bool,
    ) -> Result<Vec<Action>, ConsentError> {
        let (capability, outcome) = answer(&mut self.incoming, (from, request_id), allowed)?;
        Ok(vec![
            Action::ClosePrompt { from, request_id },
            Action::Send { to: from, message: ConsentMessage::Decision { request_id, allowed } },
            Action::Record { with: from, request_id, capability, incoming: true, outcome },
        ])
    }

    /// The person at this machine ends what they allowed (the indicator's Stop).
    pub fn revoke(
        &mut self,
        from: ParticipantId,
        request_id: RequestId,
    ) -> Result<Vec<Action>, ConsentError> {
        let capability = end_active(&mut self.incoming, (from, request_id))?;
        Ok(vec![
            Action::Send { to: from, message: ConsentMessage::Revoke { request_id } },
            Action::Record { with: from, request_id, capability, incoming: true, outcome: Outcome::Revoked },
        ])
    }

    /// Ends everything this machine allowed (one click on the indicator's Stop).
    pub fn revoke_all(&mut self) -> Vec<Action> {
        let active: Vec<_> =
            self.incoming.iter().filter(|(_, e)| e.state == State::Active).map(|(k, _)| *k).collect();
        active.into_iter().flat_map(|(from, id)| self.revoke(from, id).unwrap_or_default()).collect()
    }

    /// Ends every `share_view` / `share_control` this machine offered (its
    /// person's Stop ends what others see of this screen, whichever side asked).
    pub fn stop_shares(&mut self) -> Vec<Action> {
        let shares: Vec<_> = self
            .outgoing
            .iter()
            .filter(|(_, e)| matches!(e.capability, Capability::ShareView | Capability::ShareControl))
            .map(|(k, _)| *k)
            .collect();
        shares.into_iter().flat_map(|(to, id)| self.stop(to, id).unwrap_or_default()).collect()
    }

    /// Offers `to` this machine's screen (`share_view`) or its control
    /// (`share_control`): first this machine's person confirms it in the
    /// consent window ([`Action::Confirm`], answered with [`Self::confirm`]),
    /// then `to` is asked. Other capabilities are asked at once ([`Self::request`]).
    pub fn offer(
        &mut self,
        to: ParticipantId,
        capability: Capability,
        now: Instant,
    ) -> (RequestId, Vec<Action>) {
        if !matches!(capability, Capability::ShareView | Capability::ShareControl) {
            return self.request(to, capability);
        }
        self.next_id = self.next_id.wrapping_add(1);
        let request_id = RequestId(self.next_id);
        self.outgoing.insert((to, request_id), Entry { capability, state: State::Confirming { since: now } });
        (request_id, vec![Action::Confirm { to, request_id, capability }])
    }

    /// The person at this machine confirmed (or not) an offer of [`Self::offer`].
    pub fn confirm(
        &mut self,
        to: ParticipantId,
        request_id: RequestId,
        allowed: bool,
    ) -> Result<Vec<Action>, ConsentError> {
        let key = (to, request_id);
        let entry = self.outgoing.get_mut(&key).ok_or(ConsentError::UnknownRequest(request_id))?;
        if !matches!(entry.state, State::Confirming { .. }) {
            return Err(ConsentError::NotPending(request_id));
        }
        let capability = entry.capability;
        let close = Action::CloseConfirm { to, request_id };
        if allowed {
            entry.state = State::Asked;
            let message = ConsentMessage::Request { request_id, capability };
            Ok(vec![close, Action::Send { to, message }])
        } else {
            self.outgoing.remove(&key);
            let record = Action::Record {
                with: to,
                request_id,
                capability,
                incoming: false,
                outcome: Outcome::Denied,
            };
            Ok(vec![close, record])
        }
    }

    /// Asks `to` for `capability`; the request to send comes back.
    pub fn request(&mut self, to: ParticipantId, capability: Capability) -> (RequestId, Vec<Action>) {
        self.next_id = self.next_id.wrapping_add(1);
        let request_id = RequestId(self.next_id);
        self.outgoing.insert((to, request_id), Entry { capability, state: State::Asked });
        (request_id, vec![Action::Send { to, message: ConsentMessage::Request { request_id, capability } }])
    }

    /// Ends one of our requests (pending or allowed).
    pub fn stop(&mut self, to: ParticipantId, request_id: RequestId) -> Result<Vec<Action>, ConsentError> {
        let entry =
            self.outgoing.remove(&(to, request_id)).ok_or(ConsentError::UnknownRequest(request_id))?;
        // An offer still being confirmed here was never sent: nothing to tell `to`.
        let tell = match entry.state {
            State::Confirming { .. } => Action::CloseConfirm { to, request_id },
            _ => Action::Send { to, message: ConsentMessage::Stop { request_id } },
        };
        Ok(vec![
            tell,
            Action::Record {
                with: to,
                request_id,
                capability: entry.capability,
                incoming: false,
                outcome: Outcome::Stopped,
            },
        ])
    }

    /// Prompts unanswered for [`PROMPT_TIMEOUT`] are denied.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let expired: Vec<_> = self
            .incoming
            .iter()
            .filter(|(_, e)| {
                matches!(e.state, State::Prompting { since } if now.saturating_duration_since(since) >= PROMPT_TIMEOUT)
            })
            .map(|(k, e)| (*k, e.capability))
            .collect();
        let mut actions = Vec::new();
        let unconfirmed: Vec<_> = self
            .outgoing
            .iter()
            .filter(|(_, e)| {
                matches!(e.state, State::Confirming { since } if now.saturating_duration_since(since) >= PROMPT_TIMEOUT)
            })
            .map(|(k, e)| (*k, e.capability))
            .collect();
        for ((to, request_id), capability) in unconfirmed {
            self.outgoing.remove(&(to, request_id));
            actions.push(Action::CloseConfirm { to, request_id });
            actions.push(Action::Record {
                with: to,
                request_id,
                capability,
                incoming: false,
                outcome: Outcome::TimedOut,
            });
        }
        for ((from, request_id), capability) in expired {
            self.incoming.remove(&(from, request_id));
            actions.push(Action::ClosePrompt { from, request_id });
            actions.push(Action::Send {
                to: from,
                message: ConsentMessage::Decision { request_id, allowed: false },
            });
            actions.push(Action::Record {
                with: from,
                request_id,
                capability,
                incoming: true,
                outcome: Outcome::TimedOut,
            });
        }
        actions
    }

    /// When [`Self::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.incoming
            .values()
            .chain(self.outgoing.values())
            .filter_map(|e| match e.state {
                State::Prompting { since } | State::Confirming { since } => Some(since + PROMPT_TIMEOUT),
                _ => None,
            })
            .min()
    }

    /// `participant` left or reconnected: everything between us ends, prompts close.
    pub fn forget(&mut self, participant: ParticipantId) -> Vec<Action> {
        let mut actions = Vec::new();
        for (book, incoming) in [(&mut self.incoming, true), (&mut self.outgoing, false)] {
            let keys: Vec<_> = book.keys().filter(|(p, _)| *p == participant).copied().collect();
            for key in keys {
                let entry = book.remove(&key).expect("listed above");
                match entry.state {
                    State::Prompting { .. } => {
                        actions.push(Action::ClosePrompt { from: key.0, request_id: key.1 })
                    }
                    State::Confirming { .. } => {
                        actions.push(Action::CloseConfirm { to: key.0, request_id: key.1 })
                    }
                    State::Active | State::Asked => {}
                }
                actions.push(Action::Record {
                    with: key.0,
                    request_id: key.1,
                    capability: entry.capability,
                    incoming,
                    outcome: Outcome::Gone,
                });
            }
        }
        actions
    }

    /// Whether `participant` may send input to this machine now, and over what.
    pub fn control_scope(&self, participant: ParticipantId) -> Option<Scope> {
        let granted = |book: &Book, wanted: &[Capability]| {
            book.iter().any(|((p, _), e)| {
                *p == participant && e.state == State::Active && wanted.contains(&e.capability)
            })
        };
        if granted(&self.incoming, &[Capability::ControlDesktop])
            || granted(&self.outgoing, &[Capability::ShareControl])
        {
            Some(Scope::Desktop)
        } else if granted(&self.incoming, &[Capability::ControlApplication]) {
            Some(Scope::Application)
        } else {
            None
        }
    }

    /// Whether anyone may see this machine's screen (or part of it) now: control implies view.
    pub fn view_scope(&self, participant: ParticipantId) -> Option<Scope> {
        let active = |book: &Book, c: Capability| {
            book.iter().any(|((p, _), e)| *p == participant && e.state == State::Active && e.capability == c)
        };
        if active(&self.incoming, Capability::ViewDesktop)
            || active(&self.incoming, Capability::ControlDesktop)
            || active(&self.outgoing, Capability::ShareView)
            || active(&self.outgoing, Capability::ShareControl)
        {
            Some(Scope::Desktop)
        } else if active(&self.incoming, Capability::ViewApplication)
            || active(&self.incoming, Capability::ControlApplication)
        {
            Some(Scope::Application)
        } else {
            None
        }
    }

    /// What `from` asked for in request `request_id`, while this machine's person is asked.
    pub fn pending_capability(&self, from: ParticipantId, request_id: RequestId) -> Option<Capability> {
        self.incoming
            .get(&(from, request_id))
            .filter(|e| matches!(e.state, State::Prompting { .. }))
            .map(|e| e.capability)
    }

    /// Whether request `request_id` from `from` is allowed and not ended.
    pub fn is_active(&self, from: ParticipantId, request_id: RequestId) -> bool {
        self.incoming.get(&(from, request_id)).is_some_and(|e| e.state == State::Active)
    }

    /// Whether anything is viewed or controlled: the on-screen indicator shows while this holds.
    pub fn anything_active(&self) -> bool {
        self.incoming.values().chain(self.outgoing.values()).any(|e| e.state == State::Active)
    }
}

type Book = BTreeMap<(ParticipantId, RequestId), Entry>;

/// A pending request (prompted here, or asked of the other side) is answered:
/// an allowed one becomes active, a denied one ends.
fn answer(
    book: &mut Book,
    key: (ParticipantId, RequestId),
    allowed: bool,
) -> Result<(Capability, Outcome), ConsentError> {
    let entry = book.get_mut(&key).ok_or(ConsentError::UnknownRequest(key.1))?;
    if !matches!(entry.state, State::Prompting { .. } | State::Asked) {
        return Err(ConsentError::NotPending(key.1));
    }
    let capability = entry.capability;
    if allowed {
        entry.state = State::Active;
        Ok((capability, Outcome::Allowed))
    } else {
        book.remove(&key);
        Ok((capability, Outcome::Denied))
    }
}

/// An active grant ends (revoked by the approving side).
fn end_active(book: &mut Book, key: (ParticipantId, RequestId)) -> Result<Capability, ConsentError> {
    match book.get(&key) {
        None => Err(ConsentError::UnknownRequest(key.1)),
        Some(entry) if entry.state != State::Active => Err(ConsentError::NotActive(key.1)),
        Some(_) => Ok(book.remove(&key).expect("found above").capability),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr() -> ParticipantId {
        ParticipantId::from_raw(1)
    }
    fn other() -> ParticipantId {
        ParticipantId::from_raw(2)
    }

    fn request(id: u32, capability: Capability) -> ConsentMessage {
        ConsentMessage::Request { request_id: RequestId(id), capability }
    }

    #[test]
    fn control_is_granted_only_by_a_yes_and_implies_view() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        let actions = book.on_message(csr(), request(1, Capability::ControlDesktop), t0).unwrap();
        assert_eq!(
            actions,
            vec![Action::Prompt {
                from: csr(),
                request_id: RequestId(1),
                capability: Capability::ControlDesktop
            }]
        );
        assert_eq!(book.control_scope(csr()), None, "nothing before the answer");
        assert_eq!(book.view_scope(csr()), None);
        let actions = book.decide(csr(), RequestId(1), true).unwrap();
        assert!(actions.contains(&Action::Send {
            to: csr(),
            message: ConsentMessage::Decision { request_id: RequestId(1), allowed: true }
        }));
        assert_eq!(book.control_scope(csr()), Some(Scope::Desktop));
        assert_eq!(book.view_scope(csr()), Some(Scope::Desktop), "control implies view");
        assert_eq!(book.control_scope(other()), None, "only for the one who asked");
        assert!(book.anything_active());
    }

    #[test]
    fn deny_timeout_and_policy_grant_nothing() {
        let t0 = Instant::now();
        let mut book = ConsentBook::new(Policy { denied: vec![Capability::ControlApplication] });
        book.on_message(csr(), request(1, Capability::ControlDesktop), t0).unwrap();
        let actions = book.decide(csr(), RequestId(1), false).unwrap();
        assert!(actions.iter().any(|a| matches!(a, Action::Record { outcome: Outcome::Denied, .. })));

        book.on_message(csr(), request(2, Capability::ViewDesktop), t0).unwrap();
        assert_eq!(book.next_deadline(), Some(t0 + PROMPT_TIMEOUT));
        assert!(
            book.tick(t0 + PROMPT_TIMEOUT - Duration::from_millis(1)).is_empty(),
            "still asking at 29.999 s"
        );
        let actions = book.tick(t0 + PROMPT_TIMEOUT);
        assert_eq!(
            actions,
            vec![
                Action::ClosePrompt { from: csr(), request_id: RequestId(2) },
                Action::Send {
                    to: csr(),
                    message: ConsentMessage::Decision { request_id: RequestId(2), allowed: false }
                },
                Action::Record {
                    with: csr(),
                    request_id: RequestId(2),
                    capability: Capability::ViewDesktop,
                    incoming: true,
                    outcome: Outcome::TimedOut
                },
            ]
        );
        assert_eq!(
            book.decide(csr(), RequestId(2), true),
            Err(ConsentError::UnknownRequest(RequestId(2))),
            "too late"
        );

        let actions = book.on_message(csr(), request(3, Capability::ControlApplication), t0).unwrap();
        assert!(actions.iter().any(|a| matches!(a, Action::Record { outcome: Outcome::DeniedByPolicy, .. })));
        assert!(!actions.iter().any(|a| matches!(a, Action::Prompt { .. })), "the policy does not even ask");
        assert_eq!((book.control_scope(csr()), book.view_scope(csr())), (None, None));
        assert!(!book.anything_active());
    }

    #[test]
    fn revoke_stop_and_reconnect_end_the_grant() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        for (id, end) in [(1, "revoke"), (2, "stop"), (3, "forget")] {
            book.on_message(csr(), request(id, Capability::ControlApplication), t0).unwrap();
            book.decide(csr(), RequestId(id), true).unwrap();
            assert_eq!(book.control_scope(csr()), Some(Scope::Application));
            let actions = match end {
                "revoke" => book.revoke(csr(), RequestId(id)).unwrap(),
                "stop" => {
                    book.on_message(csr(), ConsentMessage::Stop { request_id: RequestId(id) }, t0).unwrap()
                }
                _ => book.forget(csr()),
            };
            assert!(actions.iter().any(|a| matches!(a, Action::Record { .. })), "{end} is recorded");
            assert_eq!(book.control_scope(csr()), None, "after {end}");
            assert_eq!(book.view_scope(csr()), None, "after {end}");
        }
    }

    #[test]
    fn out_of_state_messages_are_refused_with_a_typed_error() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        assert_eq!(book.decide(csr(), RequestId(9), true), Err(ConsentError::UnknownRequest(RequestId(9))));
        assert_eq!(book.revoke(csr(), RequestId(9)), Err(ConsentError::UnknownRequest(RequestId(9))));
        book.on_message(csr(), request(1, Capability::ViewDesktop), t0).unwrap();
        assert_eq!(
            book.on_message(csr(), request(1, Capability::ControlDesktop), t0),
            Err(ConsentError::DuplicateRequest(RequestId(1)))
        );
        assert_eq!(
            book.revoke(csr(), RequestId(1)),
            Err(ConsentError::NotActive(RequestId(1))),
            "not allowed yet"
        );
        // A decision nobody asked for, and a revoke of nothing we hold.
        let decision = ConsentMessage::Decision { request_id: RequestId(1), allowed: true };
        assert_eq!(book.on_message(csr(), decision, t0), Err(ConsentError::UnknownRequest(RequestId(1))));
        let revoke = ConsentMessage::Revoke { request_id: RequestId(1) };
        assert_eq!(book.on_message(csr(), revoke, t0), Err(ConsentError::UnknownRequest(RequestId(1))));
        // The same request id from someone else is a different request.
        assert!(book.on_message(other(), request(1, Capability::ViewDesktop), t0).is_ok());
        assert_eq!(book.control_scope(csr()), None);
    }

    #[test]
    fn share_control_lets_the_approver_in_once_they_accept() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        let (id, actions) = book.request(other(), Capability::ShareControl);
        assert_eq!(
            actions,
            vec![Action::Send {
                to: other(),
                message: ConsentMessage::Request { request_id: id, capability: Capability::ShareControl }
            }]
        );
        assert_eq!(book.control_scope(other()), None, "not before they accept");
        book.on_message(other(), ConsentMessage::Decision { request_id: id, allowed: true }, t0).unwrap();
        assert_eq!(book.control_scope(other()), Some(Scope::Desktop));
        assert_eq!(
            book.on_message(other(), ConsentMessage::Decision { request_id: id, allowed: true }, t0),
            Err(ConsentError::NotPending(id)),
            "answered twice"
        );
        book.on_message(other(), ConsentMessage::Revoke { request_id: id }, t0).unwrap();
        assert_eq!(book.control_scope(other()), None, "they ended it");
        let (id, _) = book.request(other(), Capability::ShareView);
        book.on_message(other(), ConsentMessage::Decision { request_id: id, allowed: true }, t0).unwrap();
        assert_eq!(book.control_scope(other()), None, "view is not control");
        book.stop(other(), id).unwrap();
        assert!(!book.anything_active());
    }

    #[test]
    fn an_offer_is_confirmed_here_before_the_other_side_is_asked() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        let (id, actions) = book.offer(other(), Capability::ShareControl, t0);
        assert_eq!(
            actions,
            vec![Action::Confirm { to: other(), request_id: id, capability: Capability::ShareControl }]
        );
        // The other side cannot answer what it was never asked.
        let early = ConsentMessage::Decision { request_id: id, allowed: true };
        assert_eq!(book.on_message(other(), early, t0), Err(ConsentError::NotPending(id)));
        assert_eq!(book.control_scope(other()), None);
        // Confirmed: now it is asked; its yes lets it in.
        let actions = book.confirm(other(), id, true).unwrap();
        assert_eq!(
            actions,
            vec![
                Action::CloseConfirm { to: other(), request_id: id },
                Action::Send {
                    to: other(),
                    message: ConsentMessage::Request { request_id: id, capability: Capability::ShareControl }
                },
            ]
        );
        assert_eq!(book.confirm(other(), id, true), Err(ConsentError::NotPending(id)), "confirmed once");
        book.on_message(other(), ConsentMessage::Decision { request_id: id, allowed: true }, t0).unwrap();
        assert_eq!(book.control_scope(other()), Some(Scope::Desktop));

        // Not confirmed: nothing sent; unanswered for 30 s: closed and recorded, nothing sent.
        let (no, _) = book.offer(other(), Capability::ShareView, t0);
        let actions = book.confirm(other(), no, false).unwrap();
        assert!(!actions.iter().any(|a| matches!(a, Action::Send { .. })), "{actions:?}");
        let (late, _) = book.offer(other(), Capability::ShareView, t0);
        assert_eq!(book.next_deadline(), Some(t0 + PROMPT_TIMEOUT));
        let actions = book.tick(t0 + PROMPT_TIMEOUT);
        assert_eq!(
            actions,
            vec![
                Action::CloseConfirm { to: other(), request_id: late },
                Action::Record {
                    with: other(),
                    request_id: late,
                    capability: Capability::ShareView,
                    incoming: false,
                    outcome: Outcome::TimedOut
                },
            ]
        );
        // Other capabilities are asked at once.
        let (_, actions) = book.offer(other(), Capability::ViewDesktop, t0);
        assert!(matches!(actions[..], [Action::Send { .. }]));
    }

    #[test]
    fn stop_shares_ends_what_this_machine_offered_and_nothing_it_asked_to_see() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        let (view, _) = book.request(other(), Capability::ShareView);
        let (control, _) = book.request(csr(), Capability::ShareControl);
        let (theirs, _) = book.request(other(), Capability::ViewDesktop);
        for (who, id) in [(other(), view), (csr(), control), (other(), theirs)] {
            book.on_message(who, ConsentMessage::Decision { request_id: id, allowed: true }, t0).unwrap();
        }
        assert_eq!(book.view_scope(other()), Some(Scope::Desktop));
        let actions = book.stop_shares();
        let mut stopped: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { to, message: ConsentMessage::Stop { request_id } } => Some((*to, *request_id)),
                _ => None,
            })
            .collect();
        stopped.sort();
        let mut expected = vec![(other(), view), (csr(), control)];
        expected.sort();
        assert_eq!(stopped, expected);
        assert_eq!(book.view_scope(other()), None, "our screen is no longer shown");
        assert_eq!(book.control_scope(csr()), None);
        assert!(book.anything_active(), "our view of their screen stays");
    }

    #[test]
    fn one_stop_click_revokes_everything() {
        let t0 = Instant::now();
        let mut book = ConsentBook::default();
        for (from, id, c) in [(csr(), 1, Capability::ControlDesktop), (other(), 1, Capability::ViewDesktop)] {
            book.on_message(from, request(id, c), t0).unwrap();
            book.decide(from, RequestId(id), true).unwrap();
        }
        let actions = book.revoke_all();
        assert_eq!(actions.iter().filter(|a| matches!(a, Action::Send { .. })).count(), 2);
        assert!(!book.anything_active());
    }
}
