//! TURN configuration for Tandem (NET-2, NET-3).
//!
//! - [`TurnSettings`] → [`TurnSettings::validate`] → [`TurnConfig`]: the
//!   operator's `[turn]` settings, checked at start with a clear message.
//! - Short-lived credentials in the "TURN REST API" form
//!   ([draft-uberti-behave-turn-rest-00 §2](https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00#section-2)),
//!   which coturn accepts with `use-auth-secret` and Tandem's embedded relay
//!   checks too: the username is `<expiry unix time>:<participant id>`, the
//!   password `base64(HMAC-SHA1(shared secret, username))`. The relay checks
//!   them with the same secret, without a user database
//!   ([`CredentialMinter`], [`CredentialMinter::check`]).
//! - [`TurnConfig::ice_servers`]: the `iceServers` list handed to one
//!   participant when they join or resume.
//! - [`PeerFilter`]: the peer addresses a relay must never reach.
//! - [`coturn::turnserver_conf`]: coturn's configuration from the same settings.

pub mod coturn;
mod ranges;
mod settings;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

pub use ranges::{BadRange, DENIED_BY_DEFAULT, IpRange, MULTICAST, PeerFilter};
pub use settings::{IceServerEntry, TurnConfig, TurnConfigError, TurnSettings};

/// Default lifetime of a credential.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// A TURN username and password valid until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub password: String,
    pub expires: SystemTime,
}

/// Why a relay refuses a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    #[error("the username is not <expiry unix time>:<id>")]
    Malformed,
    #[error("the credential has expired")]
    Expired,
}

/// Mints (and checks) credentials with the relay's shared secret.
#[derive(Clone)]
pub struct CredentialMinter {
    secret: Vec<u8>,
    lifetime: Duration,
}

impl CredentialMinter {
    /// A minter for `secret`, handing out credentials valid for `lifetime`.
    pub fn new(secret: impl Into<Vec<u8>>, lifetime: Duration) -> Self {
        Self { secret: secret.into(), lifetime }
    }

    /// A credential for participant `id`, valid from `now` for the lifetime.
    /// `id` must not contain `:` (participant ids are hex).
    pub fn mint(&self, id: &str, now: SystemTime) -> TurnCredential {
        let expires = now + self.lifetime;
        let secs = expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let username = format!("{secs}:{id}");
        TurnCredential { password: self.password_for(&username), username, expires }
    }

    /// The password the relay expects for `username`.
    pub fn password_for(&self, username: &str) -> String {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The relay's side: the password for `username` if it is well formed and
    /// not expired at `now`. A forged password then fails the STUN
    /// MESSAGE-INTEGRITY check, since the key is derived from this password.
    pub fn check(&self, username: &str, now: SystemTime) -> Result<String, CredentialError> {
        let (expiry, id) = username.split_once(':').ok_or(CredentialError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| CredentialError::Malformed)?;
        if id.is_empty() || id.len() > 64 || id.contains(':') {
            return Err(CredentialError::Malformed);
        }
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if expiry <= now {
            return Err(CredentialError::Expired);
        }
        Ok(self.password_for(username))
    }
}

impl std::fmt::Debug for CredentialMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialMinter").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_matches_the_turn_rest_form() {
        let m = CredentialMinter::new("north", DEFAULT_LIFETIME);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let c = m.mint("00000000deadbeef", now);
        assert_eq!(c.username, "1700000600:00000000deadbeef");
        assert_eq!(c.expires, now + Duration::from_secs(600));
        // Known answer, computed independently:
        //   printf '1700000600:00000000deadbeef' | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(c.password, "+QzIGUJXGrESHgaHD/L888O6OT8=");
    }

    #[test]
    fn the_relay_side_accepts_fresh_and_refuses_expired_or_malformed() {
        let m = CredentialMinter::new("north", DEFAULT_LIFETIME);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let c = m.mint("00000000deadbeef", now);
        assert_eq!(m.check(&c.username, now + Duration::from_secs(599)), Ok(c.password.clone()));
        assert_eq!(m.check(&c.username, now + Duration::from_secs(600)), Err(CredentialError::Expired));
        for bad in ["1700000600", "abc:1", "1700000600:", "1700000600:a:b", ""] {
            assert_eq!(m.check(bad, now), Err(CredentialError::Malformed), "{bad:?}");
        }
        let other = CredentialMinter::new("south", DEFAULT_LIFETIME);
        assert_ne!(other.check(&c.username, now).unwrap(), c.password, "another secret, another password");
    }
}
