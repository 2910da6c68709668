//! Certificate transparency: the signed certificate timestamps (SCTs) Fulcio embeds in its
//! certificates, checked against the CT logs of the trusted root (RFC 6962 §3.2-3.3), as cosign
//! does by default. An SCT is a log's promise that it recorded the precertificate, so a
//! certificate the CA issued without logging it is refused.
//!
//! The precertificate is rebuilt from the leaf with `x509-cert` (its TBSCertificate without the
//! SCT list extension, re-encoded; DER has one encoding, so these are the bytes the log
//! signed). The SCT list inside the extension is TLS presentation language, not DER, and no
//! crate here reads it, so `parse` below does: a handful of length-prefixed fields.

use super::cert::{Cert, Hash, Key};
use super::trust::TrustedRoot;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use x509_cert::der::asn1::{ObjectIdentifier, OctetStringRef};
use x509_cert::der::{Decode, Encode};

/// The embedded SCT list extension.
pub const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// One SCT (RFC 6962 §3.2 `SignedCertificateTimestamp`), version 1.
#[derive(Clone, Debug)]
pub struct Sct {
    pub log_id: Vec<u8>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub extensions: Vec<u8>,
    pub hash: u8,
    pub sig_alg: u8,
    pub sig: Vec<u8>,
}

/// A cursor over TLS-encoded bytes.
struct Tls<'a>(&'a [u8]);

impl<'a> Tls<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::msg("embedded SCT list is truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn uint(&mut self, n: usize) -> Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
    /// A vector with an `n`-byte length prefix.
    fn vec(&mut self, n: usize) -> Result<&'a [u8]> {
        let len = self.uint(n)? as usize;
        self.take(len)
    }
}

/// The SCTs of the extension's value (a DER OCTET STRING holding the TLS `SignedCertificateTimestampList`).
pub fn parse(ext_value: &[u8]) -> Result<Vec<Sct>> {
    let inner = OctetStringRef::from_der(ext_value)
        .map_err(|_| Error::msg("embedded SCT list is not an OCTET STRING"))?;
    let mut outer = Tls(inner.as_bytes());
    let mut list = Tls(outer.vec(2)?);
    if !outer.0.is_empty() {
        return Err(Error::msg("embedded SCT list has trailing bytes"));
    }
    let mut out = Vec::new();
    while !list.0.is_empty() {
        let mut s = Tls(list.vec(2)?);
        let version = s.uint(1)?;
        if version != 0 {
            return Err(Error::msg(format!(
                "embedded SCT has version {version}, not v1"
            )));
        }
        let sct = Sct {
            log_id: s.take(32)?.to_vec(),
            timestamp: s.uint(8)?,
            extensions: s.vec(2)?.to_vec(),
            hash: s.uint(1)? as u8,
            sig_alg: s.uint(1)? as u8,
            sig: s.vec(2)?.to_vec(),
        };
        if !s.0.is_empty() {
            return Err(Error::msg("embedded SCT has trailing bytes"));
        }
        out.push(sct);
    }
    Ok(out)
}

/// The bytes a log signs for a precertificate entry (RFC 6962 §3.2 `digitally-signed` struct):
/// v1, certificate_timestamp, the time, precert_entry, the issuer key hash, the precertificate's
/// TBSCertificate and the SCT's extensions.
fn signed_data(sct: &Sct, issuer_key_hash: &[u8], tbs: &[u8]) -> Result<Vec<u8>> {
    if tbs.len() >= 1 << 24 || sct.extensions.len() >= 1 << 16 {
        return Err(Error::msg("precertificate too large for an SCT"));
    }
    let mut v = Vec::with_capacity(tbs.len() + 64);
    v.push(0); // version v1
    v.push(0); // signature_type certificate_timestamp
    v.extend_from_slice(&sct.timestamp.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    v.extend_from_slice(issuer_key_hash);
    v.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(tbs);
    v.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
    v.extend_from_slice(&sct.extensions);
    Ok(v)
}

/// The precertificate's TBSCertificate: the leaf's, without the SCT list extension.
fn precert_tbs(leaf: &Cert) -> Result<Vec<u8>> {
    let mut tbs = leaf.c.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != SCT_LIST);
    }
    tbs.to_der()
        .map_err(|e| Error::msg(format!("precertificate: {e}")))
}

/// One SCT, checked against the trusted root's CT logs.
fn check(sct: &Sct, data: &[u8], root: &TrustedRoot) -> Result<()> {
    let id = super::tlog::hex(&sct.log_id);
    let Some(log) = root.ct_logs.iter().find(|l| l.log_id == sct.log_id) else {
        return Err(Error::msg(format!(
            "SCT is from the CT log {id}, which the trusted root does not name (ctlogs)"
        )));
    };
    let secs = (sct.timestamp / 1000) as i64;
    if !log.valid.contains(secs) {
        return Err(Error::msg(format!(
            "SCT of the CT log {id} is dated outside the log's validFor in the trusted root"
        )));
    }
    let hash = match (sct.hash, sct.sig_alg) {
        (4, 3) => Hash::Sha256,
        (5, 3) => Hash::Sha384,
        (h, s) => {
            return Err(Error::msg(format!(
                "SCT signature algorithm (hash {h}, signature {s}) is not ECDSA with SHA-256/384"
            )))
        }
    };
    let key = Key::from_spki(&log.key_der)
        .map_err(|e| Error::msg(format!("CT log {id} of the trusted root: {e}")))?;
    if !key.verify(hash, data, &sct.sig) {
        return Err(Error::msg(format!(
            "SCT does not verify with the key of the CT log {id} (certificate or SCT altered?)"
        )));
    }
    Ok(())
}

/// The value of `leaf`'s embedded SCT list extension, if it has one.
fn embedded_list(leaf: &Cert) -> Option<&[u8]> {
    let exts = leaf.c.tbs_certificate.extensions.as_ref()?;
    let ext = exts.iter().find(|e| e.extn_id == SCT_LIST)?;
    Some(ext.extn_value.as_bytes())
}

/// Requires an SCT of `leaf`, issued by `issuer`, that a CT log of the trusted root signed.
pub fn verify(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<()> {
    let Some(list) = embedded_list(leaf) else {
        return Err(Error::msg(
            "the signing certificate has no embedded SCT (signed certificate timestamp), so nothing shows it was logged for certificate transparency; --insecure-ignore-sct (COSIGN_INSECURE_IGNORE_SCT=true) accepts it without",
        ));
    };
    let scts = parse(list)?;
    if scts.is_empty() {
        return Err(Error::msg(
            "the signing certificate's embedded SCT list is empty",
        ));
    }
    if root.ct_logs.is_empty() {
        return Err(Error::msg(
            "the trusted root has no CT log keys (ctlogs), so the certificate's SCT cannot be checked; --insecure-ignore-sct (COSIGN_INSECURE_IGNORE_SCT=true) accepts it without",
        ));
    }
    let issuer_spki = issuer
        .c
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Error::msg(format!("issuer key: {e}")))?;
    let issuer_key_hash = Sha256::digest(&issuer_spki);
    let tbs = precert_tbs(leaf)?;
    let mut why = Vec::new();
    for sct in &scts {
        let r = signed_data(sct, &issuer_key_hash, &tbs).and_then(|d| check(sct, &d, root));
        match r {
            Ok(()) => return Ok(()),
            Err(e) => why.push(e.to_string()),
        }
    }
    Err(Error::msg(why.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyless::trust::b64;
    use serde_json::Value;

    // Real production data from sigstore-go's examples (tests/data/sigstore-go/README.md): a
    // Fulcio certificate of 2023-04-18 with its SCT from ctfe.sigstore.dev/2022, and the
    // public-good trusted root with that log's key and Fulcio's intermediate.
    const BUNDLE: &[u8] = include_bytes!("../../tests/data/sigstore-go/bundle-provenance.json");
    const ROOT: &[u8] =
        include_bytes!("../../tests/data/sigstore-go/trusted-root-public-good.json");

    fn root_json() -> Value {
        serde_json::from_slice(ROOT).unwrap()
    }

    fn leaf_der() -> Vec<u8> {
        let v: Value = serde_json::from_slice(BUNDLE).unwrap();
        b64(
            &v["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"],
            "leaf",
        )
        .unwrap()
    }

    /// The leaf and the issuer found by chaining it to the root at its log time.
    fn setup(root: &Value) -> (Cert, Cert, TrustedRoot) {
        let leaf = Cert::parse(&leaf_der(), "leaf").unwrap();
        let root = TrustedRoot::parse(root).unwrap();
        // 2023-04-18T17:45:12Z, inside the certificate's ten minutes.
        let issuer = super::super::cert::chain_to_root(&leaf, &root, 1681839912).unwrap();
        (leaf, issuer, root)
    }

    #[test]
    fn production_sct_verifies() {
        let (leaf, issuer, root) = setup(&root_json());
        let scts = parse(embedded_list(&leaf).unwrap()).unwrap();
        assert_eq!(scts.len(), 1);
        // ctfe.sigstore.dev/2022's log ID, as the trusted root names it.
        assert_eq!(
            super::super::tlog::hex(&scts[0].log_id),
            "dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e"
        );
        verify(&leaf, &issuer, &root).unwrap();
    }

    #[test]
    fn refused_without_the_log_or_with_another_key() {
        let mut r = root_json();
        r["ctlogs"] = Value::Array(vec![]);
        let (leaf, issuer, root) = setup(&r);
        let e = verify(&leaf, &issuer, &root).unwrap_err().to_string();
        assert!(e.contains("has no CT log keys (ctlogs)"), "{e}");

        // Only the retired test log left.
        let mut r = root_json();
        r["ctlogs"].as_array_mut().unwrap().remove(1);
        let (leaf, issuer, root) = setup(&r);
        let e = verify(&leaf, &issuer, &root).unwrap_err().to_string();
        assert!(e.contains("which the trusted root does not name"), "{e}");

        // The 2022 log's ID with the test log's key.
        let mut r = root_json();
        let other = r["ctlogs"][0]["publicKey"]["rawBytes"].clone();
        r["ctlogs"][1]["publicKey"]["rawBytes"] = other;
        let (leaf, issuer, root) = setup(&r);
        let e = verify(&leaf, &issuer, &root).unwrap_err().to_string();
        assert!(
            e.contains("does not verify with the key of the CT log"),
            "{e}"
        );

        // The log trusted only from 2024 on.
        let mut r = root_json();
        r["ctlogs"][1]["publicKey"]["validFor"]["start"] = "2024-01-01T00:00:00Z".into();
        let (leaf, issuer, root) = setup(&r);
        let e = verify(&leaf, &issuer, &root).unwrap_err().to_string();
        assert!(e.contains("dated outside the log's validFor"), "{e}");
    }

    #[test]
    fn refused_when_the_sct_or_certificate_is_altered() {
        let (leaf, issuer, root) = setup(&root_json());
        let scts = parse(embedded_list(&leaf).unwrap()).unwrap();
        let tbs = precert_tbs(&leaf).unwrap();
        let spki = issuer
            .c
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let ikh = Sha256::digest(&spki);
        let good = signed_data(&scts[0], &ikh, &tbs).unwrap();
        check(&scts[0], &good, &root).unwrap();
        // Another time.
        let mut s = scts[0].clone();
        s.timestamp += 1;
        let d = signed_data(&s, &ikh, &tbs).unwrap();
        assert!(check(&s, &d, &root).is_err());
        // Another certificate body (one byte of the TBS).
        let mut t = tbs.clone();
        let n = t.len() / 2;
        t[n] ^= 1;
        let d = signed_data(&scts[0], &ikh, &t).unwrap();
        assert!(check(&scts[0], &d, &root).is_err());
        // Another issuer.
        let d = signed_data(&scts[0], &[0u8; 32], &tbs).unwrap();
        assert!(check(&scts[0], &d, &root).is_err());
    }

    #[test]
    fn malformed_lists_are_errors() {
        let wrap = |b: &[u8]| OctetStringRef::new(b).unwrap().to_der().unwrap();
        assert!(parse(&wrap(&[0, 5, 0, 3])).is_err());
        assert!(parse(&wrap(&[0, 1, 0])).is_err());
        assert_eq!(parse(&wrap(&[0, 0])).unwrap().len(), 0);
        assert!(parse(&wrap(&[0, 3, 0, 1, 1]))
            .unwrap_err()
            .to_string()
            .contains("version"));
        assert!(parse(b"\x30\x00").is_err());
    }
}
