//! What the integration tests share: running the real binary, reading the OCI layouts it
//! writes, hand-made layouts and hostile tars, and the Kitfile context.
// Each test file uses a part of this module.
#![allow(dead_code)]

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_modelcar-pack");

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

// ---------- running the binary ----------

/// The binary with `args`, without the environment variables that change what it does
/// (SOURCE_DATE_EPOCH; kit-init's and KitOps' KServe image's, which `unpack` reads; the CA
/// files and KServe's pull secret).
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    for k in [
        "SOURCE_DATE_EPOCH",
        "MODELKIT_REF",
        "UNPACK_PATH",
        "UNPACK_FILTER",
        "COSIGN_KEY",
        "COSIGN_CERT_IDENTITY",
        "COSIGN_CERT_OIDC_ISSUER",
        "KIT_UNPACK_FLAGS",
        "EXTRA_FLAGS",
        "SSL_CERT_FILE",
        "CA_BUNDLE_VOLUME_MOUNT_POINT",
        "KSERVE_OCI_DOCKER_CONFIG",
    ] {
        c.env_remove(k);
    }
    c
}

/// `command` with `envs` set.
pub fn command_with(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = command(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

pub fn run(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

pub fn run_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    command_with(args, envs).output().unwrap()
}

/// The whole stdout of a run that must succeed.
pub fn stdout_ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "modelcar-pack {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Stdout (trimmed) of a run that must succeed.
pub fn ok(args: &[&str]) -> String {
    stdout_ok(args).trim().to_string()
}

/// The one stderr line of a failed run (exit status 1).
pub fn fails(args: &[&str]) -> String {
    fails_with(args, &[])
}

/// `fails` with `envs` set.
pub fn fails_with(args: &[&str], envs: &[(&str, &str)]) -> String {
    let o = run_with(args, envs);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail: {e}");
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------- reading layouts ----------

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(b))
}

/// A blob of a layout, checked against its name.
pub fn blob(dir: &Path, digest: &str) -> Vec<u8> {
    let b = fs::read(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(sha256(&b), digest, "blob content matches its name");
    b
}

pub fn json_blob(dir: &Path, digest: &str) -> Value {
    serde_json::from_slice(&blob(dir, digest)).unwrap()
}

/// The index.json entry tagged `tag` (exactly one).
pub fn tagged(dir: &Path, tag: &str) -> Value {
    let idx: Value = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    let found: Vec<&Value> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .collect();
    assert_eq!(found.len(), 1, "one entry tagged {tag} in {idx}");
    found[0].clone()
}

/// path -> file bytes ("->target" for symlinks, "/" for folders) of a tree.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = fs::read_link(&p).unwrap();
                out.insert(rel, format!("->{}", t.display()).into_bytes());
            } else if m.is_dir() {
                out.insert(rel, b"/".to_vec());
                walk(root, &p, out);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

// ---------- hand-made layouts ----------

pub enum Kind {
    File(&'static [u8]),
    Dir,
    Symlink(&'static str),
    Hardlink(&'static str),
    Char,
    Fifo,
}

/// A tar written header by header, names copied as given (no sanitising), as a hostile tool
/// would write it.
pub fn raw_tar(entries: &[(&str, Kind)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind) in entries {
        let mut h = tar::Header::new_gnu();
        {
            let g = h.as_gnu_mut().unwrap();
            g.name = [0; 100];
            g.name[..name.len()].copy_from_slice(name.as_bytes());
        }
        h.set_mode(0o644);
        h.set_mtime(0);
        let (ty, data, link): (tar::EntryType, &[u8], &str) = match kind {
            Kind::File(d) => (tar::EntryType::Regular, d, ""),
            Kind::Dir => (tar::EntryType::Directory, b"", ""),
            Kind::Symlink(t) => (tar::EntryType::Symlink, b"", t),
            Kind::Hardlink(t) => (tar::EntryType::Link, b"", t),
            Kind::Char => (tar::EntryType::Char, b"", ""),
            Kind::Fifo => (tar::EntryType::Fifo, b"", ""),
        };
        h.set_entry_type(ty);
        h.set_size(data.len() as u64);
        if !link.is_empty() {
            let g = h.as_gnu_mut().unwrap();
            g.linkname = [0; 100];
            g.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Writes a blob into a layout; its digest.
pub fn put(dir: &Path, bytes: &[u8]) -> String {
    let d = sha256(bytes);
    let p = dir.join("blobs/sha256");
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join(d.trim_start_matches("sha256:")), bytes).unwrap();
    d
}

/// Adds an index.json entry tagged `tag` (making the layout if there is none).
pub fn tag(dir: &Path, tag: &str, media_type: &str, d: &str, size: usize) {
    let p = dir.join("index.json");
    let mut idx: Value = fs::read(&p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(json!({"schemaVersion": 2, "manifests": []}));
    idx["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": media_type, "digest": d, "size": size,
        "annotations": {"org.opencontainers.image.ref.name": tag}}));
    fs::write(&p, serde_json::to_vec(&idx).unwrap()).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// A one-manifest image with this config and `layers` (media type, bytes), tagged `t`;
/// the manifest's digest.
pub fn manifest(dir: &Path, t: &str, config: (&str, &[u8]), layers: &[(&str, Vec<u8>)]) -> String {
    let (config_type, config) = config;
    let cd = put(dir, config);
    let ls: Vec<Value> = layers
        .iter()
        .map(|(mt, b)| json!({"mediaType": mt, "digest": put(dir, b), "size": b.len()}))
        .collect();
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": cd, "size": config.len()},
        "layers": ls}))
    .unwrap();
    let md = put(dir, &m);
    tag(
        dir,
        t,
        "application/vnd.oci.image.manifest.v1+json",
        &md,
        m.len(),
    );
    md
}

// ---------- the Kitfile context ----------

pub const KITFILE: &str = r#"manifestVersion: 1.0.0
package:
  name: tiny
  version: 1.2.3
  description: A tiny model
  authors: [Ann, Bob]
  license: Apache-2.0
model:
  name: tiny-model
  path: ./weights
  format: safetensors
  parts:
    - name: lora
      path: lora.bin
datasets:
  - name: train
    path: data/
code:
  - path: src
docs:
  - path: README.md
  - path: docs
"#;

/// The files KITFILE names: path -> bytes.
pub fn kit_files() -> Vec<(&'static str, Vec<u8>)> {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        ("weights/model.safetensors", big),
        ("weights/sub/config.json", b"{}\n".to_vec()),
        ("lora.bin", b"lora".to_vec()),
        ("data/train.csv", b"a,b\n".to_vec()),
        ("src/train.py", b"print(1)\n".to_vec()),
        ("README.md", b"# tiny\n".to_vec()),
        ("docs/LICENSE", b"Apache\n".to_vec()),
    ]
}

/// A kit context in `dir`: KITFILE and its files.
pub fn kit_context(dir: &Path) {
    for (p, b) in kit_files() {
        let f = dir.join(p);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(f, b).unwrap();
    }
    fs::write(dir.join("Kitfile"), KITFILE).unwrap();
}
