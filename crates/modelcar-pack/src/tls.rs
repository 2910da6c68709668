//! TLS for both registry clients (pull and push), rustls with ring. Trusted: the compiled-in
//! Mozilla roots (feature `bundled-roots`, on by default; the unpack image leaves it out), plus the system bundle (`SSL_CERT_FILE`, else
//! /etc/ssl/certs/ca-certificates.crt, which the unpack image ships), plus KServe's custom CA
//! bundle (`CA_BUNDLE_VOLUME_MOUNT_POINT/cabundle.crt`, mounted by its webhook for private
//! registries).

use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

fn bundles() -> Vec<PathBuf> {
    let mut v = Vec::new();
    match std::env::var_os("SSL_CERT_FILE") {
        Some(f) => v.push(PathBuf::from(f)),
        None => v.push(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
    }
    if let Some(d) = std::env::var_os("CA_BUNDLE_VOLUME_MOUNT_POINT") {
        v.push(PathBuf::from(d).join("cabundle.crt"));
    }
    v
}

/// rustls with ring, trusting the roots above (both registry clients use it).
pub fn config() -> Result<TlsConfig> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    #[cfg(feature = "bundled-roots")]
    roots.extend(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate::from_der(c.as_ref())),
    );
    for f in bundles() {
        if !f.is_file() {
            continue;
        }
        let certs = CertificateDer::pem_file_iter(&f)
            .map_err(|e| Error::msg(format!("CA bundle {}: {e}", f.display())))?;
        // A bundle may hold certificates rustls cannot use: ureq skips those, the others count.
        roots.extend(
            certs
                .flatten()
                .map(|c| Certificate::from_der(&c).to_owned()),
        );
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::from(roots))
        .build())
}
