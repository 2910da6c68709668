//! cosign's own keyless layout (`cosign sign` without `--new-bundle-format`): at the tag
//! `sha256-<hex>.sig`, a simple-signing payload layer whose annotations hold the signature,
//! the Fulcio certificate (PEM) and the Rekor evidence (`dev.sigstore.cosign/bundle`: the
//! signed entry timestamp and the entry it covers, a `hashedrekord` of the payload).

use super::bundle::{identity, logged, Signed};
use super::cert::{Cert, Key};
use super::trust::TrustedRoot;
use super::Policy;
use crate::error::{Error, Result};
use crate::fetch::Source;
use crate::sign::{sig_tag, ANN_SIGNATURE, MT_SIMPLESIGNING};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ANN_CERT: &str = "dev.sigstore.cosign/certificate";
const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";

fn pem_cert(pem: &str) -> Result<Cert> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| Error::msg(format!("{ANN_CERT}: not a PEM certificate")))?;
    Cert::parse(&der, ANN_CERT)
}

/// The Rekor evidence of cosign's annotation as a bundle's `tlogEntries` item.
fn entry(ann: &str) -> Result<Value> {
    let v: Value =
        serde_json::from_str(ann).map_err(|_| Error::msg(format!("{ANN_BUNDLE}: not JSON")))?;
    let p = &v["Payload"];
    let log_id: Vec<u8> = p["logID"]
        .as_str()
        .and_then(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .ok_or_else(|| Error::msg(format!("{ANN_BUNDLE}: logID is not hex")))?;
    Ok(json!({
        "logId": {"keyId": base64::engine::general_purpose::STANDARD.encode(log_id)},
        "canonicalizedBody": p["body"],
        "integratedTime": p["integratedTime"],
        "logIndex": p["logIndex"],
        "inclusionPromise": {"signedEntryTimestamp": v["SignedEntryTimestamp"]},
    }))
}

fn one(
    source: &Source,
    layer: &Value,
    digest: &str,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<()> {
    let ann = &layer["annotations"];
    let cert = pem_cert(ann[ANN_CERT].as_str().unwrap_or(""))?;
    identity(&cert, policy)?;
    let Key::P256(key) = cert.key()? else {
        return Err(Error::msg(
            "certificate key is not P-256, which cosign signatures use",
        ));
    };
    let sig_b64 = ann[ANN_SIGNATURE]
        .as_str()
        .ok_or_else(|| Error::msg(format!("no {ANN_SIGNATURE} annotation")))?;
    let d = serde_json::from_value(layer.clone()).map_err(|e| Error::msg(e.to_string()))?;
    let payload = source.small_blob(&d)?;
    // The payload must name this digest and carry the certificate key's signature.
    crate::sign::check(&key, &payload, sig_b64, digest)?;
    let Some(b) = ann[ANN_BUNDLE].as_str() else {
        return Err(Error::msg(format!(
            "no transparency log evidence ({ANN_BUNDLE} annotation); without it the certificate's short validity cannot be checked offline"
        )));
    };
    let s = Signed::Message {
        digest: Sha256::digest(&payload).to_vec(),
        sig: base64::engine::general_purpose::STANDARD
            .decode(sig_b64.trim())
            .map_err(|_| Error::msg("signature annotation is not base64"))?,
    };
    logged(&[entry(b)?], &s, &cert, root, policy)
}

/// Checks the certificate-carrying layers at the `.sig` tag: Ok(None) when there are none,
/// Ok(Some(what)) when one verified, Err with every layer's reason otherwise.
pub fn verify(
    source: &Source,
    digest: &str,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Option<String>> {
    let tag = sig_tag(digest);
    let Some(m) = source.tagged(&tag)? else {
        return Ok(None);
    };
    let mut why = Vec::new();
    for (i, l) in m.json()?["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if l["mediaType"].as_str() != Some(MT_SIMPLESIGNING) || l["annotations"][ANN_CERT].is_null()
        {
            continue;
        }
        match one(source, l, digest, policy, root) {
            Ok(()) => return Ok(Some(format!("cosign signature layer {i} of {tag}"))),
            Err(e) => why.push(format!("{tag} layer {i}: {e}")),
        }
    }
    if why.is_empty() {
        Ok(None)
    } else {
        Err(Error::msg(why.join("; ")))
    }
}
