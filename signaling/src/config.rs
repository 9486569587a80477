//! Server configuration: a TOML file, then `TANDEM_*` environment variables and
//! command-line flags on top (see `docs/operations.md`). Validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
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
        Ok(())
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
}
