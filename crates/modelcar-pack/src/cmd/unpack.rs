//! The reading side's subcommands: `unpack`, `sign`, `verify`, `inspect`, `info`, and the
//! two environment contracts of an init container: kit-init's (MODELKIT_REF, UNPACK_PATH,
//! UNPACK_FILTER, COSIGN_KEY, EXTRA_FLAGS) and KServe's storage initializer's (args
//! `SRC_URI DEST_PATH`, KSERVE_OCI_INSECURE_REGISTRY, and KitOps' KIT_UNPACK_FLAGS; the pull
//! secret comes through KSERVE_OCI_DOCKER_CONFIG, see `auth.rs`).

use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct Net {
    /// Plain HTTP to the registry (also: KSERVE_OCI_INSECURE_REGISTRY=true, or --plain-http
    /// or --tls-verify=false in KIT_UNPACK_FLAGS or, for kit-init, EXTRA_FLAGS).
    #[arg(long, alias = "plain-http")]
    pub insecure: bool,
}

/// Flattened into `cli::Command`.
#[derive(Subcommand, Debug)]
pub enum ReadCmd {
    /// Unpack a modelcar's /models into DEST: the node's platform, layers fetched in
    /// parallel and checked against their digests, DEST replaced only on success.
    #[command(
        after_help = "SRC: REGISTRY/REPO[:TAG][@sha256:...], optionally behind oci://, oci+fetch://, kit:// or docker://, or oci:DIR[:TAG].\n\
Without SRC: $MODELKIT_REF; without DEST: --dir in $EXTRA_FLAGS, else $UNPACK_PATH, else (no SRC) /home/user/modelkit (kit-init's contract).\n\
KIT_UNPACK_FLAGS (and, without SRC, EXTRA_FLAGS): kit unpack's --filter, --dir, --plain-http and --tls-verify=false apply.\n\
COSIGN_KEY=PATH-or-PEM verifies the signature first, as --key does; COSIGN_CERT_IDENTITY,\n\
COSIGN_CERT_OIDC_ISSUER and SIGSTORE_TRUSTED_ROOT verify a keyless one, as the --certificate-* flags do\n\
(COSIGN_INSECURE_IGNORE_SCT=true as --insecure-ignore-sct).\n\
Credentials: KSERVE_OCI_DOCKER_CONFIG, REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n\
~/.config/containers/auth.json, $DOCKER_CONFIG/config.json (else ~/.docker/config.json), /mnt/oci-fetch-auth/config.json."
    )]
    Unpack {
        #[arg(value_name = "SRC")]
        src: Option<String>,
        #[arg(value_name = "DEST")]
        dest: Option<PathBuf>,
        /// kit's filter syntax, repeatable: TYPE[,TYPE...][:NAME_OR_PATH,...], TYPE one of
        /// kitfile, model, datasets, code, docs (ModelKits and ModelPacks; default: all; a
        /// modelcar is always unpacked whole). Also --filter in KIT_UNPACK_FLAGS; when no SRC
        /// is given, $UNPACK_FILTER (default: model) and --filter in EXTRA_FLAGS.
        #[arg(long)]
        filter: Vec<String>,
        /// Verify the cosign signature with this public key (file or PEM) before unpacking.
        #[arg(long, value_name = "PUBLIC_KEY")]
        key: Option<String>,
        #[command(flatten)]
        keyless: crate::keyless::Args,
        /// Platform to pick from an index (default: this machine's, linux/GOARCH); a variant
        /// (linux/arm64/v8) is accepted and not compared.
        #[arg(long, value_name = "linux/ARCH")]
        platform: Option<String>,
        /// Layers fetched at once.
        #[arg(short, long, default_value_t = 4)]
        jobs: usize,
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        net: Net,
    },
    /// Sign REF's digest with a P-256 private key (PEM), cosign's way: a simple-signing
    /// payload at the tag sha256-<hex>.sig.
    Sign {
        #[arg(long, value_name = "PRIVATE_KEY")]
        key: PathBuf,
        #[arg(value_name = "REF")]
        src: String,
        #[command(flatten)]
        net: Net,
    },
    /// Check REF's cosign signature against a public key (file or PEM), or its keyless
    /// sigstore bundle against an identity, an issuer and a trusted root.
    Verify {
        #[arg(long, value_name = "PUBLIC_KEY")]
        key: Option<String>,
        #[command(flatten)]
        keyless: crate::keyless::Args,
        #[arg(value_name = "REF")]
        src: String,
        #[command(flatten)]
        net: Net,
    },
    /// Print the index and manifests of REF (platforms, layers, sizes, media types,
    /// annotations) without fetching any layer.
    Inspect {
        #[arg(value_name = "REF")]
        src: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        net: Net,
    },
    /// What an image says of itself: a ModelKit's Kitfile (YAML, as kit info prints it), or a modelcar's title, source
    /// and model card; no layer is fetched except a model card of at most 1 MiB.
    Info {
        #[arg(value_name = "REF")]
        src: String,
        #[command(flatten)]
        net: Net,
    },
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// `kit unpack` flags from the environment: KIT_UNPACK_FLAGS always, EXTRA_FLAGS in
/// kit-init's mode (no SRC). Flags that do nothing here are named in the log.
fn kit_flags(kit_init: bool, quiet: bool) -> Result<super::kitflags::KitFlags> {
    let mut all = super::kitflags::KitFlags::default();
    for var in ["KIT_UNPACK_FLAGS", "EXTRA_FLAGS"] {
        if var == "EXTRA_FLAGS" && !kit_init {
            continue;
        }
        let Some(v) = env(var) else { continue };
        let f = super::kitflags::parse(var, &v)?;
        if !f.ignored.is_empty() && !quiet {
            eprintln!(
                "modelcar-pack: {var}: not used here: {}",
                f.ignored.join(" ")
            );
        }
        all.insecure |= f.insecure;
        all.filters.extend(f.filters);
        all.deprecated = all.deprecated.or(f.deprecated);
        all.dir = all.dir.or(f.dir);
    }
    Ok(all)
}

/// Insecure from the flag or from the two init-container contracts.
fn insecure(net: &Net) -> Result<bool> {
    let kserve = env("KSERVE_OCI_INSECURE_REGISTRY")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    Ok(net.insecure || kserve || kit_flags(false, true)?.insecure)
}

/// `--platform`: `linux/ARCH` as well as `linux/arm64/v8`, the form `inspect` and podman
/// print (the index is searched by architecture), and uname's names for the two common arches.
fn platform_arch(p: &str) -> Result<String> {
    let bad = || Error::msg(format!("--platform wants linux/ARCH[/VARIANT], got {p:?}"));
    let rest = p.strip_prefix("linux/").ok_or_else(bad)?;
    let arch = rest.split('/').next().unwrap_or("");
    if arch.is_empty() || rest.split('/').count() > 2 {
        return Err(bad());
    }
    Ok(match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
    .to_string())
}

/// A URL where a reference belongs (`https://registry/repo:tag`, as browsers and
/// `curl` spell it) gets its own message, not the reference grammar's.
fn no_url_scheme(src: &str) -> Result<()> {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = src.strip_prefix(scheme) {
            let plain = if scheme == "http://" {
                "; plain HTTP is --insecure"
            } else {
                ""
            };
            return Err(Error::msg(format!(
                "{src:?}: an image reference has no {scheme}: give {rest}{plain}"
            )));
        }
    }
    Ok(())
}

pub fn run(cmd: ReadCmd) -> Result<()> {
    match &cmd {
        ReadCmd::Unpack { src, .. } => src.as_deref().map_or(Ok(()), no_url_scheme)?,
        ReadCmd::Sign { src, .. }
        | ReadCmd::Verify { src, .. }
        | ReadCmd::Inspect { src, .. }
        | ReadCmd::Info { src, .. } => no_url_scheme(src)?,
    }
    match cmd {
        ReadCmd::Unpack {
            src,
            dest,
            filter,
            key,
            keyless,
            platform,
            jobs,
            quiet,
            net,
        } => {
            let keyless = keyless.policy()?;
            let kit_init = src.is_none();
            let flags = kit_flags(kit_init, quiet)?;
            // kit-init's contract (no SRC): UNPACK_FILTER, defaulting to the model only, and
            // EXTRA_FLAGS' filters, as its entrypoint hands both to `kit unpack`.
            let mut filters = filter;
            if kit_init && filters.is_empty() {
                filters.push(env("UNPACK_FILTER").unwrap_or_else(|| "model".to_string()));
            }
            filters.extend(flags.filters);
            if let Some(d) = flags.deprecated {
                filters = vec![d];
            }
            let src = src
                .or_else(|| env("MODELKIT_REF"))
                .ok_or_else(|| Error::msg("nothing to unpack: give SRC, or set MODELKIT_REF"))?;
            no_url_scheme(&src)?;
            // kit-init's default folder only in kit-init's mode: on a workstation
            // `unpack SRC` would otherwise create (and replace) /home/user/modelkit.
            let dest = dest
                .or(flags.dir)
                .or_else(|| env("UNPACK_PATH").map(PathBuf::from))
                .or_else(|| kit_init.then(|| PathBuf::from("/home/user/modelkit")))
                .ok_or_else(|| {
                    Error::msg(
                        "unpack: give DEST, the folder to unpack into (it is replaced whole)",
                    )
                })?;
            let arch = match platform {
                Some(p) => platform_arch(&p)?,
                None => crate::fetch::host_arch().to_string(),
            };
            crate::unpack::run(&crate::unpack::Opts {
                src,
                dest,
                insecure: insecure(&net)? || flags.insecure,
                arch,
                jobs,
                key: key.or_else(|| env("COSIGN_KEY")),
                keyless,
                quiet,
                filters,
            })
        }
        ReadCmd::Sign { key, src, net } => {
            let d = crate::sign::sign(&src, &key, insecure(&net)?)?;
            eprintln!(
                "modelcar-pack: signed {d} (tag {})",
                crate::sign::sig_tag(&d)
            );
            println!("{d}");
            Ok(())
        }
        ReadCmd::Verify {
            key,
            keyless,
            src,
            net,
        } => {
            let (root, who) = match (key, keyless.policy()?) {
                (Some(key), None) => crate::sign::verify_cmd(&src, &key, insecure(&net)?)?,
                (None, Some(p)) => crate::keyless::verify_cmd(&src, &p, insecure(&net)?)?,
                _ => {
                    return Err(Error::msg(
                        "verify: give either --key, or --certificate-identity with --certificate-oidc-issuer and --trusted-root",
                    ))
                }
            };
            eprintln!("modelcar-pack: verified {} ({who})", root.digest);
            println!("{}", root.digest);
            Ok(())
        }
        ReadCmd::Inspect { src, json, net } => crate::inspect::inspect(&src, json, insecure(&net)?),
        ReadCmd::Info { src, net } => crate::inspect::info(&src, insecure(&net)?),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn platforms() {
        let a = |p| super::platform_arch(p).map_err(|e| e.to_string());
        assert_eq!(a("linux/arm64/v8").unwrap(), "arm64");
        assert_eq!(a("linux/aarch64").unwrap(), "arm64");
        assert_eq!(a("linux/x86_64").unwrap(), "amd64");
        assert_eq!(a("linux/s390x").unwrap(), "s390x");
        for bad in ["amd64", "linux/", "linux/arm64/v8/x", "windows/amd64"] {
            assert!(a(bad).unwrap_err().contains("wants linux/ARCH"), "{bad}");
        }
    }
}
