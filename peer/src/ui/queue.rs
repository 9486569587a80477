//! What the prompt window shows: pending prompts, one at a time, oldest
//! first. Plain state with time as an input; the window only draws it.
//!
//! A prompt's buttons are armed [`ARM_DELAY`] after it comes to the front,
//! so that a click meant for something else (the prompt popping up under
//! the pointer) cannot answer it. A prompt for one application window
//! ([`super::picker::needs_window`]) also needs a window chosen before Allow takes a
//! click; the choice belongs to the front prompt and is forgotten when
//! another prompt comes to the front or the window leaves the list.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tandem_wire::ParticipantId;
use tandem_wire::channels::RequestId;

use super::{Prompt, UiEvent};
use crate::video::WindowId;

/// How long a prompt must have been shown before its buttons take clicks.
pub const ARM_DELAY: Duration = Duration::from_millis(500);

/// A button of the prompt window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Allow,
    Deny,
    EndAndReport,
}

#[derive(Debug, Default)]
pub struct PromptQueue {
    pending: VecDeque<Prompt>,
    /// When the front prompt came to the front.
    front_since: Option<Instant>,
    /// The window chosen on the front prompt's picker.
    chosen: Option<WindowId>,
}

impl PromptQueue {
    /// Queues a prompt; the same (requester, request id) again replaces the old one in place.
    pub fn push(&mut self, prompt: Prompt, now: Instant) {
        let key = (prompt.from, prompt.request_id);
        if let Some(at) = self.pending.iter().position(|p| (p.from, p.request_id) == key) {
            if at == 0 && self.pending[0].question != prompt.question {
                self.chosen = None;
            }
            self.pending[at] = prompt;
            return;
        }
        self.pending.push_back(prompt);
        if self.pending.len() == 1 {
            self.new_front(now);
        }
    }

    /// Removes a prompt (answered elsewhere, timed out, withdrawn); unknown ones are ignored.
    pub fn close(&mut self, from: ParticipantId, request_id: RequestId, now: Instant) {
        let Some(at) = self.pending.iter().position(|p| (p.from, p.request_id) == (from, request_id)) else {
            return;
        };
        self.pending.remove(at);
        if at == 0 {
            self.new_front(now);
        }
    }

    /// The prompt on screen.
    pub fn front(&self) -> Option<&Prompt> {
        self.pending.front()
    }

    /// How many wait behind the front one.
    pub fn waiting(&self) -> usize {
        self.pending.len().saturating_sub(1)
    }

    /// Whether the front prompt's buttons take clicks at `now`.
    pub fn armed(&self, now: Instant) -> bool {
        self.front_since.is_some_and(|since| now.saturating_duration_since(since) >= ARM_DELAY)
    }

    /// Chooses a window on the front prompt's picker (any prompt: only
    /// application prompts use it).
    pub fn choose(&mut self, window: WindowId) {
        if self.pending.front().is_some() {
            self.chosen = Some(window);
        }
    }

    /// The window chosen on the front prompt.
    pub fn chosen(&self) -> Option<WindowId> {
        self.chosen
    }

    /// The picker's list changed: a chosen window that is no longer offered is unchosen.
    pub fn keep_choice_among(&mut self, offered: &[WindowId]) {
        if self.chosen.is_some_and(|w| !offered.contains(&w)) {
            self.chosen = None;
        }
    }

    /// Whether Allow takes a click at `now`: armed, and a window chosen if the prompt needs one.
    pub fn can_allow(&self, now: Instant) -> bool {
        let needs_window = self.front().is_some_and(Prompt::needs_window);
        self.armed(now) && (!needs_window || self.chosen.is_some())
    }

    /// When the front prompt's buttons arm (to repaint then), if they have not yet.
    pub fn arms_at(&self, now: Instant) -> Option<Instant> {
        self.front_since.map(|since| since + ARM_DELAY).filter(|&at| at > now)
    }

    /// The person pressed a button of the front prompt: it leaves the queue
    /// and the event for the session comes back. Nothing while not armed, and
    /// no Allow for an application prompt without a chosen window.
    pub fn answer(&mut self, answer: Answer, now: Instant) -> Option<UiEvent> {
        let ready = match answer {
            Answer::Allow => self.can_allow(now),
            Answer::Deny | Answer::EndAndReport => self.armed(now),
        };
        if !ready {
            return None;
        }
        let prompt = self.pending.pop_front()?;
        let window = self.chosen.filter(|_| prompt.needs_window());
        self.new_front(now);
        let (from, request_id) = (prompt.from, prompt.request_id);
        Some(match answer {
            Answer::Allow => UiEvent::Decision { from, request_id, allowed: true, window },
            Answer::Deny => UiEvent::Decision { from, request_id, allowed: false, window: None },
            Answer::EndAndReport => UiEvent::EndAndReport { from, request_id },
        })
    }

    /// The person closed the prompt window: a "no" to the front prompt,
    /// armed or not (refusing is always safe).
    pub fn dismiss(&mut self, now: Instant) -> Option<UiEvent> {
        let prompt = self.pending.pop_front()?;
        self.new_front(now);
        Some(UiEvent::Decision {
            from: prompt.from,
            request_id: prompt.request_id,
            allowed: false,
            window: None,
        })
    }

    /// Another prompt (or none) came to the front: it arms afresh, with nothing chosen.
    fn new_front(&mut self, now: Instant) {
        self.front_since = (!self.pending.is_empty()).then_some(now);
        self.chosen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_wire::channels::Capability;

    fn prompt(from: u64, id: u32) -> Prompt {
        prompt_for(from, id, Capability::ViewDesktop)
    }

    fn prompt_for(from: u64, id: u32, capability: Capability) -> Prompt {
        Prompt {
            from: ParticipantId::from_raw(from),
            request_id: RequestId(id),
            question: super::super::Question::Capability(capability),
            requester_name: format!("P{from}"),
            organisation: None,
            offer: false,
        }
    }

    #[test]
    fn prompts_show_one_at_a_time_oldest_first_and_arm_after_a_delay() {
        let t0 = Instant::now();
        let mut q = PromptQueue::default();
        q.push(prompt(1, 1), t0);
        q.push(prompt(2, 1), t0 + Duration::from_secs(5));
        assert_eq!(q.front().map(|p| p.from), Some(ParticipantId::from_raw(1)));
        assert_eq!(q.waiting(), 1);
        assert_eq!(q.answer(Answer::Allow, t0 + ARM_DELAY / 2), None, "too soon after it appeared");
        assert_eq!(q.arms_at(t0), Some(t0 + ARM_DELAY));
        let t1 = t0 + ARM_DELAY;
        assert_eq!(
            q.answer(Answer::Allow, t1),
            Some(UiEvent::Decision {
                from: ParticipantId::from_raw(1),
                request_id: RequestId(1),
                allowed: true,
                window: None
            })
        );
        assert!(!q.armed(t1), "the next prompt arms on its own clock, from when it came to the front");
        assert_eq!(
            q.answer(Answer::EndAndReport, t1 + ARM_DELAY),
            Some(UiEvent::EndAndReport { from: ParticipantId::from_raw(2), request_id: RequestId(1) })
        );
        assert!(q.front().is_none());
        assert_eq!(q.answer(Answer::Deny, t1 + ARM_DELAY * 3), None, "nothing to answer");

        q.push(prompt(3, 7), t1);
        assert_eq!(
            q.dismiss(t1),
            Some(UiEvent::Decision {
                from: ParticipantId::from_raw(3),
                request_id: RequestId(7),
                allowed: false,
                window: None
            }),
            "closing the window refuses at once"
        );
        assert_eq!(q.dismiss(t1), None);
    }

    #[test]
    fn close_removes_the_right_prompt_and_a_repeat_replaces_in_place() {
        let t0 = Instant::now();
        let mut q = PromptQueue::default();
        for (from, id) in [(1, 1), (1, 2), (2, 1)] {
            q.push(prompt(from, id), t0);
        }
        q.push(prompt(1, 2), t0 + Duration::from_secs(1));
        assert_eq!(q.waiting(), 2, "no duplicate");
        q.close(ParticipantId::from_raw(1), RequestId(2), t0);
        q.close(ParticipantId::from_raw(9), RequestId(2), t0);
        assert_eq!(q.waiting(), 1);
        assert!(q.armed(t0 + ARM_DELAY), "closing one behind the front does not re-arm the front");
        let t1 = t0 + Duration::from_secs(2);
        q.close(ParticipantId::from_raw(1), RequestId(1), t1);
        assert_eq!(q.front().map(|p| p.from), Some(ParticipantId::from_raw(2)));
        assert!(!q.armed(t1), "a new front arms afresh");
        assert!(q.armed(t1 + ARM_DELAY));
        q.close(ParticipantId::from_raw(2), RequestId(1), t1);
        assert_eq!(q.arms_at(t1), None);
    }

    #[test]
    fn an_application_prompt_allows_only_with_a_chosen_window_and_forgets_it_with_the_prompt() {
        let t0 = Instant::now();
        let t1 = t0 + ARM_DELAY;
        let mut q = PromptQueue::default();
        q.push(prompt_for(1, 1, Capability::ControlApplication), t0);
        q.push(prompt_for(1, 2, Capability::ViewApplication), t0);
        assert!(!q.can_allow(t1), "armed, but no window chosen");
        assert_eq!(q.answer(Answer::Allow, t1), None);
        q.choose(WindowId(0xa));
        q.keep_choice_among(&[WindowId(0xb)]);
        assert_eq!(q.chosen(), None, "the chosen window left the list");
        q.choose(WindowId(0xa));
        q.keep_choice_among(&[WindowId(0xa), WindowId(0xb)]);
        assert!(q.can_allow(t1));
        assert_eq!(
            q.answer(Answer::Allow, t1),
            Some(UiEvent::Decision {
                from: ParticipantId::from_raw(1),
                request_id: RequestId(1),
                allowed: true,
                window: Some(WindowId(0xa))
            })
        );
        assert_eq!(q.chosen(), None, "the next prompt starts with nothing chosen");
        q.choose(WindowId(0xb));
        assert!(!q.can_allow(t1), "and arms on its own clock");
        assert_eq!(
            q.answer(Answer::Deny, t1 + ARM_DELAY),
            Some(UiEvent::Decision {
                from: ParticipantId::from_raw(1),
                request_id: RequestId(2),
                allowed: false,
                window: None
            }),
            "a refusal names no window"
        );
        // A desktop prompt needs no window and carries none, even if one was clicked.
        q.push(prompt(2, 3), t1);
        q.choose(WindowId(0xc));
        assert_eq!(
            q.answer(Answer::Allow, t1 + ARM_DELAY),
            Some(UiEvent::Decision {
                from: ParticipantId::from_raw(2),
                request_id: RequestId(3),
                allowed: true,
                window: None
            })
        );
    }
}
