//! Server configuration: a TOML file, then `TANDEM_*` environment variables and
//! command-line flags on top (see `docs/operations.md`). Validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tandem_turn_config::{TurnConfig, TurnSettings};
use tandem_wire::IceServer;

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Loopback without a certificate serves plain HTTP;
    /// any other address without a certificate gets a generated self-signed one.
    pub listen: SocketAddr,
    /// The address users reach the site at (invite links). Default: derived from `listen`.
    pub public_url: Option<String>,
    /// Directory for the SQLite database (and other state).
    pub data_dir: PathBuf,
    /// Database URL; default `sqlite://{data_dir}/tandem.db`.
    pub database_url: Option<String>,
    /// Directory of the web client's static files.
    pub web_root: PathBuf,
    /// `human` or `json` log lines.
    pub log_format: LogFormat,
    /// Browser origins allowed to open the WebSocket besides the site's own.
    pub allowed_origins: Vec<String>,
    pub tls: TlsConfig,
    pub session: SessionConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    /// STUN/TURN servers handed to participants.
    pub ice_servers: Vec<IceServer>,
    /// The mail relay for invitation e-mails (SES-2); invitations by e-mail are
    /// off without it.
    pub smtp: Option<SmtpConfig>,
    /// TURN: URLs handed out with per-participant credentials, the shared
    /// secret, and the settings coturn's configuration is generated from.
    pub turn: TurnSettings,
    /// The embedded TURN relay (UDP), on by default.
    pub relay: RelayConfig,
    /// The organisation that runs this site (e.g. "Example Support Ltd"): consent
    /// prompts name it next to the CSR's name. Up to 64 characters.
    pub organisation: Option<tandem_wire::DisplayName>,
}

/// The embedded TURN relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Run it (default true). Turn it off when coturn serves the site.
    pub enabled: bool,
    /// UDP address; default: `listen`'s address, port 3478 (port 0 when `listen` has port 0).
    pub listen: Option<SocketAddr>,
    /// The address clients reach it at: the relayed addresses it hands out and
    /// the host of its `stun:`/`turn:` URLs. Default: the listen address, or
    /// `public_url`'s host when that is an IP address.
    pub public_ip: Option<std::net::IpAddr>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self { enabled: true, listen: None, public_ip: None }
    }
}

/// The SMTP relay the server sends invitation e-mails through.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name (or address) of the relay.
    pub host: String,
    /// Default: 25 (`none`), 587 (`starttls`), 465 (`tls`).
    pub port: Option<u16>,
    /// Sign in to the relay (AUTH PLAIN/LOGIN) with these; both or neither.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Tandem Support <support@example.com>`.
    pub from: String,
    pub security: SmtpSecurity,
}

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
}

impl SmtpConfig {
    /// The port in effect.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        })
    }

    fn validate(&self) -> Result<(), String> {
        let host = self.host.trim();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
            return Err(format!("smtp.host {:?} must be a host name or address", self.host));
        }
        if self.port == Some(0) {
            return Err("smtp.port must be between 1 and 65535".into());
        }
        if self.username.is_some() != self.password.is_some() {
            return Err("smtp.username and smtp.password go together: set both or neither".into());
        }
        if self.from.trim().is_empty() {
            return Err(
                "smtp.from is required: the sender address, e.g. \"Support <support@example.com>\"".into()
            );
        }
        if self.from.contains(['\r', '\n']) || self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(format!(
                "smtp.from {:?} is not a valid sender (\"name@example.com\" or \"Name <name@example.com>\")",
                self.from
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("security", &self.security)
            .finish()
    }
}

/// HTTPS certificate, PEM files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Session rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Seconds a dropped participant is kept for a resume.
    pub grace_secs: u64,
    /// Most participants per session, lobby included.
    pub max_participants: usize,
}

/// Abuse limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sustained messages a second per connection.
    pub messages_per_sec: u32,
    /// Messages a connection may send at once before the rate applies.
    pub message_burst: u32,
    /// Join attempts a minute per client IP.
    pub joins_per_minute: u32,
    /// Sign-in attempts a minute per client IP.
    pub signins_per_minute: u32,
    /// Seconds between keepalive pings; a client silent for three times this is dropped.
    pub keepalive_secs: u64,
    /// Most simultaneous WebSocket connections.
    pub max_connections: usize,
    /// Invitation e-mails a minute per CSR account.
    pub invitations_per_minute: u32,
}

/// CSR sign-in.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of a sign-in token, seconds.
    pub token_ttl_secs: u64,
    /// 64 hex digits; tokens then survive restarts. Default: random at each start.
    pub token_secret: Option<String>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// A configuration that cannot work, with what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{0}")]
    Invalid(String),
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            web_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web")),
            log_format: LogFormat::Human,
            allowed_origins: Vec::new(),
            tls: TlsConfig::default(),
            session: SessionConfig::default(),
            limits: LimitsConfig::default(),
            auth: AuthConfig::default(),
            ice_servers: Vec::new(),
            smtp: None,
            turn: TurnSettings::default(),
            relay: RelayConfig::default(),
            organisation: None,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { grace_secs: 60, max_participants: 16 }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            messages_per_sec: 50,
            message_burst: 200,
            joins_per_minute: 30,
            signins_per_minute: 10,
            keepalive_secs: 20,
            max_connections: 50_000,
            invitations_per_minute: 10,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { token_ttl_secs: 3600, token_secret: None }
    }
}

impl Config {
    /// Reads a TOML file (every key optional).
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), source: Box::new(e) })
    }

    /// Checks what cannot be checked by types alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key go together: set both or neither".into());
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(format!("public_url {url:?} must start with http:// or https://"));
        }
        for o in &self.allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                return bad(format!(
                    "allowed origin {o:?} must look like https://host[:port], without a path"
                ));
            }
        }
        if self.session.max_participants < 2 {
            return bad("session.max_participants must be at least 2".into());
        }
        let l = &self.limits;
        for (name, value) in [
            ("messages_per_sec", u64::from(l.messages_per_sec)),
            ("message_burst", u64::from(l.message_burst)),
            ("joins_per_minute", u64::from(l.joins_per_minute)),
            ("signins_per_minute", u64::from(l.signins_per_minute)),
            ("keepalive_secs", l.keepalive_secs),
            ("max_connections", l.max_connections as u64),
            ("invitations_per_minute", u64::from(l.invitations_per_minute)),
        ] {
            if value == 0 {
                return bad(format!("limits.{name} must be at least 1"));
            }
        }
        if let Some(s) = &self.auth.token_secret
            && parse_hex_key(s).is_none()
        {
            return bad("auth.token_secret must be 64 hex digits (32 bytes)".into());
        }
        if self.auth.token_ttl_secs == 0 {
            return bad("auth.token_ttl_secs must be positive".into());
        }
        for s in &self.ice_servers {
            if s.urls.is_empty()
                || s.urls
                    .iter()
                    .any(|u| !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")))
            {
                return bad(format!("ice server URLs must start with stun:, turn: or turns: ({:?})", s.urls));
            }
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate().map_err(ConfigError::Invalid)?;
        }
        self.turn_config()?;
        if self.relay.enabled {
            self.relay_public_ip()?;
        }
        Ok(())
    }

    /// The validated `[turn]` settings.
    pub fn turn_config(&self) -> Result<TurnConfig, ConfigError> {
        self.turn.clone().validate().map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The embedded relay's UDP address.
    pub fn relay_listen(&self) -> SocketAddr {
        self.relay.listen.unwrap_or_else(|| {
            SocketAddr::new(self.listen.ip(), if self.listen.port() == 0 { 0 } else { 3478 })
        })
    }

    /// The address clients reach the embedded relay at.
    pub fn relay_public_ip(&self) -> Result<std::net::IpAddr, ConfigError> {
        if let Some(ip) = self.relay.public_ip {
            return Ok(ip);
        }
        let listen = self.relay_listen().ip();
        if !listen.is_unspecified() {
            return Ok(listen);
        }
        let host = self.public_url.as_deref().map(origin_host);
        host.and_then(|h| h.parse().ok()).ok_or_else(|| {
            ConfigError::Invalid(
                "the embedded TURN relay listens on all addresses: set relay.public_ip to the address clients reach it at \
                 (or relay.enabled = false)"
                    .into(),
            )
        })
    }

    /// Whether the server serves HTTPS (configured certificate, or self-signed for non-loopback).
    pub fn serves_tls(&self) -> bool {
        self.tls.cert.is_some() || !self.listen.ip().is_loopback()
    }

    /// The site's public address, without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("{}://{bound}", if self.serves_tls() { "https" } else { "http" }),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tandem.db").display()))
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.session.grace_secs)
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.limits.keepalive_secs)
    }
}

/// The host of `scheme://host[:port]/...`, without brackets.
pub fn origin_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
}

/// 64 hex digits → 32 bytes.
pub fn parse_hex_key(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_local() {
        let c = Config::default();
        c.validate().unwrap();
        assert!(!c.serves_tls(), "loopback without a certificate is plain HTTP");
        assert_eq!(c.public_url(c.listen), "http://127.0.0.1:8080");
        assert_eq!(c.session.grace_secs, 60);
        assert_eq!(c.limits.joins_per_minute, 30);
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("listen = \"0.0.0.0:443\"\n[session]\ngrace_secs = 5\n").unwrap();
        assert!(c.serves_tls(), "non-loopback gets a self-signed certificate");
        assert_eq!(c.grace(), Duration::from_secs(5));
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }

    #[test]
    fn invalid_settings_are_explained() {
        let mut c = Config::default();
        c.tls.cert = Some("a.pem".into());
        assert!(c.validate().unwrap_err().to_string().contains("tls.key"));
        let c = Config { allowed_origins: vec!["example.com".into()], ..Config::default() };
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.limits.signins_per_minute = 0;
        assert!(c.validate().unwrap_err().to_string().contains("signins_per_minute"));
        let mut c = Config::default();
        c.auth.token_secret = Some("abc".into());
        assert!(c.validate().is_err());
        assert!(parse_hex_key(&"ab".repeat(32)).is_some());
    }

    #[test]
    fn turn_and_relay_settings_are_validated() {
        let c: Config = toml::from_str("[turn]\nudp_urls = [\"turn:turn.example.com\"]\n").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("turn.secret is required"));
        let c: Config =
            toml::from_str("[turn]\ntls_urls = [\"turn:x\"]\nsecret = \"0123456789abcdef\"\n").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("turn.tls_urls"));
        let c: Config = toml::from_str("listen = \"0.0.0.0:443\"\n").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("relay.public_ip"));
        let c: Config =
            toml::from_str("listen = \"0.0.0.0:443\"\npublic_url = \"https://203.0.113.5\"\n").unwrap();
        assert_eq!(c.relay_public_ip().unwrap().to_string(), "203.0.113.5");
        assert_eq!(c.relay_listen().to_string(), "0.0.0.0:3478");
        let c: Config = toml::from_str("listen = \"0.0.0.0:443\"\n[relay]\nenabled = false\n").unwrap();
        c.validate().unwrap();
        let c = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
        assert_eq!(c.relay_listen().to_string(), "127.0.0.1:0", "tests get an ephemeral relay port");
        assert_eq!(origin_host("https://[2001:db8::1]:8443/x"), "2001:db8::1");
    }

    #[test]
    fn smtp_is_validated_with_clear_messages() {
        let with = |toml_text: &str| {
            let c: Config = toml::from_str(toml_text).unwrap();
            c.validate().map_err(|e| e.to_string())
        };
        with("[smtp]\nhost = \"mail.example.com\"\nfrom = \"Support <support@example.com>\"\n").unwrap();
        let c: Config = toml::from_str(
            "[smtp]\nhost = \"mail.example.com\"\nfrom = \"a@example.com\"\nsecurity = \"tls\"\n",
        )
        .unwrap();
        assert_eq!(c.smtp.as_ref().unwrap().port(), 465);
        assert!(with("[smtp]\nhost = \"mail.example.com\"\n").unwrap_err().contains("smtp.from is required"));
        assert!(with("[smtp]\nfrom = \"a@example.com\"\n").unwrap_err().contains("smtp.host"));
        assert!(
            with("[smtp]\nhost = \"m\"\nfrom = \"not an address\"\n")
                .unwrap_err()
                .contains("not a valid sender")
        );
        assert!(
            with("[smtp]\nhost = \"m\"\nfrom = \"a@example.com\\r\\nBcc: x@evil.example\"\n")
                .unwrap_err()
                .contains("not a valid sender"),
            "no header injection through the sender"
        );
        assert!(
            with("[smtp]\nhost = \"m\"\nfrom = \"a@example.com\"\nusername = \"u\"\n")
                .unwrap_err()
                .contains("smtp.password")
        );
        assert!(
            toml::from_str::<Config>("[smtp]\nsecurity = \"ssl\"\n").is_err(),
            "only none, starttls, tls"
        );
        let c: Config = toml::from_str(
            "[smtp]\nhost = \"m\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword = \"hunter2\"\n",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"), "the password is not logged");
    }
}
