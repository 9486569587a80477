//! Authentication of the embedded relay: the TURN REST credentials.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tandem_turn_config::{CredentialError, CredentialMinter};
use turn::auth::{AuthHandler, generate_auth_key};

use crate::metrics::Metrics;

/// Derives the long-term key of `<expiry>:<participant id>` usernames from
/// `base64(HMAC-SHA1(secret, username))`
/// ([RFC 5389 §15.4](https://www.rfc-editor.org/rfc/rfc5389#section-15.4)).
/// A forged password fails the MESSAGE-INTEGRITY check with this key. Expiry
/// is checked by the [guard](super::guard) on `Allocate` only (this handler
/// does not know the request's method), so allocations outlive credentials.
pub struct RestAuth {
    minter: CredentialMinter,
    realm: String,
    /// The username of the request being handled: the server handles one
    /// request at a time per listener, and calls us before it allocates, so
    /// the relay-socket factory reads it to count allocations per credential.
    pending_user: Arc<Mutex<Option<String>>>,
    metrics: Arc<Metrics>,
}

impl RestAuth {
    pub fn new(
        minter: CredentialMinter,
        realm: String,
        pending_user: Arc<Mutex<Option<String>>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { minter, realm, pending_user, metrics }
    }
}

impl AuthHandler for RestAuth {
    fn auth_handle(&self, username: &str, realm: &str, src: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        if realm != self.realm {
            self.metrics.turn_refused("bad_realm");
            return Err(turn::Error::Other("wrong realm".into()));
        }
        let password = match self.minter.check(username, SystemTime::now()) {
            Ok(p) => p,
            Err(CredentialError::Expired) => self.minter.password_for(username),
            Err(e) => {
                self.metrics.turn_refused("malformed");
                tracing::debug!(%src, error = %e, "TURN credential refused");
                return Err(turn::Error::Other(e.to_string()));
            }
        };
        *self.pending_user.lock().unwrap_or_else(|p| p.into_inner()) = Some(username.to_owned());
        Ok(generate_auth_key(username, realm, &password))
    }
}
