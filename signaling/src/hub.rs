//! The hub: the one task that owns the session core.
//!
//! Connection tasks send it [`HubMsg`]s; it feeds them to the
//! [`Registry`](crate::core::Registry) with the current time, delivers the
//! outputs to connection tasks (never blocking on a slow one) and hands report
//! events to the report writer. It also drives grace-period timeouts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_wire::{ServerMessage, SessionNumber, close_code};
use tokio::sync::{mpsc, oneshot};

use crate::core::{
    AgentId, ConnId, Input, InvitationDetails, Output, PathKind, Registry, ReportEvent, Timestamp,
};
use crate::metrics::Metrics;

/// Capacity of each connection's outgoing queue; a client that lets it fill is dropped.
pub const CONN_QUEUE: usize = 64;

/// What connection tasks tell the hub.
#[derive(Debug)]
pub enum HubMsg {
    /// A new connection and where to send its messages.
    Connected { conn: ConnId, tx: mpsc::Sender<ConnCommand> },
    /// An input for the session core.
    Core(Input),
    /// What an invitation about session `number` may say, if `agent` is one of its CSRs.
    Invitation { agent: AgentId, number: SessionNumber, reply: oneshot::Sender<Option<InvitationDetails>> },
    /// End every session, close every connection, then stop.
    Shutdown,
}

/// What the hub tells a connection task.
#[derive(Debug)]
pub enum ConnCommand {
    /// Send this message. Boxed: each connection's queue allocates a block of
    /// slots up front, and unboxed messages made that 6.7 KB per connection.
    Send(Box<ServerMessage>),
    /// Close the WebSocket with this code.
    Close(u16),
}

/// The current wall-clock time as the core wants it.
pub fn now() -> Timestamp {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Runs until [`HubMsg::Shutdown`] (or until every sender is gone).
pub async fn run(
    mut registry: Registry,
    mut rx: mpsc::Receiver<HubMsg>,
    reports: mpsc::UnboundedSender<ReportEvent>,
    metrics: Arc<Metrics>,
) {
    let mut conns: HashMap<ConnId, mpsc::Sender<ConnCommand>> = HashMap::new();
    loop {
        let wait = registry.poll_timeout().map(|t| now().until(t));
        let msg = tokio::select! {
            m = rx.recv() => m,
            () = sleep_opt(wait) => {
                let out = registry.handle_timeout(now());
                dispatch(out, &mut conns, &reports, &metrics);
                update_gauges(&registry, &metrics);
                continue;
            }
        };
        match msg {
            Some(HubMsg::Connected { conn, tx }) => {
                conns.insert(conn, tx);
            }
            Some(HubMsg::Invitation { agent, number, reply }) => {
                // The asker may have given up (client gone): nothing to do then.
                let _ = reply.send(registry.invitation(agent, number));
            }
            Some(HubMsg::Core(input)) => {
                if let Input::Disconnected { conn } = input {
                    conns.remove(&conn);
                }
                let out = registry.handle(input, now());
                dispatch(out, &mut conns, &reports, &metrics);
                update_gauges(&registry, &metrics);
            }
            Some(HubMsg::Shutdown) | None => {
                let out = registry.handle(Input::Shutdown, now());
                dispatch(out, &mut conns, &reports, &metrics);
                for tx in conns.values() {
                    let _ = tx.try_send(ConnCommand::Close(close_code::GOING_AWAY));
                }
                update_gauges(&registry, &metrics);
                return;
            }
        }
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn dispatch(
    out: Vec<Output>,
    conns: &mut HashMap<ConnId, mpsc::Sender<ConnCommand>>,
    reports: &mpsc::UnboundedSender<ReportEvent>,
    metrics: &Metrics,
) {
    for o in out {
        match o {
            Output::Send { conn, msg } => {
                match &msg {
                    ServerMessage::Offer { .. }
                    | ServerMessage::Answer { .. }
                    | ServerMessage::Candidate { .. } => {
                        metrics.messages_relayed.inc();
                    }
                    ServerMessage::Error { code, .. } => metrics.reject(code.as_str()),
                    ServerMessage::SessionCreated { .. } => {
                        metrics.sessions_created.inc();
                    }
                    _ => {}
                }
                send(conns, conn, ConnCommand::Send(Box::new(msg)), metrics);
            }
            Output::Close { conn, code } => {
                send(conns, conn, ConnCommand::Close(code), metrics);
                conns.remove(&conn);
            }
            Output::Report(event) => {
                match &event {
                    ReportEvent::ParticipantReported { .. } => {
                        metrics.participant_reports.inc();
                    }
                    ReportEvent::ToolRecorded { record, .. } => {
                        if let Some((direction, outcome, bytes)) = record.transfer() {
                            metrics.file_transfer(direction, outcome, bytes);
                        }
                    }
                    _ => {}
                }
                // The writer only stops after the hub; a send error means it crashed, already logged there.
                let _ = reports.send(event);
            }
        }
    }
}

/// Queues a command without waiting; a connection that cannot keep up is closed.
fn send(
    conns: &mut HashMap<ConnId, mpsc::Sender<ConnCommand>>,
    conn: ConnId,
    cmd: ConnCommand,
    metrics: &Metrics,
) {
    let Some(tx) = conns.get(&conn) else { return };
    if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(cmd) {
        tracing::warn!(?conn, "connection's queue is full: dropping the slow client");
        metrics.reject("slow_consumer");
        // The task notices its queue closed and ends; its Disconnected starts the grace period.
        conns.remove(&conn);
    }
}

fn update_gauges(registry: &Registry, metrics: &Metrics) {
    metrics.live_sessions.set(i64::try_from(registry.session_count()).unwrap_or(i64::MAX));
    metrics.live_participants.set(i64::try_from(registry.participant_count()).unwrap_or(i64::MAX));
    for (kind, n) in PathKind::ALL.iter().zip(registry.sessions_by_path()) {
        let label = crate::metrics::PathLabel { path: kind.as_str() };
        metrics.live_sessions_by_path.get_or_create(&label).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
