//! One WebSocket connection: decode, limit, authenticate, forward to the hub;
//! send what the hub returns; keep the connection alive or drop it.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tandem_wire::{ClientMessage, ErrorCode, Features, MAX_MESSAGE_BYTES, ServerMessage, close_code};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::core::{ConnId, Input, Request};
use crate::http::AppState;
use crate::hub::{self, CONN_QUEUE, ConnCommand, HubMsg};
use crate::limits::TokenBucket;

/// Why the connection task stops.
enum Stop {
    /// The peer closed or the socket failed: nothing more to send.
    Gone,
    /// We close with this code and reason.
    Close(u16, &'static str),
}

/// Serves one upgraded connection until it closes.
pub async fn run(mut socket: WebSocket, ip: IpAddr, state: AppState) {
    let conn = ConnId(state.next_conn_id());
    let (tx, mut rx) = mpsc::channel(CONN_QUEUE);
    if state.hub.send(HubMsg::Connected { conn, tx }).await.is_err() {
        return; // shutting down
    }
    state.metrics.connections.inc();
    let limits = &state.config.limits;
    let mut bucket = TokenBucket::new(f64::from(limits.messages_per_sec), limits.message_burst, hub::now());
    let mut strikes = 0u32;
    let keepalive = state.config.keepalive();
    let mut ticker = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    let mut last_heard = Instant::now();

    let hello = ServerMessage::Hello {
        server: format!("tandem-signaling/{}", env!("CARGO_PKG_VERSION")),
        protocol: tandem_wire::PROTOCOL_VERSION,
        max_message_bytes: MAX_MESSAGE_BYTES as u32,
        keepalive_secs: u32::try_from(keepalive.as_secs()).unwrap_or(u32::MAX),
        features: Features { email_invitations: state.mailer.is_some() },
        organisation: state.config.organisation.clone(),
    };
    let mut stop = send(&mut socket, &hello).await.err();

    while stop.is_none() {
        tokio::select! {
            frame = socket.recv() => {
                last_heard = Instant::now();
                stop = match frame {
                    Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => {
                        if bucket.try_take(hub::now()) {
                            strikes = 0;
                            match frame {
                                Message::Text(text) => on_text(&mut socket, &state, conn, ip, text.as_str()).await.err(),
                                _ => on_binary(&mut socket, &state).await.err(),
                            }
                        } else {
                            state.metrics.reject(ErrorCode::RateLimited.as_str());
                            strikes += 1;
                            if strikes > limits.message_burst {
                                Some(Stop::Close(close_code::POLICY_VIOLATION, "message rate limit exceeded"))
                            } else {
                                send(&mut socket, &ServerMessage::error(ErrorCode::RateLimited, None)).await.err()
                            }
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(_))) | None => Some(Stop::Gone),
                    Some(Err(e)) => Some(read_error(&e, &state)),
                };
            }
            cmd = rx.recv() => {
                stop = match cmd {
                    Some(ConnCommand::Send(msg)) => send(&mut socket, &msg).await.err(),
                    Some(ConnCommand::Close(code)) => Some(Stop::Close(code, close_reason(code))),
                    // The hub dropped us: we could not keep up with our own messages.
                    None => Some(Stop::Close(close_code::POLICY_VIOLATION, "too slow to receive messages")),
                };
            }
            _ = ticker.tick() => {
                stop = if last_heard.elapsed() > keepalive * 3 {
                    Some(Stop::Close(close_code::KEEPALIVE_TIMEOUT, "nothing heard from the client"))
                } else {
                    socket.send(Message::Ping(Default::default())).await.err().map(|_| Stop::Gone)
                };
            }
        }
    }
    if let Some(Stop::Close(code, reason)) = stop {
        close_handshake(&mut socket, code, reason).await;
    }
    let _ = state.hub.send(HubMsg::Core(Input::Disconnected { conn })).await;
    state.metrics.connections.dec();
}

/// Sends our close frame, then reads (and discards) until the peer's close
/// arrives ([RFC 6455 §7.1.1](https://www.rfc-editor.org/rfc/rfc6455#section-7.1.1)):
/// closing with unread input would make TCP reset the connection before the
/// peer reads our close code. Bounded, since the peer may be gone.
async fn close_handshake(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        socket.send(Message::Close(Some(frame))).await?;
        while let Some(msg) = socket.recv().await {
            if matches!(msg?, Message::Close(_)) {
                break;
            }
        }
        Ok::<(), axum::Error>(())
    })
    .await;
}

/// Binary frames are not part of the protocol.
async fn on_binary(socket: &mut WebSocket, state: &AppState) -> Result<(), Stop> {
    state.metrics.reject(ErrorCode::BadJson.as_str());
    let msg = ServerMessage::Error {
        code: ErrorCode::BadJson,
        message: "Binary frames are not accepted; send JSON text frames.".into(),
        in_reply_to: None,
    };
    send(socket, &msg).await
}

/// Decodes and acts on one text frame (at most MAX_MESSAGE_BYTES: the WebSocket layer enforces it).
async fn on_text(
    socket: &mut WebSocket,
    state: &AppState,
    conn: ConnId,
    ip: IpAddr,
    text: &str,
) -> Result<(), Stop> {
    let msg = match tandem_wire::decode::<ClientMessage>(text) {
        Ok(m) => m,
        Err(e) => {
            state.metrics.reject(e.code.as_str());
            let reply = ServerMessage::Error {
                code: e.code,
                message: format!("{} ({})", e.code.message(), e.detail),
                in_reply_to: e.message_type.map(str::to_owned),
            };
            return send(socket, &reply).await;
        }
    };
    let kind = msg.type_name();
    let now = hub::now();
    if let ClientMessage::Ping { nonce } = msg {
        return send(socket, &ServerMessage::Pong { nonce }).await;
    }
    let refused = if matches!(msg, ClientMessage::Join { .. }) && !state.allow_join(ip, now) {
        Err(ErrorCode::JoinRateLimited)
    } else {
        Request::from_client(msg, |token| state.tokens.verify(token.as_str(), now).ok())
    };
    match refused {
        Ok(Some(request)) => forward(state, conn, request).await,
        Ok(None) => Ok(()),
        Err(code) => {
            state.metrics.reject(code.as_str());
            send(socket, &ServerMessage::error(code, Some(kind))).await
        }
    }
}

async fn forward(state: &AppState, conn: ConnId, request: Request) -> Result<(), Stop> {
    let msg = HubMsg::Core(Input::Request { conn, request });
    state.hub.send(msg).await.map_err(|_| Stop::Close(close_code::GOING_AWAY, "server shutting down"))
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> Result<(), Stop> {
    socket.send(Message::Text(tandem_wire::encode(msg).into())).await.map_err(|_| Stop::Gone)
}

/// A read error: over-size frames get 1009, anything else means the socket is gone.
fn read_error(e: &axum::Error, state: &AppState) -> Stop {
    use std::error::Error as _;
    let too_big = e
        .source()
        .and_then(|s| s.downcast_ref::<tungstenite::Error>())
        .is_some_and(|t| matches!(t, tungstenite::Error::Capacity(_)));
    if too_big {
        state.metrics.reject("message_too_large");
        Stop::Close(close_code::MESSAGE_TOO_BIG, "message larger than 65536 bytes")
    } else {
        Stop::Gone
    }
}

fn close_reason(code: u16) -> &'static str {
    match code {
        close_code::GOING_AWAY => "server shutting down",
        close_code::REPLACED => "resumed on another connection",
        _ => "",
    }
}
