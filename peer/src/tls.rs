//! TLS for the peer's own connections: HTTPS and WSS to the signaling server,
//! and TLS to the TURN relay (`turns:`). rustls with the ring provider; the
//! public web roots (webpki-roots) plus, optionally, an operator's private CA.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::PeerError;

/// Client settings trusting the public web roots and `extra` (a private CA's certificates).
pub fn client_config(extra: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, PeerError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in extra {
        roots.add(cert.clone()).map_err(|e| PeerError::Input(format!("a trusted CA certificate: {e}")))?;
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PeerError::Input(format!("TLS settings: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Public web roots only.
pub fn default_client_config() -> Arc<ClientConfig> {
    client_config(&[]).expect("the bundled roots are valid")
}
