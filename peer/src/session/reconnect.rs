//! A new peer connection to a participant who is still in the session
//! (`docs/file-transfer.md` §5): the remote made one (an offer with a DTLS
//! fingerprint other than its connection's), or this side asked for one
//! ([`Command::Reconnect`](super::Command::Reconnect), the CSR's "retry").
//!
//! The old [`Link`] is closed and a new one, with the next [`LinkEpoch`], takes
//! its place; what the old connection still reports is dropped
//! ([`is_current`]). What the person allowed ends as on any return (consent,
//! the file access grant); file transfers carry on over the new connection
//! from where the receiver is, each asked again on the customer's side
//! ([`State::files_link_lost`]).

use std::collections::HashMap;

use tandem_wire::{ClientMessage, ParticipantId};
use tokio::sync::mpsc;

use super::{Event, State, to_sdp};
use crate::PeerError;
use crate::link::{Link, LinkEpoch, LinkEvent, LinkEvents};
use crate::signaling::Connection;

/// Whether an event sent by the link of `epoch` comes from the link the session
/// holds now for its participant: a replaced link's events are not.
pub(super) fn is_current(links: &HashMap<ParticipantId, Link>, epoch: LinkEpoch, event: &LinkEvent) -> bool {
    links.get(&event.participant()).is_some_and(|link| link.epoch == epoch)
}

impl State {
    /// The epoch of the next link made.
    pub(super) fn next_epoch(&mut self) -> LinkEpoch {
        self.last_epoch += 1;
        LinkEpoch(self.last_epoch)
    }

    /// Replaces the link to `with` by a new peer connection; `offer`: this side
    /// makes the new connection's first offer (else the remote's offer is answered).
    pub(super) async fn replace_link(
        &mut self,
        with: ParticipantId,
        offer: bool,
        conn: &mut Connection,
        link_tx: &LinkEvents,
        events: &mpsc::Sender<Event>,
    ) -> Result<(), PeerError> {
        let Some(old) = self.links.remove(&with) else {
            tracing::info!(%with, "no connection to them to replace");
            return Ok(());
        };
        tracing::info!(%with, offer, "a new peer connection replaces the old one");
        old.close().await;
        self.paths.remove(&with);
        self.pending_consent.remove(&with);
        // Whatever they were allowed ends, as on any return: a return asks again.
        let actions = self.consent.forget(with);
        self.perform(actions, conn, events).await?;
        self.link(with, link_tx).await?.replaces(&old);
        drop(old);
        self.files_link_lost(with, link_tx, events).await?;
        if offer {
            let link = self.link(with, link_tx).await?;
            let sdp = link.first_offer(link_tx).await?;
            conn.send(&ClientMessage::Offer { to: with, sdp: to_sdp(sdp)? }).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::link::LinkConfig;
    use crate::media::Media;

    async fn link(remote: ParticipantId, epoch: LinkEpoch, tx: &LinkEvents) -> Link {
        let mut link = Link::new(
            remote,
            epoch,
            true,
            Vec::new(),
            &LinkConfig::loopback(),
            &Media::default(),
            tx.clone(),
        )
        .await
        .unwrap();
        // An offer starts ICE gathering: the link reports its candidates.
        link.first_offer(tx).await.unwrap();
        link
    }

    /// Two links to one participant, the second replacing the first: each one's
    /// events carry its epoch, and only the second's count.
    #[tokio::test]
    async fn a_replaced_links_events_are_not_current() {
        let them = ParticipantId::from_raw(0x42);
        let other = ParticipantId::from_raw(0x43);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let old = link(them, LinkEpoch(1), &tx).await;
        let new = link(them, LinkEpoch(2), &tx).await;
        let mut links = HashMap::new();
        links.insert(them, new);
        let (mut stale, mut current) = (0, 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while stale == 0 || current == 0 {
            let (epoch, event) = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("candidates of both links: {stale} old, {current} new"))
                .expect("the links hold the sender");
            assert_eq!(event.participant(), them);
            match epoch {
                LinkEpoch(1) => {
                    assert!(!is_current(&links, epoch, &event), "an event of the replaced link counted");
                    stale += 1;
                }
                LinkEpoch(2) => {
                    assert!(is_current(&links, epoch, &event), "an event of the current link was dropped");
                    current += 1;
                }
                e => panic!("an event tagged {e:?}"),
            }
        }
        // Nobody else's link has that epoch; with no link at all, nothing counts.
        let stray = LinkEvent::NegotiationNeeded { with: other };
        assert!(!is_current(&links, LinkEpoch(2), &stray));
        let gone = links.remove(&them).unwrap();
        assert!(!is_current(&links, LinkEpoch(2), &LinkEvent::NegotiationNeeded { with: them }));
        gone.close().await;
        old.close().await;
    }
}
