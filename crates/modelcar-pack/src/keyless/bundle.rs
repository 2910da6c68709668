//! One sigstore bundle (v0.1 to v0.3, as sigstore-js and cosign write them) checked for an
//! image digest: the certificate chains to the trusted root and names the expected identity
//! and issuer; the signature verifies with the certificate's key; it covers the digest (a DSSE
//! in-toto statement whose subject is the digest, or a message signature of the manifest);
//! and a transparency log entry of the trusted root records exactly this signature.

use super::cert::{chain_to_root, Cert, Hash};
use super::tlog::{hex, verify_entry};
use super::trust::{b64, TrustedRoot};
use super::Policy;
use crate::error::{Error, Result};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What was signed, with the signature and what the log entry must match.
pub(super) enum Signed {
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        sig: Vec<u8>,
        envelope: Value,
    },
    Message {
        digest: Vec<u8>,
        sig: Vec<u8>,
    },
}

fn leaf(v: &Value) -> Result<Cert> {
    let vm = &v["verificationMaterial"];
    let der = if !vm["certificate"].is_null() {
        b64(&vm["certificate"]["rawBytes"], "bundle certificate")?
    } else if let Some(first) = vm["x509CertificateChain"]["certificates"]
        .as_array()
        .and_then(|a| a.first())
    {
        b64(&first["rawBytes"], "bundle certificate chain")?
    } else if !vm["publicKey"].is_null() {
        return Err(Error::msg(
            "bundle is signed with a key, not a Fulcio certificate; verify it with --key",
        ));
    } else {
        return Err(Error::msg("bundle has no signing certificate"));
    };
    Cert::parse(&der, "bundle certificate")
}

/// DSSE's pre-authentication encoding, the bytes a DSSE signature covers.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

fn signed(v: &Value) -> Result<Signed> {
    if !v["dsseEnvelope"].is_null() {
        let e = &v["dsseEnvelope"];
        let sigs = e["signatures"].as_array().cloned().unwrap_or_default();
        if sigs.len() != 1 {
            return Err(Error::msg(format!(
                "DSSE envelope has {} signatures, expected 1",
                sigs.len()
            )));
        }
        return Ok(Signed::Dsse {
            payload_type: e["payloadType"].as_str().unwrap_or("").to_string(),
            payload: b64(&e["payload"], "DSSE payload")?,
            sig: b64(&sigs[0]["sig"], "DSSE signature")?,
            envelope: e.clone(),
        });
    }
    let m = &v["messageSignature"];
    if m.is_null() {
        return Err(Error::msg(
            "bundle has neither a DSSE envelope nor a message signature",
        ));
    }
    let alg = m["messageDigest"]["algorithm"].as_str().unwrap_or("");
    if alg != "SHA2_256" {
        return Err(Error::msg(format!(
            "message signature digest algorithm {alg:?} is not SHA2_256"
        )));
    }
    Ok(Signed::Message {
        digest: b64(&m["messageDigest"]["digest"], "message digest")?,
        sig: b64(&m["signature"], "message signature")?,
    })
}

/// The image digest the signed content names must be `digest`.
fn covers(s: &Signed, digest: &str) -> Result<()> {
    let want = digest.strip_prefix("sha256:").unwrap_or(digest);
    match s {
        Signed::Message { digest: d, .. } => {
            if hex(d) != want {
                return Err(Error::msg(format!(
                    "signature is for sha256:{}, not for {digest}",
                    hex(d)
                )));
            }
        }
        Signed::Dsse {
            payload_type,
            payload,
            ..
        } => {
            if payload_type != "application/vnd.in-toto+json" {
                return Err(Error::msg(format!(
                    "DSSE payload type {payload_type:?} is not an in-toto statement"
                )));
            }
            let st: Value = serde_json::from_slice(payload)
                .map_err(|_| Error::msg("signed in-toto statement is not JSON"))?;
            let named: Vec<&str> = st["subject"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["digest"]["sha256"].as_str())
                .collect();
            if !named.contains(&want) {
                return Err(Error::msg(format!(
                    "signed statement names {}, not {digest}",
                    if named.is_empty() {
                        "no sha256 subject".to_string()
                    } else {
                        named.join(", ")
                    }
                )));
            }
        }
    }
    Ok(())
}

fn pem_der(b64_pem: &Value) -> Option<Vec<u8>> {
    let std = base64::engine::general_purpose::STANDARD;
    let pem = std.decode(b64_pem.as_str()?).ok()?;
    let pem = String::from_utf8(pem).ok()?;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    std.decode(body.trim()).ok()
}

/// The log entry's body must record this very signature and certificate. Rekor stores a
/// `dsse` entry as hashes and signatures; a `hashedrekord` as the digest, signature and key.
/// A log that echoes the proposed `dsse` entry (as the mock does) holds the envelope itself.
pub(super) fn entry_matches(body: &Value, s: &Signed, cert_der: &[u8]) -> Result<()> {
    let std = base64::engine::general_purpose::STANDARD;
    let kind = body["kind"].as_str().unwrap_or("");
    let spec = &body["spec"];
    let ok = match (kind, s) {
        (
            "dsse",
            Signed::Dsse {
                payload,
                sig,
                envelope,
                ..
            },
        ) => {
            if let Some(env) = spec["proposedContent"]["envelope"].as_str() {
                let logged: Value = serde_json::from_str(env).unwrap_or(Value::Null);
                logged["payload"] == envelope["payload"]
                    && logged["payloadType"] == envelope["payloadType"]
                    && logged["signatures"].as_array().is_some_and(|a| {
                        a.iter()
                            .any(|x| x["sig"] == envelope["signatures"][0]["sig"])
                    })
                    && spec["proposedContent"]["verifiers"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|p| pem_der(p).as_deref() == Some(cert_der)))
            } else {
                spec["payloadHash"]["value"].as_str() == Some(&hex(&Sha256::digest(payload)))
                    && spec["signatures"].as_array().is_some_and(|a| {
                        a.iter().any(|x| {
                            x["signature"].as_str() == Some(&std.encode(sig))
                                && pem_der(&x["verifier"]).as_deref() == Some(cert_der)
                        })
                    })
            }
        }
        ("hashedrekord", Signed::Message { digest, sig }) => {
            spec["data"]["hash"]["algorithm"] == "sha256"
                && spec["data"]["hash"]["value"].as_str() == Some(&hex(digest))
                && spec["signature"]["content"].as_str() == Some(&std.encode(sig))
                && pem_der(&spec["signature"]["publicKey"]["content"]).as_deref() == Some(cert_der)
        }
        _ => {
            return Err(Error::msg(format!(
                "transparency log entry of kind {kind:?} does not fit the bundle's signature"
            )))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::msg(
            "transparency log entry records another signature or certificate",
        ))
    }
}

/// The certificate must name the policy's identity and issuer, and be for code signing.
pub(super) fn identity(cert: &Cert, policy: &Policy) -> Result<()> {
    // Identity first: a bundle of someone else is the likeliest mismatch.
    let ids = cert.identities();
    if !ids.iter().any(|i| i == &policy.identity) {
        return Err(Error::msg(format!(
            "certificate identity is {}, not {:?}",
            if ids.is_empty() {
                "missing".to_string()
            } else {
                format!("{ids:?}")
            },
            policy.identity
        )));
    }
    match cert.oidc_issuer() {
        Some(i) if i == policy.issuer => {}
        Some(i) => {
            return Err(Error::msg(format!(
                "certificate OIDC issuer is {i:?}, not {:?}",
                policy.issuer
            )))
        }
        None => return Err(Error::msg("certificate has no OIDC issuer extension")),
    }
    if !cert.code_signing() {
        return Err(Error::msg(
            "certificate is not for code signing (extended key usage)",
        ));
    }
    Ok(())
}

/// Verifies one bundle for `digest`; returns the identity it was signed by.
pub fn verify(bytes: &[u8], digest: &str, policy: &Policy, root: &TrustedRoot) -> Result<String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| Error::msg("bundle is not JSON"))?;
    let mt = v["mediaType"].as_str().unwrap_or("");
    if !mt.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(Error::msg(format!("{mt:?} is not a sigstore bundle")));
    }
    let cert = leaf(&v)?;
    let s = signed(&v)?;
    identity(&cert, policy)?;
    let key = cert.key()?;
    let sig_ok = match &s {
        Signed::Dsse {
            payload_type,
            payload,
            sig,
            ..
        } => key.verify(Hash::Sha256, &pae(payload_type, payload), sig),
        Signed::Message { digest, sig } => key.verify_prehash(digest, sig),
    };
    if !sig_ok {
        return Err(Error::msg(
            "signature does not verify with the certificate's key (payload altered?)",
        ));
    }
    covers(&s, digest)?;
    let entries = v["verificationMaterial"]["tlogEntries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // RFC 3161 timestamps are not verified here: a bundle whose time rests on them alone is
    // refused, naming them, rather than passed on the strength of the rest.
    let tsa = v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    const NO_TSA: &str = "its RFC 3161 timestamps (timestampVerificationData) are not verified by this tool, so the time the certificate must be valid at rests on a Rekor signed entry timestamp";
    if entries.is_empty() {
        return Err(Error::msg(if tsa {
            format!("bundle has no transparency log entry; {NO_TSA}")
        } else {
            "bundle has no transparency log entry; without one the certificate's short validity cannot be checked offline".to_string()
        }));
    }
    logged(&entries, &s, &cert, root, policy).map_err(|e| {
        if tsa {
            Error::msg(format!("{e}; {NO_TSA}"))
        } else {
            e
        }
    })?;
    Ok(policy.identity.clone())
}

/// One of `entries` (Rekor's evidence) must verify, record `s` and `cert`, and fall within
/// the certificate's validity and a trusted authority's window.
/// Then the certificate's SCT must verify, unless the policy waives it.
pub(super) fn logged(
    entries: &[Value],
    s: &Signed,
    cert: &Cert,
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<()> {
    let mut why = Vec::new();
    for e in entries {
        let checked = verify_entry(e, root).and_then(|entry| {
            entry_matches(&entry.body, s, &cert.der)?;
            let issuer = chain_to_root(cert, root, entry.integrated_time)?;
            if policy.ignore_sct {
                return Ok(());
            }
            super::sct::verify(cert, &issuer, root)
        });
        match checked {
            Ok(()) => return Ok(()),
            Err(e) => why.push(e.to_string()),
        }
    }
    Err(Error::msg(why.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
