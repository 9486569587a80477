//! Native peer ↔ native peer through the real signaling server on 127.0.0.1:
//! join, WebRTC connection, chat both ways, end; and the clear failures.

mod common;

use common::*;
use tandem_peer::PeerError;
use tandem_peer::session::{self, Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_wire::{DisplayName, EndReason, ParticipantId};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_peers_connect_and_chat_both_ways() {
    let (srv, _dir) = start_server().await;
    let token = sign_in(&srv.url, "carla", PASSWORD).await.unwrap();
    let mut csr = spawn_peer(&srv.url, Entry::CreateSession { token });
    let (number, invite, csr_id) = csr
        .wait_for("session_created", |e| match e {
            Event::Joined { session, me, invite: Some((token, _)), .. } => {
                Some((session.session_number, token.clone(), *me))
            }
            _ => None,
        })
        .await;

    let target = JoinTarget { server: None, number, invite: Some(invite) };
    let name = DisplayName::parse("Ann <b>").unwrap();
    let mut ann = spawn_peer(&srv.url, Entry::Customer { target, name });
    let ann_id: ParticipantId = ann
        .wait_for("joined", |e| match e {
            Event::Joined { me, .. } => Some(*me),
            _ => None,
        })
        .await;
    let listed = csr
        .wait_for("Ann in the list", |e| match e {
            Event::Participants(list) => list.iter().find(|p| p.name.as_str() == "Ann <b>").map(|p| p.id),
            _ => None,
        })
        .await;
    assert_eq!(listed, ann_id);

    // Both ends see the WebRTC connection and the chat channel open.
    csr.wait_for("chat channel", |e| (*e == Event::ChatReady(ann_id)).then_some(())).await;
    ann.wait_for("chat channel", |e| (*e == Event::ChatReady(csr_id)).then_some(())).await;

    csr.chat("Hello Ann, how can I help?").await;
    let (from, text) = ann
        .wait_for("chat from the CSR", |e| match e {
            Event::Chat { from, text, .. } => Some((*from, text.clone())),
            _ => None,
        })
        .await;
    assert_eq!((from, text.as_str()), (csr_id, "Hello Ann, how can I help?"));

    ann.chat("My printer is on fire\nliterally").await;
    let (from, text) = csr
        .wait_for("chat from Ann", |e| match e {
            Event::Chat { from, text, private } => Some((*from, text.clone(), *private)),
            _ => None,
        })
        .await
        .into_parts();
    assert_eq!((from, text.as_str()), (ann_id, "My printer is on fire\nliterally"));

    // The customer cannot end the session; the CSR can.
    ann.commands.send(Command::End).await.unwrap();
    let code = ann
        .wait_for("refusal", |e| match e {
            Event::Refused { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, tandem_wire::ErrorCode::NotAllowed);
    csr.commands.send(Command::End).await.unwrap();
    assert_eq!(ann.outcome().await.unwrap(), Some(EndReason::EndedByCsr));
    assert_eq!(csr.outcome().await.unwrap(), Some(EndReason::EndedByCsr));
    srv.shutdown().await.unwrap();
}

trait IntoParts {
    fn into_parts(self) -> (ParticipantId, String);
}

impl IntoParts for (ParticipantId, String, bool) {
    fn into_parts(self) -> (ParticipantId, String) {
        assert!(!self.2, "sent to everyone, not private");
        (self.0, self.1)
    }
}

#[tokio::test]
async fn failures_have_clear_errors() {
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (_c, rx) = mpsc::channel(1);
    let (tx, _e) = mpsc::channel(8);
    let name = DisplayName::parse("Ann").unwrap();
    let target = JoinTarget::parse("123 456 789").unwrap();
    let entry = Entry::Customer { target: target.clone(), name: name.clone() };
    let setup = session::Setup { link: loopback(), ..Default::default() };
    let err = session::run(&format!("http://{closed}"), entry, setup, rx, tx).await.unwrap_err();
    assert!(matches!(err, PeerError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("cannot reach the Tandem server"));

    let (srv, _dir) = start_server().await;
    let unknown = spawn_peer(&srv.url, Entry::Customer { target, name: name.clone() });
    let err = unknown.outcome().await.unwrap_err();
    assert!(matches!(err, PeerError::SessionUnavailable), "{err}");

    // Refused from the lobby.
    let token = sign_in(&srv.url, "carla", PASSWORD).await.unwrap();
    let wrong = sign_in(&srv.url, "carla", "wrong password").await.unwrap_err();
    assert!(matches!(wrong, PeerError::SignIn(_)), "{wrong}");
    let mut csr = spawn_peer(&srv.url, Entry::CreateSession { token });
    let number = csr
        .wait_for("session", |e| match e {
            Event::Joined { session, .. } => Some(session.session_number),
            _ => None,
        })
        .await;
    let target = JoinTarget { server: None, number, invite: None };
    let mut walt = spawn_peer(&srv.url, Entry::Customer { target, name });
    walt.wait_for("lobby", |e| (*e == Event::Lobby).then_some(())).await;
    // The CSR's list shows Walt waiting; refuse him through a raw client.
    let walt_id = csr
        .wait_for("Walt waiting", |e| match e {
            Event::Participants(list) => {
                list.iter().find(|p| p.role == tandem_wire::Role::Waiting).map(|p| p.id)
            }
            _ => None,
        })
        .await;
    csr.commands.send(Command::Refuse(walt_id)).await.unwrap();
    let err = walt.outcome().await.unwrap_err();
    assert!(matches!(err, PeerError::Refused), "{err}");
    assert!(err.to_string().contains("did not let you into the session"));
    csr.commands.send(Command::Leave).await.unwrap();
    assert_eq!(csr.outcome().await.unwrap(), None, "left");
    srv.shutdown().await.unwrap();
}
