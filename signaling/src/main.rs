//! `tandem-signaling`: run the server, or manage CSR accounts.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tandem_signaling::config::{Config, LogFormat, SmtpConfig, SmtpSecurity};
use tandem_signaling::{auth, hub, server, store};
use tandem_wire::DisplayName;

/// Tandem signaling server: sessions, SDP/ICE brokering, CSR accounts and reports.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (every key optional; flags and TANDEM_* variables override it).
    #[arg(long, global = true, env = "TANDEM_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the database and generated certificates.
    #[arg(long, global = true, env = "TANDEM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (default sqlite://DATA_DIR/tandem.db).
    #[arg(long, global = true, env = "TANDEM_DATABASE_URL")]
    database_url: Option<String>,
    /// Log line format.
    #[arg(long, global = true, env = "TANDEM_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// The TURN shared secret (turn.secret), for minting credentials and for coturn's config.
    #[arg(long, global = true, env = "TANDEM_TURN_SECRET", hide_env_values = true)]
    turn_secret: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Manage CSR (agent) accounts.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// TURN relay tools.
    #[command(subcommand)]
    Turn(TurnCommand),
}

#[derive(Subcommand)]
enum TurnCommand {
    /// Print coturn's turnserver.conf for the configured [turn] settings (it contains the secret).
    CoturnConfig,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:443.
    #[arg(long, env = "TANDEM_LISTEN")]
    listen: Option<SocketAddr>,
    /// Address users reach the site at, for invite links.
    #[arg(long, env = "TANDEM_PUBLIC_URL")]
    public_url: Option<String>,
    /// A browser origin allowed to open the WebSocket (repeat, or comma-separate in the variable).
    #[arg(long = "allowed-origin", env = "TANDEM_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "TANDEM_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "TANDEM_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seconds a dropped participant is kept for a resume.
    #[arg(long, env = "TANDEM_GRACE_SECS")]
    grace_secs: Option<u64>,
    /// Directory of the web client's files.
    #[arg(long, env = "TANDEM_WEB_ROOT")]
    web_root: Option<PathBuf>,
    #[command(flatten)]
    smtp: SmtpArgs,
    /// UDP address of the embedded TURN relay (default: listen address, port 3478).
    #[arg(long, env = "TANDEM_RELAY_LISTEN")]
    relay_listen: Option<SocketAddr>,
    /// The address clients reach the embedded relay at (needed when it listens on 0.0.0.0).
    #[arg(long, env = "TANDEM_RELAY_PUBLIC_IP")]
    relay_public_ip: Option<std::net::IpAddr>,
    /// Do not run the embedded TURN relay (e.g. coturn serves the site).
    #[arg(long, env = "TANDEM_NO_RELAY")]
    no_relay: bool,
}

/// The mail relay for invitation e-mails; overrides `[smtp]` key by key.
#[derive(clap::Args, Default)]
struct SmtpArgs {
    /// SMTP relay host; setting it turns invitation e-mails on.
    #[arg(long, env = "TANDEM_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default 25, 587 or 465 by security).
    #[arg(long, env = "TANDEM_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// SMTP user name.
    #[arg(long, env = "TANDEM_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// SMTP password (prefer the variable or the config file: flags show in `ps`).
    #[arg(long, env = "TANDEM_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// Sender of invitations, e.g. "Support <support@example.com>".
    #[arg(long, env = "TANDEM_SMTP_FROM")]
    smtp_from: Option<String>,
    /// none, starttls or tls.
    #[arg(long, env = "TANDEM_SMTP_SECURITY", value_enum)]
    smtp_security: Option<SmtpSecurity>,
}

impl SmtpArgs {
    fn apply(self, smtp: &mut Option<SmtpConfig>) {
        let any = self.smtp_host.is_some()
            || self.smtp_port.is_some()
            || self.smtp_username.is_some()
            || self.smtp_password.is_some()
            || self.smtp_from.is_some()
            || self.smtp_security.is_some();
        if !any {
            return;
        }
        let s = smtp.get_or_insert_with(SmtpConfig::default);
        if let Some(v) = self.smtp_host {
            s.host = v;
        }
        if self.smtp_port.is_some() {
            s.port = self.smtp_port;
        }
        if self.smtp_username.is_some() {
            s.username = self.smtp_username;
        }
        if self.smtp_password.is_some() {
            s.password = self.smtp_password;
        }
        if let Some(v) = self.smtp_from {
            s.from = v;
        }
        if let Some(v) = self.smtp_security {
            s.security = v;
        }
    }
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create a CSR account; the password is asked for (or read from stdin).
    Add {
        /// Sign-in name, also shown to customers.
        name: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List CSR accounts.
    List,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        // No subcommand means `serve`: parse again with it, so serve's flags and TANDEM_* variables apply.
        cli = Cli::parse_from(std::env::args_os().chain([std::ffi::OsString::from("serve")]));
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(d) = cli.data_dir {
        config.data_dir = d;
    }
    if let Some(u) = cli.database_url {
        config.database_url = Some(u);
    }
    if let Some(f) = cli.log_format {
        config.log_format = f;
    }
    if cli.turn_secret.is_some() {
        config.turn.secret = cli.turn_secret;
    }
    init_logging(config.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command.unwrap_or_else(|| Command::Serve(Box::default())) {
        Command::Serve(args) => {
            apply_serve_args(&mut config, *args);
            runtime.block_on(serve(config))
        }
        Command::Agent(cmd) => runtime.block_on(agent(config, cmd)),
        Command::Turn(TurnCommand::CoturnConfig) => {
            let turn = config.turn_config()?;
            if turn.settings().secret.is_none() {
                bail!(
                    "turn.secret (or TANDEM_TURN_SECRET) is required: coturn and the signaling server share it"
                );
            }
            print!("{}", tandem_turn_config::coturn::turnserver_conf(&turn));
            Ok(())
        }
    }
}

fn apply_serve_args(config: &mut Config, a: ServeArgs) {
    if let Some(v) = a.listen {
        config.listen = v;
    }
    if a.public_url.is_some() {
        config.public_url = a.public_url;
    }
    if !a.allowed_origins.is_empty() {
        config.allowed_origins = a.allowed_origins;
    }
    if a.tls_cert.is_some() {
        config.tls.cert = a.tls_cert;
    }
    if a.tls_key.is_some() {
        config.tls.key = a.tls_key;
    }
    if let Some(v) = a.grace_secs {
        config.session.grace_secs = v;
    }
    if let Some(v) = a.web_root {
        config.web_root = v;
    }
    a.smtp.apply(&mut config.smtp);
    if a.relay_listen.is_some() {
        config.relay.listen = a.relay_listen;
    }
    if a.relay_public_ip.is_some() {
        config.relay.public_ip = a.relay_public_ip;
    }
    if a.no_relay {
        config.relay.enabled = false;
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    fit_connections_to_fd_limit(&mut config);
    let running = server::start(config).await?;
    eprintln!("Tandem is running at {}", running.url);
    running.run_until(shutdown_signal()).await
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// Lifts the soft open-files limit to the hard one (each WebSocket is a file
/// descriptor) and lowers `max_connections` to what fits, so that a full server
/// answers 503 instead of silently failing to accept.
fn fit_connections_to_fd_limit(config: &mut Config) {
    /// Descriptors kept for the database, listeners, logs and HTTP requests in flight.
    const RESERVE: u64 = 64;
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open files limit");
            return;
        }
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVE)).unwrap_or(usize::MAX).max(1);
    if config.limits.max_connections > fits {
        tracing::warn!(
            open_files_limit = limit,
            configured = config.limits.max_connections,
            max_connections = fits,
            "the open files limit caps WebSocket connections; raise it (ulimit -n, LimitNOFILE=) for more"
        );
        config.limits.max_connections = fits;
    }
}

async fn agent(config: Config, cmd: AgentCommand) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = store::open(&config.database_url()).await.context("opening the database")?;
    let result = match cmd {
        AgentCommand::Add { name, password_stdin } => {
            let name = DisplayName::parse(name).map_err(|e| anyhow::anyhow!("agent name: {e}"))?;
            let password = if password_stdin { read_stdin_line()? } else { prompt_password()? };
            if password.chars().count() < 8 {
                bail!("the password must have at least 8 characters");
            }
            let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let id = store.add_agent(&name, &hash, hub::now()).await?;
            println!("created agent {:?} (id {})", name.as_str(), id.0);
            Ok(())
        }
        AgentCommand::List => {
            for a in store.list_agents().await? {
                println!("{}\t{}", a.id.0, a.name);
            }
            Ok(())
        }
    };
    store.close().await;
    result
}

fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn prompt_password() -> anyhow::Result<String> {
    let first = rpassword::prompt_password("Password: ")
        .context("reading the password (use --password-stdin without a terminal)")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        bail!("the passwords do not match");
    }
    Ok(first)
}
