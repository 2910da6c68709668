//! Fulcio certificates: ECDSA keys (P-256, P-384), the chain up to a trusted root, and the
//! identity Fulcio writes into a certificate (its SAN and OIDC issuer extensions).

use crate::error::{Error, Result};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384};
use x509_cert::der::asn1::{ObjectIdentifier, Utf8StringRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's OIDC issuer: v1 holds the raw string, v2 a DER UTF8String.
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// An ECDSA public key of either curve Fulcio and Rekor use.
pub enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

pub enum Hash {
    Sha256,
    Sha384,
}

impl Key {
    pub fn from_spki(der: &[u8]) -> Result<Key> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(Key::P256(k));
        }
        p384::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(Key::P384)
            .map_err(|_| Error::msg("public key is not ECDSA P-256 or P-384"))
    }

    /// Verifies a DER signature over a precomputed digest.
    pub fn verify_prehash(&self, digest: &[u8], sig_der: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            Key::P256(k) => p256::ecdsa::Signature::from_der(sig_der)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
            Key::P384(k) => p384::ecdsa::Signature::from_der(sig_der)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
        }
    }

    pub fn verify(&self, hash: Hash, msg: &[u8], sig_der: &[u8]) -> bool {
        match hash {
            Hash::Sha256 => self.verify_prehash(&Sha256::digest(msg), sig_der),
            Hash::Sha384 => self.verify_prehash(&Sha384::digest(msg), sig_der),
        }
    }
}

pub struct Cert {
    pub der: Vec<u8>,
    pub c: Certificate,
}

impl Cert {
    pub fn parse(der: &[u8], what: &str) -> Result<Cert> {
        let c = Certificate::from_der(der)
            .map_err(|e| Error::msg(format!("{what}: not an X.509 certificate: {e}")))?;
        Ok(Cert {
            der: der.to_vec(),
            c,
        })
    }

    pub fn key(&self) -> Result<Key> {
        let spki = self
            .c
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::msg(format!("certificate key: {e}")))?;
        Key::from_spki(&spki)
    }

    /// Whether `issuer`'s key signed this certificate.
    pub fn signed_by(&self, issuer: &Cert) -> Result<bool> {
        let hash = match self.c.signature_algorithm.oid {
            ECDSA_SHA256 => Hash::Sha256,
            ECDSA_SHA384 => Hash::Sha384,
            o => {
                return Err(Error::msg(format!(
                    "certificate signature algorithm {o} is not ECDSA with SHA-256/384"
                )))
            }
        };
        let tbs = self
            .c
            .tbs_certificate
            .to_der()
            .map_err(|e| Error::msg(format!("certificate: {e}")))?;
        let sig = self.c.signature.raw_bytes();
        Ok(
            issuer.c.tbs_certificate.subject == self.c.tbs_certificate.issuer
                && issuer.key()?.verify(hash, &tbs, sig),
        )
    }

    /// Whether Unix time `t` is within notBefore..=notAfter.
    pub fn valid_at(&self, t: i64) -> bool {
        let v = &self.c.tbs_certificate.validity;
        let nb = v.not_before.to_unix_duration().as_secs() as i64;
        let na = v.not_after.to_unix_duration().as_secs() as i64;
        nb <= t && t <= na
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.c
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// The SAN's e-mail addresses and URIs (Fulcio puts the signer's identity there).
    pub fn identities(&self) -> Vec<String> {
        let Some(v) = self.extension(SAN) else {
            return Vec::new();
        };
        let Ok(san) = SubjectAltName::from_der(v) else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer: the v2 extension if present, else the v1.
    pub fn oidc_issuer(&self) -> Option<String> {
        if let Some(v) = self.extension(ISSUER_V2) {
            return Utf8StringRef::from_der(v).ok().map(|s| s.to_string());
        }
        self.extension(ISSUER_V1)
            .and_then(|v| std::str::from_utf8(v).ok().map(str::to_string))
    }

    pub fn code_signing(&self) -> bool {
        self.extension(EKU)
            .and_then(|v| ExtendedKeyUsage::from_der(v).ok())
            .is_some_and(|e| e.0.contains(&CODE_SIGNING))
    }
}

/// Checks that `leaf` chains to one of the trusted authorities, with every certificate valid
/// at `t` (the time the log recorded the signature) and the authority trusted at `t`.
/// Returns the certificate that issued `leaf`.
pub fn chain_to_root(leaf: &Cert, root: &super::trust::TrustedRoot, t: i64) -> Result<Cert> {
    if !leaf.valid_at(t) {
        return Err(Error::msg(
            "the signing certificate was not valid when the log recorded the signature",
        ));
    }
    for ca in &root.authorities {
        if !ca.valid.contains(t) {
            continue;
        }
        let chain = ca
            .chain
            .iter()
            .enumerate()
            .map(|(i, d)| Cert::parse(d, &format!("trusted root certificate {i}")))
            .collect::<Result<Vec<_>>>()?;
        let mut child = leaf;
        let mut ok = true;
        for c in &chain {
            if !(c.valid_at(t) && child.signed_by(c)?) {
                ok = false;
                break;
            }
            child = c;
        }
        // (trust.rs refuses empty chains, so a chain that held has an issuer.)
        if let (true, Some(issuer)) = (ok, chain.into_iter().next()) {
            return Ok(issuer);
        }
    }
    Err(Error::msg(
        "the signing certificate does not chain to a certificate authority of the trusted root",
    ))
}
