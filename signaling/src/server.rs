//! Assembles and runs the server: store, hub, report writer, HTTP(S), and the
//! orderly shutdown (clients told, sessions ended with a reason, reports flushed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rand::SeedableRng as _;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::auth::TokenIssuer;
use crate::config::{Config, parse_hex_key};
use crate::core::{CoreConfig, Registry, ReportEvent};
use crate::http::{AppState, router};
use crate::hub::{self, HubMsg};
use crate::invitations::Mailer;
use crate::invitations::smtp::SmtpMailer;
use crate::metrics::Metrics;
use crate::relay::{EmbeddedRelay, RelaySettings};
use crate::store::{self, Store};
use tandem_turn_config::TurnConfig;

/// A started server.
pub struct RunningServer {
    /// The address it listens on (port 0 in the config becomes the real port here).
    pub addr: SocketAddr,
    /// Its public URL (`http://127.0.0.1:PORT` by default).
    pub url: String,
    /// The embedded TURN relay's UDP address, when it runs.
    pub relay_addr: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Shuts down in order and waits until reports are flushed.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("server task panicked")?
    }

    /// Runs until `signal` resolves, then shuts down.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        signal.await;
        tracing::info!("shutting down: ending sessions and flushing reports");
        self.shutdown().await
    }
}

/// Opens storage, binds the listener and starts serving.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    config.validate()?;
    // One process-wide crypto provider for rustls: ring (see ../shared/SETUP.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = store::open(&config.database_url()).await.context("opening the database")?;
    let interrupted = store.close_interrupted(hub::now()).await?;
    if interrupted > 0 {
        tracing::warn!(interrupted, "closed reports of sessions left open by an earlier crash");
    }

    let listener =
        std::net::TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let url = config.public_url(addr);

    let key = match &config.auth.token_secret {
        Some(hex) => parse_hex_key(hex).context("auth.token_secret")?,
        None => rand::random(),
    };
    let tokens = TokenIssuer::new(key, Duration::from_secs(config.auth.token_ttl_secs));
    let metrics = Arc::new(Metrics::new());
    let (turn, relay) = start_turn(&config, metrics.clone()).await?;
    let relay_addr = relay.as_ref().map(EmbeddedRelay::local_addr);
    let core_config = CoreConfig {
        grace: config.grace(),
        max_participants: config.session.max_participants,
        public_url: url.clone(),
        ice_servers: config.ice_servers.clone(),
        turn,
    };
    let registry = Registry::new(core_config, rand::rngs::StdRng::from_os_rng());

    let (report_tx, report_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_reports(report_rx, store.clone()));
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let hub_task = tokio::spawn(hub::run(registry, hub_rx, report_tx, metrics.clone()));

    let mailer = match &config.smtp {
        Some(smtp) => {
            let m = SmtpMailer::new(smtp).context("setting up the SMTP relay ([smtp])")?;
            tracing::info!(host = %smtp.host, port = smtp.port(), security = ?smtp.security, "invitation e-mails on");
            Some(Arc::new(m) as Arc<dyn Mailer>)
        }
        None => None,
    };
    let tls = crate::tls::server_config(&config, &url).await?;
    let state = AppState::new(hub_tx.clone(), tokens, store.clone(), metrics, mailer, config, &url);
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let serve = {
        let handle = handle.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(%addr, %url, "serving {scheme}");
        async move {
            // TCP_NODELAY: signaling sends small messages back to back (trickled
            // candidates); with Nagle's algorithm the second waits ~40 ms for the
            // client's delayed ACK.
            use axum_server::accept::NoDelayAcceptor;
            match tls {
                Some(tls) => {
                    let server = axum_server::from_tcp_rustls(listener, tls)?;
                    server.map(|a| a.acceptor(NoDelayAcceptor)).handle(handle).serve(app).await
                }
                None => {
                    axum_server::from_tcp(listener)?.acceptor(NoDelayAcceptor).handle(handle).serve(app).await
                }
            }
        }
    };
    let serve_task = tokio::spawn(serve);

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = stopped.await;
        // 1. Stop accepting; 2. end sessions and close sockets; 3. flush reports.
        handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = hub_tx.send(HubMsg::Shutdown).await;
        drop(hub_tx);
        hub_task.await.context("hub panicked")?;
        state.connections.close();
        if tokio::time::timeout(Duration::from_secs(5), state.connections.wait()).await.is_err() {
            tracing::warn!("some connections did not close within 5 s");
        }
        drop(state);
        if let Some(relay) = relay {
            relay.close().await;
        }
        writer.await.context("report writer panicked")?;
        store.close().await;
        serve_task.await.context("HTTP server panicked")?.context("HTTP server failed")?;
        tracing::info!("shut down cleanly");
        Ok(())
    });
    Ok(RunningServer { addr, url, relay_addr, stop, task })
}

/// The TURN configuration participants get credentials for, and the embedded
/// relay when it is enabled (its URLs are added to the configured ones).
async fn start_turn(
    config: &Config,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(Option<TurnConfig>, Option<EmbeddedRelay>)> {
    let mut settings = config.turn.clone();
    if !config.relay.enabled {
        let turn = config.turn_config()?;
        let any = !turn.ice_servers("-", std::time::SystemTime::now()).is_empty();
        return Ok((any.then_some(turn), None));
    }
    if settings.secret.is_none() {
        // Like auth.token_secret: random at each start unless configured (coturn then needs it configured).
        let bytes: [u8; 32] = rand::random();
        settings.secret = Some(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }
    let turn = settings.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let minter = turn.minter().cloned().context("a TURN secret is set just above")?;
    let public_ip = config.relay_public_ip()?;
    let relay = EmbeddedRelay::start(
        RelaySettings {
            listen: config.relay_listen(),
            public_ip,
            realm: turn.settings().realm.clone(),
            minter,
            filter: turn.peer_filter().clone(),
            allow_loopback: turn.settings().allow_loopback_peers,
            min_port: turn.settings().min_port,
            max_port: turn.settings().max_port,
            user_quota: turn.settings().user_quota,
            total_quota: turn.settings().total_quota,
        },
        metrics,
    )
    .await?;
    let host = match public_ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let port = relay.local_addr().port();
    let turn = turn
        .with_urls(vec![format!("stun:{host}:{port}")], vec![format!("turn:{host}:{port}?transport=udp")]);
    Ok((Some(turn), Some(relay)))
}

/// Applies report events in batches until the hub is gone and the queue is empty.
async fn write_reports(mut rx: mpsc::UnboundedReceiver<ReportEvent>, store: Arc<dyn Store>) {
    let mut batch = Vec::with_capacity(512);
    while rx.recv_many(&mut batch, 512).await > 0 {
        if apply_with_retry(store.as_ref(), &batch).await.is_err() && batch.len() > 1 {
            // One bad event must not cost the others: apply them one by one.
            for event in &batch {
                let _ = apply_with_retry(store.as_ref(), std::slice::from_ref(event)).await;
            }
        }
        batch.clear();
    }
}

/// Retries a busy or briefly unavailable database a few times before giving up (and logging what is lost).
async fn apply_with_retry(store: &dyn Store, events: &[ReportEvent]) -> Result<(), ()> {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=4 {
        match store.apply(events).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 4 => {
                tracing::warn!(error = %e, attempt, "writing reports failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) if events.len() == 1 => {
                tracing::error!(error = %e, event = ?events[0], "report event could not be stored; dropped");
            }
            Err(_) => {}
        }
    }
    Err(())
}
