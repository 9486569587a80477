//! Prometheus metrics, served as text at `/metrics`.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tandem_wire::{TransferDirection, TransferOutcome};

use crate::core::{TRANSFER_DIRECTIONS, TRANSFER_OUTCOMES, direction_name, transfer_outcome_name};

/// Why a message was rejected: an error code's wire name, or a close reason.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabel {
    pub reason: &'static str,
}

/// A session's path kind: `unknown`, `host`, `srflx` or `relay`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabel {
    pub path: &'static str,
}

/// Which way the embedded TURN relay moved a peer's datagram: `to_peer`
/// (client → peer, out of a relayed socket) or `to_client` (peer → client,
/// as ChannelData or a Data indication).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RelayDirection {
    ToPeer,
    ToClient,
}

impl RelayDirection {
    /// The `direction` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToPeer => "to_peer",
            Self::ToClient => "to_client",
        }
    }
}

impl EncodeLabelValue for RelayDirection {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// A file transfer's direction (`download`: customer to CSR, `upload`: CSR
/// to customer) and how it ended (`denied`, `completed`, `cancelled`, `failed`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransferLabel {
    pub direction: &'static str,
    pub outcome: &'static str,
}

/// A file transfer's direction only.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransferDirectionLabel {
    pub direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: RelayDirection,
}

/// Peer payload the embedded relay moved in one direction: the UDP payload
/// exchanged with the peer (no TURN framing), and the datagrams.
#[derive(Debug, Clone, Default)]
pub struct RelayedTraffic {
    pub bytes: Counter,
    pub packets: Counter,
}

impl RelayedTraffic {
    /// Counts one relayed datagram of `len` payload bytes.
    pub fn count(&self, len: usize) {
        self.bytes.inc_by(len as u64);
        self.packets.inc();
    }
}

/// The server's metrics. Cheap to update from any task (atomics).
pub struct Metrics {
    registry: Registry,
    pub live_sessions: Gauge,
    pub live_participants: Gauge,
    /// Live sessions by the most indirect path any of their connections reported.
    pub live_sessions_by_path: Family<PathLabel, Gauge>,
    pub connections: Gauge,
    pub sessions_created: Counter,
    pub messages_relayed: Counter,
    pub messages_rejected: Family<RejectLabel, Counter>,
    pub invitations_sent: Counter,
    pub invitations_failed: Counter,
    /// Participants reported to the site from a consent prompt.
    pub participant_reports: Counter,
    /// File transfers the customers' machines recorded (TOOL-5), by direction and outcome.
    file_transfers: Family<TransferLabel, Counter>,
    /// Bytes those transfers moved, by direction.
    file_transfer_bytes: Family<TransferDirectionLabel, Counter>,
    /// Live allocations on the embedded TURN relay.
    pub turn_allocations: Gauge,
    /// Requests and packets towards a denied peer address, refused by the embedded relay.
    pub turn_denied_peer: Counter,
    pub turn_refused: Family<RejectLabel, Counter>,
    /// `tandem_turn_relayed_bytes_total` / `_packets_total` by direction,
    /// held here per direction so the relay's hot path skips the family lookup.
    turn_to_peer: RelayedTraffic,
    turn_to_client: RelayedTraffic,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tandem");
        // Both directions exist from the start (at 0), so a scrape always finds
        // them; the relay keeps clones of their counters (clones share the value).
        let relayed_bytes = Family::<DirectionLabel, Counter>::default();
        let relayed_packets = Family::<DirectionLabel, Counter>::default();
        let traffic = |direction| {
            let label = DirectionLabel { direction };
            RelayedTraffic {
                bytes: relayed_bytes.get_or_create(&label).clone(),
                packets: relayed_packets.get_or_create(&label).clone(),
            }
        };
        let m = Self {
            live_sessions: Gauge::default(),
            live_participants: Gauge::default(),
            live_sessions_by_path: Family::default(),
            connections: Gauge::default(),
            sessions_created: Counter::default(),
            messages_relayed: Counter::default(),
            messages_rejected: Family::default(),
            invitations_sent: Counter::default(),
            invitations_failed: Counter::default(),
            participant_reports: Counter::default(),
            file_transfers: Family::default(),
            file_transfer_bytes: Family::default(),
            turn_allocations: Gauge::default(),
            turn_denied_peer: Counter::default(),
            turn_refused: Family::default(),
            turn_to_peer: traffic(RelayDirection::ToPeer),
            turn_to_client: traffic(RelayDirection::ToClient),
            registry: Registry::default(),
        };
        registry.register("live_sessions", "Sessions in progress", m.live_sessions.clone());
        registry.register(
            "live_participants",
            "Participants in live sessions, lobby included",
            m.live_participants.clone(),
        );
        registry.register(
            "live_sessions_by_path",
            "Sessions in progress by network path (relay if any connection is relayed, srflx if through NAT, \
             host if direct, unknown before any path_report)",
            m.live_sessions_by_path.clone(),
        );
        registry.register("websocket_connections", "Open WebSocket connections", m.connections.clone());
        registry.register("sessions_created", "Sessions created", m.sessions_created.clone());
        registry.register(
            "participant_reports",
            "Participants reported to the site from a consent prompt (X-5)",
            m.participant_reports.clone(),
        );
        // Every direction and outcome exists from the start (at 0), so a scrape always finds them.
        for direction in TRANSFER_DIRECTIONS.map(direction_name) {
            let _ = m.file_transfer_bytes.get_or_create(&TransferDirectionLabel { direction });
            for outcome in TRANSFER_OUTCOMES.map(transfer_outcome_name) {
                let _ = m.file_transfers.get_or_create(&TransferLabel { direction, outcome });
            }
        }
        registry.register(
            "file_transfers",
            "File transfers recorded by customers' machines (tool_record), by direction (download: customer to \
             CSR, upload: CSR to customer) and outcome (denied, completed, cancelled, failed)",
            m.file_transfers.clone(),
        );
        registry.register(
            "file_transfer_bytes",
            "Bytes moved by the file transfers recorded, by direction",
            m.file_transfer_bytes.clone(),
        );
        registry.register(
            "messages_relayed",
            "Offers, answers and candidates relayed",
            m.messages_relayed.clone(),
        );
        registry.register("messages_rejected", "Messages rejected, by reason", m.messages_rejected.clone());
        registry.register(
            "invitations_sent",
            "Invitation e-mails accepted by the mail relay",
            m.invitations_sent.clone(),
        );
        registry.register(
            "invitations_failed",
            "Invitation e-mails the mail relay refused or did not take in time",
            m.invitations_failed.clone(),
        );
        registry.register(
            "turn_allocations",
            "Live allocations on the embedded TURN relay",
            m.turn_allocations.clone(),
        );
        registry.register(
            "turn_denied_peer",
            "TURN requests and packets towards a denied peer address (embedded relay)",
            m.turn_denied_peer.clone(),
        );
        registry.register(
            "turn_refused",
            "TURN requests refused by the embedded relay, by reason (expired, malformed, bad_realm, quota)",
            m.turn_refused.clone(),
        );
        registry.register(
            "turn_relayed_bytes",
            "Peer payload bytes relayed by the embedded TURN relay, by direction (to_peer: client to peer, \
             to_client: peer to client)",
            relayed_bytes,
        );
        registry.register(
            "turn_relayed_packets",
            "Datagrams relayed by the embedded TURN relay, by direction (to_peer, to_client)",
            relayed_packets,
        );
        Self { registry, ..m }
    }

    /// The embedded relay's traffic in one direction.
    pub fn turn_relayed(&self, direction: RelayDirection) -> &RelayedTraffic {
        match direction {
            RelayDirection::ToPeer => &self.turn_to_peer,
            RelayDirection::ToClient => &self.turn_to_client,
        }
    }

    /// Counts one TURN request the embedded relay refused.
    pub fn turn_refused(&self, reason: &'static str) {
        self.turn_refused.get_or_create(&RejectLabel { reason }).inc();
    }

    /// Counts one recorded file transfer that moved `bytes`.
    pub fn file_transfer(&self, direction: TransferDirection, outcome: TransferOutcome, bytes: u64) {
        let direction = direction_name(direction);
        let outcome = transfer_outcome_name(outcome);
        self.file_transfers.get_or_create(&TransferLabel { direction, outcome }).inc();
        self.file_transfer_bytes.get_or_create(&TransferDirectionLabel { direction }).inc_by(bytes);
    }

    /// Counts one rejected message.
    pub fn reject(&self, reason: &'static str) {
        self.messages_rejected.get_or_create(&RejectLabel { reason }).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_traffic_is_exposed_by_direction_from_the_start() {
        let m = Metrics::new();
        let text = m.render();
        for line in [
            "tandem_turn_relayed_bytes_total{direction=\"to_peer\"} 0",
            "tandem_turn_relayed_bytes_total{direction=\"to_client\"} 0",
            "tandem_turn_relayed_packets_total{direction=\"to_peer\"} 0",
            "tandem_turn_relayed_packets_total{direction=\"to_client\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        m.turn_relayed(RelayDirection::ToPeer).count(1200);
        m.turn_relayed(RelayDirection::ToPeer).count(30);
        m.turn_relayed(RelayDirection::ToClient).count(7);
        let text = m.render();
        for line in [
            "tandem_turn_relayed_bytes_total{direction=\"to_peer\"} 1230",
            "tandem_turn_relayed_packets_total{direction=\"to_peer\"} 2",
            "tandem_turn_relayed_bytes_total{direction=\"to_client\"} 7",
            "tandem_turn_relayed_packets_total{direction=\"to_client\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(m.turn_relayed(RelayDirection::ToPeer).bytes.get(), 1230);
    }

    #[test]
    fn file_transfers_are_counted_by_direction_and_outcome_from_the_start() {
        let m = Metrics::new();
        let text = m.render();
        for line in [
            "tandem_file_transfers_total{direction=\"download\",outcome=\"completed\"} 0",
            "tandem_file_transfers_total{direction=\"upload\",outcome=\"failed\"} 0",
            "tandem_file_transfer_bytes_total{direction=\"download\"} 0",
            "tandem_file_transfer_bytes_total{direction=\"upload\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        m.file_transfer(TransferDirection::Download, TransferOutcome::Completed, 1_000);
        m.file_transfer(TransferDirection::Download, TransferOutcome::Completed, 24);
        m.file_transfer(TransferDirection::Upload, TransferOutcome::Denied, 0);
        let text = m.render();
        for line in [
            "tandem_file_transfers_total{direction=\"download\",outcome=\"completed\"} 2",
            "tandem_file_transfers_total{direction=\"upload\",outcome=\"denied\"} 1",
            "tandem_file_transfers_total{direction=\"upload\",outcome=\"completed\"} 0",
            "tandem_file_transfer_bytes_total{direction=\"download\"} 1024",
            "tandem_file_transfer_bytes_total{direction=\"upload\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
