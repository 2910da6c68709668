//! Keyless (Fulcio + Rekor) signatures, verified offline against a trusted root file.
//!
//! Found the way @sigstore/oci attaches them: an artifact manifest whose `subject` is the
//! image and whose one layer is a sigstore bundle, listed by the registry's OCI 1.1 referrers
//! API, or in the referrers index at the tag `sha256-<hex>` (the distribution spec's fallback
//! for registries without the API, which is what @sigstore/oci writes there). See `bundle.rs`
//! for what is checked, `sct.rs` for the certificate's SCT.
//! cosign's own layout (certificate and Rekor evidence as annotations at the `.sig` tag) is
//! read too, see `cosign.rs`.

mod bundle;
mod cert;
mod cosign;
mod sct;
mod tlog;
mod trust;

use crate::error::{Error, Result};
use crate::fetch::{Source, Src, MT_OCI_INDEX};
use crate::oci::Descriptor;

/// Who must have signed, and the roots that vouch for it.
pub struct Policy {
    pub identity: String,
    pub issuer: String,
    pub trusted_root: String,
    /// Accept a certificate without a valid SCT (cosign's --insecure-ignore-sct).
    pub ignore_sct: bool,
}

/// The keyless flags, as cosign names them; the init image's env vars fill them in.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    /// Keyless: the signer's certificate identity (SAN e-mail or URI), exactly
    /// (also: COSIGN_CERT_IDENTITY).
    #[arg(long, value_name = "IDENTITY")]
    pub certificate_identity: Option<String>,
    /// Keyless: the OIDC issuer in the certificate (also: COSIGN_CERT_OIDC_ISSUER).
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: sigstore trusted_root.json with the Fulcio CAs and Rekor keys; nothing is
    /// fetched (also: SIGSTORE_TRUSTED_ROOT).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<String>,
    /// Keyless: accept a certificate without a valid embedded SCT from a CT log of the
    /// trusted root, as cosign's flag of that name (also: COSIGN_INSECURE_IGNORE_SCT=true).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

impl Args {
    /// The policy from flags, else the environment; None when keyless was not asked for.
    /// Asking for it with a part missing is an error: nothing is left unchecked.
    pub fn policy(&self) -> Result<Option<Policy>> {
        let identity = self
            .certificate_identity
            .clone()
            .or_else(|| env("COSIGN_CERT_IDENTITY"));
        let issuer = self
            .certificate_oidc_issuer
            .clone()
            .or_else(|| env("COSIGN_CERT_OIDC_ISSUER"));
        let root = self
            .trusted_root
            .clone()
            .or_else(|| env("SIGSTORE_TRUSTED_ROOT"));
        if identity.is_none() && issuer.is_none() {
            if root.is_some() && self.trusted_root.is_some() {
                return Err(Error::msg(
                    "--trusted-root needs --certificate-identity and --certificate-oidc-issuer",
                ));
            }
            if self.insecure_ignore_sct {
                return Err(Error::msg(
                    "--insecure-ignore-sct needs --certificate-identity and --certificate-oidc-issuer",
                ));
            }
            return Ok(None);
        }
        let (Some(identity), Some(issuer)) = (identity, issuer) else {
            return Err(Error::msg(
                "keyless verification needs both the certificate identity and the OIDC issuer (COSIGN_CERT_IDENTITY and COSIGN_CERT_OIDC_ISSUER)",
            ));
        };
        let Some(trusted_root) = root else {
            return Err(Error::msg(
                "keyless verification needs a trusted root file (--trusted-root or SIGSTORE_TRUSTED_ROOT: sigstore's trusted_root.json); fetching it through TUF needs the network and is not done",
            ));
        };
        let ignore_sct = self.insecure_ignore_sct
            || env("COSIGN_INSECURE_IGNORE_SCT").is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
            });
        Ok(Some(Policy {
            identity,
            issuer,
            trusted_root,
            ignore_sct,
        }))
    }
}

fn is_bundle_type(t: &str) -> bool {
    t.starts_with("application/vnd.dev.sigstore.bundle")
}

/// The bundles attached to `digest`: listed by the registry's referrers API, or where there is
/// none, in the index at the tag `sha256-<hex>` (the distribution spec's fallback).
fn bundles(source: &Source, digest: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let tag = digest.replacen(':', "-", 1);
    let listed = match source.referrers(digest)? {
        Some(l) => l,
        None => {
            let Some(index) = source.tagged(&tag)? else {
                return Ok(Vec::new());
            };
            if index.media_type != MT_OCI_INDEX {
                return Ok(Vec::new());
            }
            index.json()?["manifests"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    let mut out = Vec::new();
    for m in &listed {
        if !m["artifactType"].as_str().is_some_and(is_bundle_type) {
            continue;
        }
        let d: Descriptor = serde_json::from_value(m.clone())
            .map_err(|e| Error::msg(format!("referrers of {digest}: {e}")))?;
        let man = source.by_descriptor(&d)?.json()?;
        // The manifest must say it refers to this image, not merely be listed under its tag.
        if man["subject"]["digest"].as_str() != Some(digest) {
            continue;
        }
        for l in man["layers"].as_array().into_iter().flatten() {
            if !l["mediaType"].as_str().is_some_and(is_bundle_type) {
                continue;
            }
            let ld: Descriptor = serde_json::from_value(l.clone())
                .map_err(|e| Error::msg(format!("bundle manifest {}: {e}", d.digest)))?;
            out.push((d.digest.clone(), source.small_blob(&ld)?));
        }
    }
    Ok(out)
}

/// Verifies that a keyless signature of `digest` by the policy's identity is attached.
/// Returns a short description of what matched.
pub fn verify(source: &Source, src: &Src, digest: &str, policy: &Policy) -> Result<String> {
    let root = trust::TrustedRoot::load(&policy.trusted_root)?;
    let checked = if policy.ignore_sct {
        "certificate chain, signature and transparency log checked (certificate transparency SCT not checked: --insecure-ignore-sct)"
    } else {
        "certificate chain, its certificate transparency SCT, signature and transparency log checked"
    };
    let mut why = Vec::new();
    match cosign::verify(source, digest, policy, &root) {
        Ok(Some(what)) => {
            return Ok(format!(
                "keyless: {} from {}, {what}, {checked}",
                policy.identity, policy.issuer
            ))
        }
        Ok(None) => {}
        Err(e) => why.push(e.to_string()),
    }
    let found = bundles(source, digest)?;
    if found.is_empty() && why.is_empty() {
        return Err(Error::msg(format!(
            "{src}: no keyless signature for {digest} (no sigstore bundle among its referrers, from the referrers API or else the tag {}; no certificate at {}); refusing to unpack",
            digest.replacen(':', "-", 1),
            crate::sign::sig_tag(digest)
        )));
    }
    for (m, b) in &found {
        match bundle::verify(b, digest, policy, &root) {
            Ok(who) => {
                return Ok(format!(
                    "keyless: {who} from {}, bundle {m}, {checked}",
                    policy.issuer
                ))
            }
            Err(e) => why.push(format!("bundle {m}: {e}")),
        }
    }
    Err(Error::msg(format!(
        "{src}: keyless signature check failed for {digest}: {}; refusing to unpack",
        why.join("; ")
    )))
}

/// `verify` with keyless flags: the root manifest fetched and checked.
pub fn verify_cmd(
    src_s: &str,
    policy: &Policy,
    insecure: bool,
) -> Result<(crate::fetch::Fetched, String)> {
    let src = Src::parse(src_s)?;
    let source = Source::open(&src, insecure)?;
    let root = source.root(&src)?;
    let who = verify(&source, &src, &root.digest, policy)?;
    Ok((root, who))
}
