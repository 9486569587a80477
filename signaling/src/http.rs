//! HTTP routes: the WebSocket upgrade (with its Origin check), CSR sign-in,
//! reports, health, metrics and the web client's static files (with the
//! customer's join page also at `/join/{number}`, where invite links point).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tandem_wire::{DisplayName, MAX_MESSAGE_BYTES, SessionId, SessionNumber};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::auth::{self, TokenIssuer};
use crate::config::Config;
use crate::core::{Agent, AgentId, Timestamp};
use crate::hub::{self, HubMsg};
use crate::invitations::{self, EmailAddress, InvitationKind, Language, Mailer};
use crate::limits::KeyedLimiter;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::ws;

/// What every request handler and connection task shares. Immutable but for
/// atomics and two small rate-limit tables (locked briefly, never across `.await`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub hub: mpsc::Sender<HubMsg>,
    pub tokens: TokenIssuer,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// Sends invitation e-mails; `None` when SMTP is not configured.
    pub mailer: Option<Arc<dyn Mailer>>,
    pub config: Config,
    /// `scheme://host[:port]` of the public URL, for the Origin check.
    pub public_origin: String,
    /// Live connection tasks, so that shutdown can wait for their close frames.
    pub connections: TaskTracker,
    join_limiter: Mutex<KeyedLimiter<IpAddr>>,
    signin_limiter: Mutex<KeyedLimiter<IpAddr>>,
    invitation_limiter: Mutex<KeyedLimiter<AgentId>>,
    /// Bounds concurrent argon2 verifications (CPU and memory heavy).
    password_checks: tokio::sync::Semaphore,
    next_conn: AtomicU64,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(
        hub: mpsc::Sender<HubMsg>,
        tokens: TokenIssuer,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        mailer: Option<Arc<dyn Mailer>>,
        config: Config,
        public_url: &str,
    ) -> Self {
        let public_origin = origin_of(public_url);
        Self(Arc::new(Shared {
            join_limiter: Mutex::new(KeyedLimiter::per_minute(config.limits.joins_per_minute)),
            signin_limiter: Mutex::new(KeyedLimiter::per_minute(config.limits.signins_per_minute)),
            invitation_limiter: Mutex::new(KeyedLimiter::per_minute(config.limits.invitations_per_minute)),
            password_checks: tokio::sync::Semaphore::new(2),
            next_conn: AtomicU64::new(1),
            connections: TaskTracker::new(),
            hub,
            tokens,
            store,
            metrics,
            mailer,
            config,
            public_origin,
        }))
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a join attempt from `ip`; false when over the per-IP limit.
    pub fn allow_join(&self, ip: IpAddr, now: Timestamp) -> bool {
        // A poisoned lock only means another task panicked mid-check; the table is still usable.
        self.join_limiter.lock().unwrap_or_else(|p| p.into_inner()).check(&ip, now)
    }

    fn allow_signin(&self, ip: IpAddr, now: Timestamp) -> bool {
        self.signin_limiter.lock().unwrap_or_else(|p| p.into_inner()).check(&ip, now)
    }

    fn allow_invitation(&self, agent: AgentId, now: Timestamp) -> bool {
        self.invitation_limiter.lock().unwrap_or_else(|p| p.into_inner()).check(&agent, now)
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let web = tower_http::services::ServeDir::new(&state.config.web_root);
    // Invite links point at /join/{number}; the page reads the number from its path.
    let join_page = tower_http::services::ServeFile::new(state.config.web_root.join("join.html"));
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route_service("/join/{number}", join_page)
        .route("/api/v1/signin", post(signin))
        .route("/api/v1/invitations", post(invite))
        .route("/api/v1/reports", get(list_reports))
        .route("/api/v1/reports/{session_id}", get(get_report))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback_service(web)
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

/// A JSON error body: `{"error": code, "message": text}`.
fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&headers, &state) {
        state.metrics.reject("bad_origin");
        return api_error(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "This page's origin may not open a Tandem connection.",
        );
    }
    if state.metrics.connections.get()
        >= i64::try_from(state.config.limits.max_connections).unwrap_or(i64::MAX)
    {
        state.metrics.reject("too_many_connections");
        return api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Too many connections; try again shortly.",
        );
    }
    let tracker = state.connections.clone();
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| tracker.track_future(ws::run(socket, peer.ip(), state)))
}

/// No Origin (native clients) is fine; a browser page must be ours or explicitly allowed.
fn origin_allowed(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == state.public_origin
        || state.config.allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(&origin))
    {
        return true;
    }
    // Same-origin: the page came from the host the browser is talking to now.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    let scheme = if state.config.serves_tls() { "https" } else { "http" };
    host.is_some_and(|h| origin == format!("{scheme}://{h}"))
}

/// `scheme://host[:port]` of a URL, lowercased.
fn origin_of(url: &str) -> String {
    let url = url.to_ascii_lowercase();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

#[derive(Deserialize)]
struct SigninBody {
    name: String,
    password: String,
}

async fn signin(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<SigninBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let now = hub::now();
    if !state.allow_signin(peer.ip(), now) {
        state.metrics.reject("signin_rate_limited");
        return api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many sign-in attempts; wait a minute.",
        );
    }
    let Ok(Json(body)) = body else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send JSON: {\"name\": ..., \"password\": ...}.",
        );
    };
    let record = match state.store.find_agent(&body.name).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "sign-in lookup failed");
            return api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Try again.");
        }
    };
    // Verify against a fixed dummy hash when the name is unknown, so timing does not tell which names exist.
    let hash = record.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |r| r.password_hash.clone());
    let password = body.password;
    let Ok(_permit) = state.password_checks.acquire().await else {
        return api_error(StatusCode::SERVICE_UNAVAILABLE, "busy", "Shutting down.");
    };
    let ok =
        tokio::task::spawn_blocking(move || auth::verify_password(&hash, &password)).await.unwrap_or(false);
    let agent = match (ok, record) {
        (true, Some(r)) => match DisplayName::parse(r.name) {
            Ok(name) => Agent { id: r.id, name },
            Err(_) => {
                return api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Stored name is invalid.");
            }
        },
        _ => {
            state.metrics.reject("bad_credentials");
            return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "Wrong name or password.");
        }
    };
    let (token, expires) = state.tokens.issue(&agent, now);
    Json(json!({
        "token": token,
        "expires_at": expires.unix_millis(),
        "agent": { "id": agent.id, "name": agent.name },
    }))
    .into_response()
}

/// An argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qvz4Y2ZDF7vTBH0zTi4HdbNHcgyyOy8pZZgtoUHDD0Y";

/// The signed-in CSR from `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap, state: &AppState) -> Result<Agent, Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            api_error(StatusCode::UNAUTHORIZED, "unauthorized", "Sign in first (Authorization: Bearer).")
        })?;
    state.tokens.verify(token.trim(), hub::now()).map_err(|_| {
        Box::new(api_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign in again: the token is invalid or expired.",
        ))
    })
}

#[derive(Deserialize)]
struct InvitationBody {
    session_number: SessionNumber,
    to: String,
    #[serde(default)]
    language: Option<String>,
    kind: InvitationKind,
}

/// `POST /api/v1/invitations`: a CSR of a live session has the server e-mail
/// an invitation (SES-2) to a customer (join link) or another CSR (assist).
async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<InvitationBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let agent = match bearer(&headers, &state) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some(mailer) = state.mailer.clone() else {
        return api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "email_not_configured",
            "This server does not send e-mail: the operator has not configured SMTP.",
        );
    };
    let Ok(Json(body)) = body else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send JSON: {\"session_number\", \"to\", \"language\", \"kind\": \"customer\" or \"csr\"}.",
        );
    };
    let to = match EmailAddress::parse(&body.to) {
        Ok(a) => a,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, "bad_address", &e.to_string()),
    };
    if !state.allow_invitation(agent.id, hub::now()) {
        state.metrics.reject("invitation_rate_limited");
        return api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many invitations; wait a minute.",
        );
    }
    let (reply, answer) = oneshot::channel();
    let ask = HubMsg::Invitation { agent: agent.id, number: body.session_number, reply };
    let busy = || api_error(StatusCode::SERVICE_UNAVAILABLE, "busy", "Shutting down.");
    if state.hub.send(ask).await.is_err() {
        return busy();
    }
    let details = match answer.await {
        Ok(Some(d)) => d,
        Ok(None) => {
            // Also for a session that does not exist: this must not tell which numbers are live.
            return api_error(
                StatusCode::FORBIDDEN,
                "not_allowed",
                "Only a CSR taking part in this session can invite to it.",
            );
        }
        Err(_) => return busy(),
    };
    let language = Language::from_tag(body.language.as_deref().unwrap_or("en"));
    let mail = invitations::compose(to, body.kind, language, &details, agent.name.as_str());
    match mailer.send(mail).await {
        Ok(()) => {
            state.metrics.invitations_sent.inc();
            (StatusCode::ACCEPTED, Json(json!({ "sent": true }))).into_response()
        }
        Err(e) => {
            state.metrics.invitations_failed.inc();
            tracing::warn!(error = %e, "invitation e-mail not sent");
            api_error(
                StatusCode::BAD_GATEWAY,
                "email_failed",
                "The mail server did not take the invitation; try again later.",
            )
        }
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    limit: Option<u32>,
}

async fn list_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    if let Err(r) = bearer(&headers, &state) {
        return *r;
    }
    match state.store.reports(q.limit.unwrap_or(100).min(1000)).await {
        Ok(reports) => Json(json!({ "reports": reports })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing reports failed");
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Try again.")
        }
    }
}

async fn get_report(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = bearer(&headers, &state) {
        return *r;
    }
    let Ok(id) = id.parse::<SessionId>() else {
        return api_error(StatusCode::BAD_REQUEST, "bad_request", "A session id is 32 lowercase hex digits.");
    };
    match state.store.report(id).await {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => api_error(StatusCode::NOT_FOUND, "not_found", "No report for this session."),
        Err(e) => {
            tracing::error!(error = %e, "reading a report failed");
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Try again.")
        }
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_strips_path() {
        assert_eq!(origin_of("https://Support.Example.com/app/"), "https://support.example.com");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!auth::verify_password(DUMMY_HASH, ""));
    }
}
