//! TLS trust for the reading side: the compiled-in Mozilla roots, plus the system bundle
//! (`SSL_CERT_FILE`, else /etc/ssl/certs/ca-certificates.crt, which the unpack image ships),
//! plus KServe's custom CA bundle (`CA_BUNDLE_VOLUME_MOUNT_POINT/cabundle.crt`, mounted by
//! its webhook for private registries).

use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;

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

pub fn config() -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for f in bundles() {
        if !f.is_file() {
            continue;
        }
        let certs = CertificateDer::pem_file_iter(&f)
            .map_err(|e| Error::msg(format!("CA bundle {}: {e}", f.display())))?;
        // A bundle may hold certificates rustls cannot use; the others still count.
        let (_ok, _bad) = roots.add_parsable_certificates(certs.flatten());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::msg(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
