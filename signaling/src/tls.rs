//! HTTPS: the configured certificate, or a self-signed one (rcgen) kept in the
//! data directory when listening beyond loopback without one.

use std::path::Path;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;

use crate::config::Config;

/// The rustls configuration to serve with, or `None` for plain HTTP (loopback without a certificate).
pub async fn server_config(config: &Config, public_url: &str) -> anyhow::Result<Option<RustlsConfig>> {
    if let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) {
        let rc = RustlsConfig::from_pem_file(cert, key).await.with_context(|| {
            format!("loading TLS certificate {} and key {}", cert.display(), key.display())
        })?;
        return Ok(Some(rc));
    }
    if !config.serves_tls() {
        return Ok(None);
    }
    let (cert, key) = self_signed(&config.data_dir, public_url, config)?;
    tracing::warn!(
        "no TLS certificate configured: serving HTTPS with a self-signed certificate ({}); browsers will warn. \
         Set tls.cert and tls.key for production.",
        cert
    );
    let rc = RustlsConfig::from_pem_file(&cert, &key).await.context("loading the self-signed certificate")?;
    Ok(Some(rc))
}

/// Reuses `self-signed-cert.pem` / `self-signed-key.pem` from the data dir, or makes them.
fn self_signed(data_dir: &Path, public_url: &str, config: &Config) -> anyhow::Result<(String, String)> {
    let cert_path = data_dir.join("self-signed-cert.pem");
    let key_path = data_dir.join("self-signed-key.pem");
    if !(cert_path.exists() && key_path.exists()) {
        let host =
            public_url.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("").to_owned();
        let mut names = vec!["localhost".to_owned(), config.listen.ip().to_string()];
        if !host.is_empty() && !names.contains(&host) {
            names.push(host);
        }
        let cert =
            rcgen::generate_simple_self_signed(names).context("generating a self-signed certificate")?;
        std::fs::write(&cert_path, cert.cert.pem())
            .with_context(|| format!("writing {}", cert_path.display()))?;
        write_private(&key_path, &cert.key_pair.serialize_pem())?;
    }
    Ok((cert_path.display().to_string(), key_path.display().to_string()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_loopback_without_a_certificate_a_self_signed_one_is_made_once_and_kept() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "0.0.0.0:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        assert!(server_config(&config, "https://support.example.com").await.unwrap().is_some());
        let cert_path = dir.path().join("self-signed-cert.pem");
        let first = std::fs::read_to_string(&cert_path).unwrap();
        assert!(first.starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode =
                std::fs::metadata(dir.path().join("self-signed-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the private key is readable by its owner only");
        }
        // A restart reuses it, so browsers that accepted it once keep working.
        assert!(server_config(&config, "https://support.example.com").await.unwrap().is_some());
        assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), first);

        // Loopback without a certificate: plain HTTP.
        let local = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        assert!(server_config(&local, "http://127.0.0.1:8080").await.unwrap().is_none());
    }
}
