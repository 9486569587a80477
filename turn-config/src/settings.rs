//! The operator's TURN settings (`[turn]` in the signaling server's config),
//! validated once at start into a [`TurnConfig`], and the ICE server list
//! handed to each participant.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::ranges::{IpRange, PeerFilter};
use crate::{CredentialMinter, DEFAULT_LIFETIME};

/// `[turn]` as written by ops. Every key is optional; see `docs/operations.md`.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnSettings {
    /// The secret shared with the relay (coturn's `static-auth-secret`); at least 16 characters.
    pub secret: Option<String>,
    /// The relay's realm (coturn `realm`), e.g. the site's domain.
    pub realm: String,
    /// Lifetime of the credentials handed out; default 600 (10 minutes).
    pub credential_lifetime_secs: u64,
    /// `stun:host[:port]` URLs.
    pub stun_urls: Vec<String>,
    /// `turn:host[:port]` or `turn:host[:port]?transport=udp`.
    pub udp_urls: Vec<String>,
    /// `turn:host[:port]?transport=tcp`.
    pub tcp_urls: Vec<String>,
    /// `turns:host[:port]?transport=tcp` (TLS; port 443 gets through most firewalls).
    pub tls_urls: Vec<String>,
    /// PEM certificate chain and key for the relay's TLS listener (coturn `cert`, `pkey`).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The relay host's own addresses (private and internal ones): never
    /// reachable as peers. Do not list the public address clients relay
    /// through: relay-to-relay paths through one server go to it (coturn
    /// issue #584); it is `external_ip`.
    pub relay_ips: Vec<IpAddr>,
    /// coturn's `external-ip`: the public address of a relay behind 1:1 NAT.
    pub external_ip: Option<IpAddr>,
    /// coturn: `listening-port` (UDP and TCP) and `tls-listening-port`.
    pub listening_port: u16,
    pub tls_listening_port: u16,
    /// Relay port range.
    pub min_port: u16,
    pub max_port: u16,
    /// Concurrent allocations per credential (username), and in total.
    pub user_quota: u32,
    pub total_quota: u32,
    /// More blocks to deny as peers, besides the built-in special-purpose ones.
    pub denied_peers: Vec<IpRange>,
    /// Allow loopback peers. **Tests only** (like coturn's `--allow-loopback-peers`).
    pub allow_loopback_peers: bool,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            secret: None,
            realm: "tandem".into(),
            credential_lifetime_secs: DEFAULT_LIFETIME.as_secs(),
            stun_urls: Vec::new(),
            udp_urls: Vec::new(),
            tcp_urls: Vec::new(),
            tls_urls: Vec::new(),
            tls_cert: None,
            tls_key: None,
            relay_ips: Vec::new(),
            external_ip: None,
            listening_port: 3478,
            tls_listening_port: 5349,
            min_port: 49152,
            max_port: 65535,
            user_quota: 10,
            total_quota: 1000,
            denied_peers: Vec::new(),
            allow_loopback_peers: false,
        }
    }
}

impl std::fmt::Debug for TurnSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("realm", &self.realm)
            .field("stun_urls", &self.stun_urls)
            .field("udp_urls", &self.udp_urls)
            .field("tcp_urls", &self.tcp_urls)
            .field("tls_urls", &self.tls_urls)
            .finish_non_exhaustive()
    }
}

/// A TURN setting that cannot work, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TurnConfigError {
    #[error("turn.{key}: {url:?} is not a valid {what} URL ({hint})")]
    BadUrl { key: &'static str, url: String, what: &'static str, hint: &'static str },
    #[error("turn.secret is required when TURN URLs are configured (the relay's static-auth-secret)")]
    MissingSecret,
    #[error("turn.secret must have at least 16 characters (generate one: openssl rand -hex 32)")]
    WeakSecret,
    #[error("turn.realm {0:?} must be 1-128 characters without spaces, quotes or control characters")]
    BadRealm(String),
    #[error("turn.credential_lifetime_secs must be between 60 and 86400 (is {0})")]
    BadLifetime(u64),
    #[error("turn.tls_cert and turn.tls_key go together, as absolute paths: set both or neither")]
    TlsPair,
    #[error("turn.tls_urls are configured, so the relay needs turn.tls_cert and turn.tls_key")]
    TlsMissing,
    #[error("turn.{0} must be an absolute path")]
    RelativePath(&'static str),
    #[error("turn.min_port..max_port must be a non-empty range of ports above 1023")]
    BadPortRange,
    #[error("turn.user_quota and turn.total_quota must be at least 1, user_quota at most total_quota")]
    BadQuota,
}

/// Validated TURN settings: everything needed to mint credentials and hand
/// out ICE servers, and to configure a relay.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    settings: TurnSettings,
    minter: Option<CredentialMinter>,
    filter: PeerFilter,
}

/// One entry of the ICE server list (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServerEntry {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

impl TurnSettings {
    /// Checks every setting; the result is what the server and the generators use.
    pub fn validate(self) -> Result<TurnConfig, TurnConfigError> {
        for u in &self.stun_urls {
            check_url("stun_urls", u, "STUN", "stun:host[:port]", &["stun:"], &[None])?;
        }
        for u in &self.udp_urls {
            check_url(
                "udp_urls",
                u,
                "TURN over UDP",
                "turn:host[:port] or turn:host[:port]?transport=udp",
                &["turn:"],
                &[None, Some("udp")],
            )?;
        }
        for u in &self.tcp_urls {
            check_url(
                "tcp_urls",
                u,
                "TURN over TCP",
                "turn:host[:port]?transport=tcp",
                &["turn:"],
                &[Some("tcp")],
            )?;
        }
        for u in &self.tls_urls {
            check_url(
                "tls_urls",
                u,
                "TURN over TLS",
                "turns:host[:port]?transport=tcp",
                &["turns:"],
                &[None, Some("tcp")],
            )?;
        }
        let has_turn = !(self.udp_urls.is_empty() && self.tcp_urls.is_empty() && self.tls_urls.is_empty());
        let minter = match &self.secret {
            Some(s) if s.chars().count() < 16 => return Err(TurnConfigError::WeakSecret),
            Some(s) => Some(CredentialMinter::new(s.as_bytes(), self.lifetime_unchecked())),
            None if has_turn => return Err(TurnConfigError::MissingSecret),
            None => None,
        };
        let realm_ok = (1..=128).contains(&self.realm.chars().count())
            && !self.realm.chars().any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\\');
        if !realm_ok {
            return Err(TurnConfigError::BadRealm(self.realm.clone()));
        }
        if !(60..=86_400).contains(&self.credential_lifetime_secs) {
            return Err(TurnConfigError::BadLifetime(self.credential_lifetime_secs));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => {
                if !c.is_absolute() {
                    return Err(TurnConfigError::RelativePath("tls_cert"));
                }
                if !k.is_absolute() {
                    return Err(TurnConfigError::RelativePath("tls_key"));
                }
            }
            (None, None) if !self.tls_urls.is_empty() => return Err(TurnConfigError::TlsMissing),
            (None, None) => {}
            _ => return Err(TurnConfigError::TlsPair),
        }
        if self.min_port < 1024 || self.min_port > self.max_port {
            return Err(TurnConfigError::BadPortRange);
        }
        if self.user_quota == 0 || self.total_quota == 0 || self.user_quota > self.total_quota {
            return Err(TurnConfigError::BadQuota);
        }
        let filter = PeerFilter::new(self.allow_loopback_peers, &self.relay_ips, &self.denied_peers);
        Ok(TurnConfig { settings: self, minter, filter })
    }

    fn lifetime_unchecked(&self) -> Duration {
        Duration::from_secs(self.credential_lifetime_secs)
    }
}

/// Checks `scheme:host[:port][?transport=x]` ([RFC 7064](https://www.rfc-editor.org/rfc/rfc7064),
/// [RFC 7065](https://www.rfc-editor.org/rfc/rfc7065)).
fn check_url(
    key: &'static str,
    url: &str,
    what: &'static str,
    hint: &'static str,
    schemes: &[&str],
    transports: &[Option<&str>],
) -> Result<(), TurnConfigError> {
    let bad = || TurnConfigError::BadUrl { key, url: url.to_owned(), what, hint };
    let rest = schemes.iter().find_map(|s| url.strip_prefix(s)).ok_or_else(bad)?;
    let (hostport, transport) = match rest.split_once('?') {
        Some((hp, q)) => (hp, Some(q.strip_prefix("transport=").ok_or_else(bad)?)),
        None => (rest, None),
    };
    if !transports.contains(&transport) {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok { Ok(()) } else { Err(bad()) }
}

impl TurnConfig {
    /// The settings as validated.
    pub fn settings(&self) -> &TurnSettings {
        &self.settings
    }

    /// Which peers a relay may talk to.
    pub fn peer_filter(&self) -> &PeerFilter {
        &self.filter
    }

    /// The credential minter, when a secret is configured.
    pub fn minter(&self) -> Option<&CredentialMinter> {
        self.minter.as_ref()
    }

    /// The ICE servers for participant `id` at `now`: the STUN URLs, then the
    /// TURN URLs (UDP, TCP, TLS, in that order of preference) with a fresh
    /// credential valid for the configured lifetime.
    pub fn ice_servers(&self, id: &str, now: SystemTime) -> Vec<IceServerEntry> {
        let s = &self.settings;
        let mut out = Vec::new();
        if !s.stun_urls.is_empty() {
            out.push(IceServerEntry { urls: s.stun_urls.clone(), username: None, credential: None });
        }
        let turn: Vec<String> = s.udp_urls.iter().chain(&s.tcp_urls).chain(&s.tls_urls).cloned().collect();
        if let (false, Some(m)) = (turn.is_empty(), &self.minter) {
            let c = m.mint(id, now);
            out.push(IceServerEntry { urls: turn, username: Some(c.username), credential: Some(c.password) });
        }
        out
    }

    /// Adds URLs (the embedded relay's) to those configured.
    pub fn with_urls(mut self, stun: Vec<String>, udp: Vec<String>) -> Self {
        self.settings.stun_urls.extend(stun);
        self.settings.udp_urls.extend(udp);
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn settings(toml_text: &str) -> TurnSettings {
        toml::from_str(toml_text).unwrap()
    }

    const FULL: &str = r#"
        secret = "0123456789abcdef0123"
        realm = "support.example.com"
        stun_urls = ["stun:turn.example.com:3478"]
        udp_urls = ["turn:turn.example.com:3478?transport=udp"]
        tcp_urls = ["turn:turn.example.com:3478?transport=tcp"]
        tls_urls = ["turns:turn.example.com:443?transport=tcp"]
        tls_cert = "/etc/tandem/turn.pem"
        tls_key = "/etc/tandem/turn.key"
        relay_ips = ["203.0.113.10"]
    "#;

    #[test]
    fn a_full_configuration_hands_out_stun_and_turn_over_udp_tcp_tls() {
        let c = settings(FULL).validate().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let list = c.ice_servers("00000000deadbeef", now);
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0],
            IceServerEntry {
                urls: vec!["stun:turn.example.com:3478".into()],
                username: None,
                credential: None
            }
        );
        assert_eq!(
            list[1].urls,
            vec![
                "turn:turn.example.com:3478?transport=udp",
                "turn:turn.example.com:3478?transport=tcp",
                "turns:turn.example.com:443?transport=tcp"
            ]
        );
        assert_eq!(
            list[1].username.as_deref(),
            Some("1700000600:00000000deadbeef"),
            "default lifetime 10 minutes"
        );
        let expected = CredentialMinter::new("0123456789abcdef0123", DEFAULT_LIFETIME)
            .password_for("1700000600:00000000deadbeef");
        assert_eq!(list[1].credential.as_deref(), Some(expected.as_str()));
        assert!(!c.peer_filter().allows("203.0.113.10".parse().unwrap()), "the relay's own address");
        assert!(!format!("{:?}", c.settings()).contains("0123456789abcdef"), "the secret is not logged");
    }

    #[test]
    fn stun_only_needs_no_secret_and_hands_out_no_credentials() {
        let c = settings(r#"stun_urls = ["stun:stun.example.com"]"#).validate().unwrap();
        let list = c.ice_servers("1", SystemTime::now());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].username, None);
        assert!(TurnSettings::default().validate().unwrap().ice_servers("1", SystemTime::now()).is_empty());
    }

    #[test]
    fn bad_settings_are_explained() {
        let err = |t: &str| settings(t).validate().err().map(|e| e.to_string()).unwrap_or_default();
        let with = |extra: &str| format!("{FULL}\n{extra}");
        assert!(err(r#"udp_urls = ["turn:x"]"#).contains("turn.secret is required"));
        assert!(err(r#"secret = "short""#).contains("at least 16"));
        assert!(err(r#"stun_urls = ["turn:x"]"#).contains("turn.stun_urls"));
        assert!(err(r#"stun_urls = ["stun:"]"#).contains("not a valid STUN URL"));
        assert!(err(r#"stun_urls = ["stun:host:99999"]"#).contains("stun_urls"));
        assert!(err("secret = \"0123456789abcdef\"\ntcp_urls = [\"turn:x:3478\"]").contains("transport=tcp"));
        assert!(
            err("secret = \"0123456789abcdef\"\nudp_urls = [\"turn:x?transport=tcp\"]").contains("udp_urls")
        );
        assert!(
            err("secret = \"0123456789abcdef\"\ntls_urls = [\"turn:x?transport=tcp\"]").contains("tls_urls")
        );
        assert!(
            err("secret = \"0123456789abcdef\"\ntls_urls = [\"turns:x:443\"]")
                .contains("needs turn.tls_cert")
        );
        assert!(err(&with("credential_lifetime_secs = 5")).contains("between 60 and 86400"));
        assert!(err(r#"realm = "two words""#).contains("turn.realm"));
        assert!(err(r#"tls_cert = "/a.pem""#).contains("go together"));
        assert!(err("tls_cert = \"a.pem\"\ntls_key = \"/b.key\"").contains("absolute"));
        assert!(err("min_port = 80").contains("ports above 1023"));
        assert!(err("user_quota = 0").contains("quota"));
        assert!(toml::from_str::<TurnSettings>("denied_peers = [\"10.0.0.0/99\"]").is_err());
        assert!(toml::from_str::<TurnSettings>("sekret = \"x\"").is_err(), "unknown keys are errors");
        assert!(settings("stun_urls = [\"stun:[2001:db8::1]:3478\"]").validate().is_ok());
    }
}
