//! TURN configuration for Tandem.
//!
//! Today: short-lived TURN credentials in the form of the "TURN REST API"
//! ([draft-uberti-behave-turn-rest-00 §2](https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00#section-2)),
//! which coturn accepts with `use-auth-secret`: the username is
//! `<expiry unix time>:<participant id>` and the password is
//! `base64(HMAC-SHA1(shared secret, username))`. The relay checks them with the
//! same secret, without a user database. Later: validated ops configuration,
//! the coturn config generator and the embedded relay (NET-2).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// Default lifetime of a credential.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// A TURN username and password valid until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub password: String,
    pub expires: SystemTime,
}

/// Mints credentials with the relay's shared secret.
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
}
