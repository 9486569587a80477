//! CSR authentication: argon2id password hashes and short-lived sign-in tokens.
//!
//! A sign-in token is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`
//! where the payload holds the agent id, display name and expiry. The server
//! verifies it without a lookup; the key is random per server start unless
//! configured, so a restart signs every CSR out (their sessions resume by
//! resume token, which does not depend on this key).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use tandem_wire::DisplayName;

use crate::core::{Agent, AgentId, Timestamp};

/// Why a token was refused. The client is told only "unauthorized".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature does not match")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

/// Issues and verifies sign-in tokens.
pub struct TokenIssuer {
    key: [u8; 32],
    ttl: std::time::Duration,
}

impl TokenIssuer {
    /// An issuer signing with `key`; tokens live for `ttl`.
    pub fn new(key: [u8; 32], ttl: std::time::Duration) -> Self {
        Self { key, ttl }
    }

    /// A token for `agent`, valid from `now` for the configured lifetime, and its expiry.
    pub fn issue(&self, agent: &Agent, now: Timestamp) -> (String, Timestamp) {
        let expires = now.after(self.ttl);
        let payload = format!("1\n{}\n{}\n{}", agent.id.0, expires.unix_millis(), agent.name.as_str());
        let mac = self.mac(payload.as_bytes());
        (format!("{}.{}", B64.encode(payload), B64.encode(mac)), expires)
    }

    /// The agent a token stands for, if it is authentic and not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Agent, TokenError> {
        let (payload_b64, mac_b64) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = B64.decode(payload_b64).map_err(|_| TokenError::Malformed)?;
        let mac = B64.decode(mac_b64).map_err(|_| TokenError::Malformed)?;
        let mut check = self.hmac();
        check.update(&payload);
        check.verify_slice(&mac).map_err(|_| TokenError::BadSignature)?;
        // Authentic from here on: we wrote this payload.
        let text = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let mut parts = text.splitn(4, '\n');
        let (Some("1"), Some(id), Some(exp), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let id = id.parse().map_err(|_| TokenError::Malformed)?;
        let exp: u64 = exp.parse().map_err(|_| TokenError::Malformed)?;
        if now >= Timestamp::from_unix_millis(exp) {
            return Err(TokenError::Expired);
        }
        let name = DisplayName::parse(name).map_err(|_| TokenError::Malformed)?;
        Ok(Agent { id: AgentId(id), name })
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut m = self.hmac();
        m.update(payload);
        m.finalize().into_bytes().to_vec()
    }
}

/// An argon2id hash of `password` in PHC string form, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    use rand::RngCore as _;
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches the PHC `hash`. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
    PasswordHash::new(hash)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new([7; 32], Duration::from_secs(60))
    }

    fn carla() -> Agent {
        Agent { id: AgentId(3), name: DisplayName::parse("Carla Ö").unwrap() }
    }

    #[test]
    fn token_round_trip_and_expiry() {
        let t0 = Timestamp::from_unix_millis(1_000_000);
        let (token, exp) = issuer().issue(&carla(), t0);
        assert_eq!(exp, t0.after(Duration::from_secs(60)));
        assert!(tandem_wire::AuthToken::parse(token.clone()).is_ok(), "fits the wire type");
        assert_eq!(issuer().verify(&token, t0), Ok(carla()));
        assert_eq!(issuer().verify(&token, exp), Err(TokenError::Expired));
    }

    #[test]
    fn forged_or_damaged_tokens_are_refused() {
        let t0 = Timestamp::from_unix_millis(1_000_000);
        let (token, _) = issuer().issue(&carla(), t0);
        let other = TokenIssuer::new([8; 32], Duration::from_secs(60));
        assert_eq!(other.verify(&token, t0), Err(TokenError::BadSignature));
        let (payload, mac) = token.split_once('.').unwrap();
        let forged = format!("{}.{mac}", B64.encode("1\n1\n99999999999999\nAdmin"));
        assert_eq!(issuer().verify(&forged, t0), Err(TokenError::BadSignature));
        assert_eq!(issuer().verify(payload, t0), Err(TokenError::Malformed));
        assert_eq!(issuer().verify("", t0), Err(TokenError::Malformed));
        assert_eq!(issuer().verify("%%.%%", t0), Err(TokenError::Malformed));
    }

    #[test]
    fn argon2id_hashes_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "correct horse"));
    }
}
