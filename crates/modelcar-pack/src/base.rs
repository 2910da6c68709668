//! The embedded base image: what `podman build -f Containerfile` makes, without podman.
//! Per architecture one layer (bin/sh = the sidecar, the applet names as relative symlinks,
//! an empty models/) and the same config (Env, WorkingDir, User, Cmd, OCI labels).

use crate::oci::{rfc3339, Extra, History, ImageConfig, Platform, RootFs, RunConfig};
use crate::tar::{self, Header, Kind};
use std::collections::BTreeMap;

include!(concat!(env!("OUT_DIR"), "/sidecars.rs"));

/// The names the multi-call binary answers to, besides `sh` (Containerfile's rootfs/bin).
pub const APPLETS: [&str; 10] = [
    "modelcar-base",
    "ln",
    "mkdir",
    "sleep",
    "echo",
    "ls",
    "test",
    "[",
    "true",
    "false",
];

pub fn platform(arch: &str) -> Platform {
    Platform {
        architecture: arch.to_string(),
        os: "linux".to_string(),
        variant: (arch == "arm64").then(|| "v8".to_string()),
        extra: Extra::new(),
    }
}

/// The base layer's tar bytes (a few KB: it is built in memory).
pub fn layer(binary: &[u8], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entry = |path: &str, kind: Kind, mode: u32, link: &str, data: &[u8]| {
        let h = Header {
            path,
            kind,
            size: data.len() as u64,
            mode,
            mtime,
            link,
        };
        out.extend(tar::header_bytes(&h, out.len() as u64, false));
        out.extend_from_slice(data);
        out.resize(out.len() + tar::padding(data.len() as u64), 0);
    };
    entry("bin", Kind::Dir, 0o755, "", &[]);
    let mut names: Vec<&str> = APPLETS.to_vec();
    names.push("sh");
    names.sort_unstable();
    for n in names {
        let path = format!("bin/{n}");
        if n == "sh" {
            entry(&path, Kind::File, 0o755, "", binary);
        } else {
            entry(&path, Kind::Symlink, 0o777, "sh", &[]);
        }
    }
    entry("models", Kind::Dir, 0o755, "", &[]);
    out.extend_from_slice(&tar::TRAILER);
    out
}

/// The image config of the base alone; model layers are appended by the caller.
pub fn config(arch: &str, base_diff_id: &str, created: u64) -> ImageConfig {
    let ts = rfc3339(created);
    let p = platform(arch);
    ImageConfig {
        created: Some(ts.clone()),
        architecture: Some(p.architecture),
        os: Some(p.os),
        variant: p.variant,
        config: Some(RunConfig {
            env: Some(vec!["PATH=/bin".to_string()]),
            working_dir: Some("/models".to_string()),
            user: Some("0".to_string()),
            // As the Containerfile: no Entrypoint (KServe passes `sh -c` as args).
            cmd: Some(vec!["modelcar-base".to_string(), "--help".to_string()]),
            entrypoint: None,
            labels: Some(labels(&ts)),
            extra: Extra::new(),
        }),
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: vec![base_diff_id.to_string()],
            extra: Extra::new(),
        },
        history: vec![History {
            created: Some(ts),
            created_by: Some(
                "modelcar-pack: modelcar-base sidecar as /bin/sh, applet links, empty /models"
                    .to_string(),
            ),
            extra: Extra::new(),
        }],
        extra: Extra::new(),
    }
}

fn labels(created: &str) -> BTreeMap<String, String> {
    [
        ("org.opencontainers.image.title", "modelcar-base"),
        ("org.opencontainers.image.description", "Tiny static multi-call sh for KServe modelcars: runs exactly the scripts KServe sends, never executes another program"),
        ("org.opencontainers.image.source", "https://github.com/modelcar-base/modelcar-base"),
        ("org.opencontainers.image.version", env!("CARGO_PKG_VERSION")),
        ("org.opencontainers.image.revision", option_env!("MODELCAR_REVISION").unwrap_or("unknown")),
        ("org.opencontainers.image.licenses", "Apache-2.0"),
        ("org.opencontainers.image.created", created),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
