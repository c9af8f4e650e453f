//! The servers' TLS: a rustls configuration (ring provider) from a PEM
//! certificate chain and private key, TLS 1.2 and 1.3 only.
//!
//! The files are read at start and at each reload (a renewed certificate
//! takes effect for new connections without a restart). Every error names
//! the file and what is wrong with it, since the usual mistakes (key and
//! certificate swapped, a key that does not match, a file the daemon's user
//! cannot read) are made by hand.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::api::TlsFiles;

/// What the HTTPS servers speak after the handshake (ALPN, RFC 7301).
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// A server configuration for `files`; `alpn`: the protocols to offer
/// (`[ALPN_HTTP1]` for HTTPS, none for the Redis protocol, which has no
/// registered ALPN name).
pub fn server_config(files: &TlsFiles, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, String> {
    let chain = certificates(&files.certificate)?;
    let key = private_key(&files.key)?;
    // rustls 0.23.48 deprecates the ring provider for lacking post-quantum
    // key exchange; the other provider (aws-lc-rs) needs cmake and a large
    // C build. ring's X25519 and P-256 exchanges are what the clients of
    // rfw and Redis use today; revisit when ring gains ML-KEM.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            format!(
                "{} and {}: the key does not go with the certificate, or is unusable: {e}",
                files.certificate.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the TLS {what} {}: {e}", path.display()))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", path.display()))?;
    match chain.is_empty() {
        true => Err(format!("{}: no \"BEGIN CERTIFICATE\" block: not a PEM certificate", path.display())),
        false => Ok(chain),
    }
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: no PEM private key (PKCS#8, PKCS#1 or SEC1) found: {e}", path.display()))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A self-signed certificate for `localhost` and 127.0.0.1, written as
    /// `cert.pem` and `key.pem` in `dir`; returns the files and the
    /// certificate (to trust in a client).
    pub fn self_signed(dir: &Path) -> (TlsFiles, CertificateDer<'static>) {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names).unwrap();
        let files = TlsFiles { certificate: dir.join("cert.pem"), key: dir.join("key.pem") };
        std::fs::write(&files.certificate, cert.pem()).unwrap();
        std::fs::write(&files.key, key_pair.serialize_pem()).unwrap();
        (files, cert.der().clone())
    }

    #[test]
    fn a_certificate_and_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let (files, _) = self_signed(dir.path());
        let config = server_config(&files, &[ALPN_HTTP1]).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        assert!(server_config(&files, &[]).unwrap().alpn_protocols.is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (files, _) = self_signed(dir.path());
        let missing = TlsFiles { certificate: PathBuf::from("/nonexistent/cert.pem"), key: files.key.clone() };
        let e = server_config(&missing, &[]).unwrap_err();
        assert!(e.starts_with("cannot read the TLS certificate /nonexistent/cert.pem:"), "{e}");
        let swapped = TlsFiles { certificate: files.key.clone(), key: files.certificate.clone() };
        let e = server_config(&swapped, &[]).unwrap_err();
        assert!(e.contains("key.pem: no \"BEGIN CERTIFICATE\" block"), "{e}");
        // A key of another certificate.
        let other = tempfile::tempdir().unwrap();
        let (theirs, _) = self_signed(other.path());
        let mismatched = TlsFiles { certificate: files.certificate.clone(), key: theirs.key };
        let e = server_config(&mismatched, &[]).unwrap_err();
        assert!(e.contains("the key does not go with the certificate"), "{e}");
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, "not pem").unwrap();
        let e = server_config(&TlsFiles { certificate: files.certificate, key: garbage }, &[]).unwrap_err();
        assert!(e.contains("garbage: no PEM private key"), "{e}");
    }
}
