//! cosign's key-based signatures. A signature of the manifest (or index) with digest
//! `sha256:H` is an image manifest at the tag `sha256-H.sig` of the same repository (or
//! layout); each of its layers is a simple-signing payload naming that digest, of type
//! `application/vnd.dev.cosign.simplesigning.v1+json`, with the base64 DER ECDSA P-256
//! signature of the payload's bytes in the annotation `dev.cosignproject.cosign/signature`.
//! Keys are PEM: a public key (SPKI), and a PKCS#8 or SEC1 private key (openssl's; cosign
//! reads them with `cosign import-key-pair`).

use crate::error::{Context, Error, Result};
use crate::fetch::{Fetched, Source, Src, MT_OCI_MANIFEST};
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
use serde_json::{json, Value};
use std::path::Path;

pub const MT_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// `sha256:H` -> `sha256-H.sig`.
pub fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// A public key from a file, or given inline as PEM (kit-init's COSIGN_KEY may be either).
pub fn public_key(spec: &str) -> Result<VerifyingKey> {
    // cosign (and so kit-init) also takes a URL or a KMS/k8s URI; that needs a network or
    // a cloud API here, so say so rather than "No such file".
    if let Some((scheme, _)) = spec.split_once("://") {
        if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::msg(format!(
                "public key {spec}: {scheme}:// keys are not supported; give a PEM file or the PEM itself"
            )));
        }
    }
    let (pem, what) = if spec.trim_start().starts_with("-----BEGIN") {
        (spec.to_string(), "the inline key".to_string())
    } else {
        (
            std::fs::read_to_string(spec).ctx(|| format!("public key {spec}"))?,
            spec.to_string(),
        )
    };
    if pem.contains("PRIVATE KEY") {
        return Err(Error::msg(format!(
            "{what}: is a private key; verification takes the public key"
        )));
    }
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
        Error::msg(format!(
            "{what}: not an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----): {e}"
        ))
    })
}

fn key_name(spec: &str) -> &str {
    if spec.trim_start().starts_with("-----BEGIN") {
        "(inline)"
    } else {
        spec
    }
}

pub fn private_key(path: &Path) -> Result<SigningKey> {
    let pem = std::fs::read_to_string(path).ctx(|| format!("private key {}", path.display()))?;
    if pem.contains("ENCRYPTED") {
        return Err(Error::msg(format!(
            "{}: is an encrypted key (cosign generate-key-pair); give an unencrypted PKCS#8 or SEC1 P-256 key, e.g. from `openssl ecparam -name prime256v1 -genkey -noout`",
            path.display()
        )));
    }
    let pem = pem.trim();
    if let Ok(k) = SigningKey::from_pkcs8_pem(pem) {
        return Ok(k);
    }
    p256::SecretKey::from_sec1_pem(pem)
        .map(SigningKey::from)
        .map_err(|_| {
            Error::msg(format!(
                "{}: not an ECDSA P-256 private key in PEM (PKCS#8 or SEC1)",
                path.display()
            ))
        })
}

/// The simple-signing payload for `digest`, in the order and form cosign writes it.
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    let v = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE
        },
        "optional": null
    });
    // serde_json sorts keys here, which is cosign's order too.
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Checks one payload and its base64 signature against `key` and `digest`.
pub fn check(key: &VerifyingKey, payload: &[u8], sig_b64: &str, digest: &str) -> Result<()> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig_b64.trim())
        .map_err(|_| Error::msg("signature annotation is not base64"))?;
    let sig = Signature::from_der(&raw)
        .or_else(|_| Signature::from_slice(&raw))
        .map_err(|_| Error::msg("signature is not an ECDSA signature (DER or r||s)"))?;
    key.verify(payload, &sig)
        .map_err(|_| Error::msg("signature does not match the public key"))?;
    let v: Value =
        serde_json::from_slice(payload).map_err(|_| Error::msg("signed payload is not JSON"))?;
    let c = &v["critical"];
    if c["type"].as_str() != Some(PAYLOAD_TYPE) {
        return Err(Error::msg(format!(
            "signed payload has type {}, not {PAYLOAD_TYPE:?}",
            c["type"]
        )));
    }
    let named = c["image"]["docker-manifest-digest"].as_str().unwrap_or("");
    if named != digest {
        return Err(Error::msg(format!(
            "signed payload is for {named}, not for {digest}"
        )));
    }
    Ok(())
}

/// Verifies that some signature at `sha256-<digest>.sig` was made with `key_path`'s key
/// for `digest`. Returns a short description of what matched.
pub fn verify(source: &Source, src: &Src, digest: &str, key_spec: &str) -> Result<String> {
    let key = public_key(key_spec)?;
    let tag = sig_tag(digest);
    let Some(sigm) = source.tagged(&tag)? else {
        return Err(Error::msg(format!(
            "{src}: no cosign signature for {digest} (no tag {tag}); refusing to unpack"
        )));
    };
    let m = sigm.json()?;
    let mut reasons = Vec::new();
    for (i, l) in m["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if l["mediaType"].as_str() != Some(MT_SIMPLESIGNING) {
            continue;
        }
        let Some(sig) = l["annotations"][ANN_SIGNATURE].as_str() else {
            reasons.push(format!("layer {i}: no {ANN_SIGNATURE} annotation"));
            continue;
        };
        let d = serde_json::from_value(l.clone()).ctx(|| format!("{tag}: layer {i}"))?;
        let payload = source.small_blob(&d)?;
        match check(&key, &payload, sig, digest) {
            Ok(()) => {
                return Ok(format!(
                    "key {}, signature layer {i} of {tag}",
                    key_name(key_spec)
                ))
            }
            Err(e) => reasons.push(format!("layer {i}: {e}")),
        }
    }
    if reasons.is_empty() {
        reasons.push("no simple-signing layer".to_string());
    }
    Err(Error::msg(format!(
        "{src}: signature check failed for {digest} with key {}: {}; refusing to unpack",
        key_name(key_spec),
        reasons.join("; ")
    )))
}

/// `sign --key KEY REF`: adds a signature of REF's digest at its `.sig` tag (to a layout or
/// a registry), keeping signatures already there. Returns the signed digest.
pub fn sign(src_s: &str, key_path: &Path, insecure: bool) -> Result<String> {
    let key = private_key(key_path)?;
    let src = Src::parse(src_s)?;
    let source = match &src {
        Src::Registry { host, repo, .. } => Source::Registry(
            crate::fetch::Registry::connect_scoped(host, repo, insecure, "pull,push")?,
        ),
        _ => Source::open(&src, insecure)?,
    };
    let root = source.root(&src)?;
    let docker_ref = match &src {
        Src::Registry { host, repo, .. } => format!("{host}/{repo}"),
        Src::Layout { dir, .. } => dir.display().to_string(),
    };
    let body = payload(&docker_ref, &root.digest);
    let sig: Signature = key.sign(&body);
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes());
    let tag = sig_tag(&root.digest);
    let layer = json!({
        "mediaType": MT_SIMPLESIGNING,
        "digest": crate::hash::digest(&body),
        "size": body.len(),
        "annotations": {ANN_SIGNATURE: sig_b64}
    });
    let mut layers: Vec<Value> = match source.tagged(&tag)? {
        Some(old) => old.json()?["layers"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        None => Vec::new(),
    };
    layers.retain(|l| l["digest"] != layer["digest"] || l["annotations"] != layer["annotations"]);
    layers.push(layer);
    let diff_ids: Vec<Value> = layers.iter().map(|l| l["digest"].clone()).collect();
    // The config cosign writes for a signature image.
    let config = serde_json::to_vec(&json!({
        "architecture": "", "os": "", "config": {},
        "created": "0001-01-01T00:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .map_err(|e| Error::msg(e.to_string()))?;
    let manifest = |config_digest: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": layers
        }))
        .map_err(|e| Error::msg(e.to_string()))
    };
    match &source {
        Source::Registry(r) => {
            r.put_blob(&body)?;
            let cd = r.put_blob(&config)?;
            r.put_manifest(&tag, MT_OCI_MANIFEST, &manifest(&cd)?)?;
        }
        Source::Layout { dir, .. } => {
            // A writer like any pack: under the layout's lock, its blobs journaled.
            let l = crate::layout::Layout::create(dir)?;
            l.put_bytes(MT_SIMPLESIGNING, &body)?;
            let cd = l.put_bytes("application/vnd.oci.image.config.v1+json", &config)?;
            let md = l.put_bytes(MT_OCI_MANIFEST, &manifest(&cd.digest)?)?;
            l.set_tag(&tag, &md)?;
            crate::cleanup::commit();
        }
    }
    Ok(root.digest)
}

/// What `verify` prints: the root manifest fetched and checked.
pub fn verify_cmd(src_s: &str, key_spec: &str, insecure: bool) -> Result<(Fetched, String)> {
    let src = Src::parse(src_s)?;
    let source = Source::open(&src, insecure)?;
    let root = source.root(&src)?;
    let who = verify(&source, &src, &root.digest, key_spec)?;
    Ok((root, who))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris_are_named() {
        for k in [
            "https://example.com/cosign.pub",
            "awskms:///alias/k",
            "k8s://ns/s",
        ] {
            let e = public_key(k).unwrap_err().to_string();
            assert!(e.contains(":// keys are not supported"), "{e}");
        }
    }

    #[test]
    fn sign_then_check() {
        let k = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let d = format!("sha256:{}", "b".repeat(64));
        let body = payload("r.io/m", &d);
        let sig: Signature = k.sign(&body);
        let b64 = base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes());
        let vk = VerifyingKey::from(&k);
        check(&vk, &body, &b64, &d).unwrap();
        let other = format!("sha256:{}", "c".repeat(64));
        assert!(check(&vk, &body, &b64, &other)
            .unwrap_err()
            .to_string()
            .contains("is for"));
        let foreign = VerifyingKey::from(&SigningKey::from_slice(&[9u8; 32]).unwrap());
        assert!(check(&foreign, &body, &b64, &d)
            .unwrap_err()
            .to_string()
            .contains("does not match"));
        assert_eq!(sig_tag(&d), format!("sha256-{}.sig", "b".repeat(64)));
    }

    #[test]
    fn payload_is_cosigns_form() {
        assert_eq!(
            String::from_utf8(payload("r/x", "sha256:1")).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"sha256:1"},"type":"cosign container image signature"},"optional":null}"#
        );
    }
}
