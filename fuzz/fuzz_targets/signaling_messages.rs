//! Fuzzes what the network reaches on the signaling server: the frame decoder
//! and, behind it, the session core.
//!
//! The input is a script of frames separated by NUL bytes. The first byte of a
//! frame picks the action: a message from one of four connections, a
//! disconnect, or the clock moving on. Message text may use placeholders that
//! are replaced by values the core handed out earlier, so that the fuzzer
//! reaches deep states (admitted customers, relays, resumes) without guessing
//! random numbers: `$N` session number, `$I` invite token, `$P0`..`$P3`
//! participant ids, `$R0`..`$R3` resume tokens. After every step the core's
//! indexes must agree ([`Registry::check_invariants`]).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng as _;
use tandem_signaling::core::{Agent, AgentId, ConnId, CoreConfig, Input, Output, Registry, Request, Timestamp};
use tandem_wire::{ClientMessage, DisplayName, ServerMessage};

#[derive(Default)]
struct Seen {
    number: Option<String>,
    invite: Option<String>,
    participants: [Option<String>; 4],
    resume: [Option<String>; 4],
}

impl Seen {
    fn learn(&mut self, out: &[Output]) {
        for o in out {
            let Output::Send { conn, msg } = o else { continue };
            let slot = (conn.0 % 4) as usize;
            match msg {
                ServerMessage::SessionCreated { session, participant_id, resume_token, invite_token, .. } => {
                    self.number = Some(session.session_number.to_digits());
                    self.invite = Some(invite_token.as_str().to_owned());
                    self.participants[slot] = Some(participant_id.to_string());
                    self.resume[slot] = Some(resume_token.as_str().to_owned());
                }
                ServerMessage::Joined { participant_id, resume_token, .. }
                | ServerMessage::Lobby { participant_id, resume_token, .. } => {
                    self.participants[slot] = Some(participant_id.to_string());
                    self.resume[slot] = Some(resume_token.as_str().to_owned());
                }
                _ => {}
            }
        }
    }

    fn fill(&self, text: &str) -> String {
        let mut t = text.replace("$N", self.number.as_deref().unwrap_or("123456789"));
        t = t.replace("$I", self.invite.as_deref().unwrap_or(""));
        for i in 0..4 {
            t = t.replace(&format!("$P{i}"), self.participants[i].as_deref().unwrap_or(""));
            t = t.replace(&format!("$R{i}"), self.resume[i].as_deref().unwrap_or(""));
        }
        t
    }
}

fuzz_target!(|data: &[u8]| {
    let config = CoreConfig { max_participants: 4, ..CoreConfig::default() };
    let mut registry = Registry::new(config, rand::rngs::StdRng::seed_from_u64(1));
    let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut seen = Seen::default();
    let agent = Agent { id: AgentId(1), name: DisplayName::parse("Fuzz CSR").expect("valid name") };
    for frame in data.split(|b| *b == 0).take(64) {
        let Some((&action, rest)) = frame.split_first() else { continue };
        let conn = ConnId(u64::from(action % 4));
        let out = match action / 4 % 4 {
            0 => registry.handle(Input::Disconnected { conn }, now),
            1 => {
                now = now.after(Duration::from_secs(u64::from(rest.first().copied().unwrap_or(1))));
                registry.handle_timeout(now)
            }
            _ => {
                let text = seen.fill(&String::from_utf8_lossy(rest));
                let Ok(msg) = tandem_wire::decode::<ClientMessage>(&text) else { continue };
                // Re-encoding what was decoded must not panic either.
                let _ = serde_json::to_string(&msg);
                let Ok(Some(request)) = Request::from_client(msg, |_| Some(agent.clone())) else { continue };
                registry.handle(Input::Request { conn, request }, now)
            }
        };
        for o in &out {
            if let Output::Send { msg, .. } = o {
                // Everything the server sends must encode and decode back.
                let text = tandem_wire::encode(msg);
                assert!(tandem_wire::decode::<ServerMessage>(&text).is_ok(), "{text}");
            }
        }
        seen.learn(&out);
        registry.check_invariants();
    }
});
