//! `unpack`, `sign`, `verify`, `inspect`, `info` run as the real binary on OCI layouts made
//! here: modelcars packed by modelcar-pack, and hand-written layers with hostile tar entries
//! (headers written byte by byte, as an attacker would). Every refusal is checked for its
//! message, its exit status and for what it left on disk.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

// `ok` keeps the whole stdout: `info` output is compared with a file, newline and all.
use support::{
    kit_context, names, put, raw_tar, repo, run_with, stdout_ok as ok, tag, tree, Kind, BIN,
};

fn fails(args: &[&str], envs: &[(&str, &str)], want: &str) -> String {
    let o = run_with(args, envs);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: want {want:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

// ---------- hand-made layouts ----------

/// A one-platform image of `layers` (media type, bytes), tagged `t`.
fn image(dir: &Path, t: &str, layers: &[(&str, Vec<u8>)]) -> String {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    support::manifest(
        dir,
        t,
        ("application/vnd.oci.image.config.v1+json", config),
        layers,
    )
}

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn sample_layout(tmp: &Path) -> String {
    let lay = tmp.join("lay");
    let model = repo().join("sample-model");
    ok(&[
        model.to_str().unwrap(),
        "-q",
        "-o",
        &format!("oci:{}:v1", lay.display()),
    ]);
    format!("oci:{}:v1", lay.display())
}

#[test]
fn unpacks_a_modelcar_byte_for_byte_and_replaces_dest_on_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sample_layout(tmp.path());
    let dest = tmp.path().join("out");
    let o = run_with(&["unpack", &src, dest.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("platform linux/amd64"), "{log}");
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("unpacked 8866 bytes, 5 files to") && last.contains(" s ("),
        "{last}"
    );
    assert_eq!(tree(&dest), tree(&repo().join("sample-model")));
    // A rerun over a finished DEST replaces it whole (no stale file survives).
    fs::write(dest.join("stale"), b"x").unwrap();
    ok(&["unpack", &src, dest.to_str().unwrap(), "-q"]);
    assert_eq!(tree(&dest), tree(&repo().join("sample-model")));
    assert_eq!(
        names(tmp.path()),
        ["lay", "out"],
        "no staging left beside DEST"
    );
    // Every platform of the index has the same /models.
    for arch in ["arm64", "ppc64le", "s390x"] {
        let d = tmp.path().join(arch);
        ok(&[
            "unpack",
            &src,
            d.to_str().unwrap(),
            "--platform",
            &format!("linux/{arch}"),
            "-q",
        ]);
        assert_eq!(tree(&d), tree(&dest), "{arch}");
    }
    fails(
        &[
            "unpack",
            &src,
            tmp.path().join("x").to_str().unwrap(),
            "--platform",
            "linux/riscv64",
        ],
        &[],
        "no linux/riscv64 manifest (it has: linux/amd64, linux/arm64, linux/ppc64le, linux/s390x)",
    );
}

#[test]
fn kit_init_environment_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sample_layout(tmp.path());
    let dest = tmp.path().join("kit");
    let o = run_with(
        &["unpack"],
        &[
            ("MODELKIT_REF", &src),
            ("UNPACK_PATH", dest.to_str().unwrap()),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(tree(&dest), tree(&repo().join("sample-model")));
    fails(&["unpack"], &[], "give SRC, or set MODELKIT_REF");
    fails(
        &["unpack", &src, tmp.path().join("k2").to_str().unwrap()],
        &[
            ("COSIGN_CERT_IDENTITY", "me@example.com"),
            ("COSIGN_CERT_OIDC_ISSUER", "https://x"),
        ],
        // Keyless needs a trusted root file (SIGSTORE_TRUSTED_ROOT): nothing is fetched.
        "keyless verification needs a trusted root file",
    );
    assert!(!tmp.path().join("k2").exists());
}

#[test]
fn layers_apply_in_order_with_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let lay = tmp.path().join("lay");
    let l1 = raw_tar(&[
        ("bin/sh", Kind::File(b"#!")),
        ("models/", Kind::Dir),
        ("models/a", Kind::File(b"one")),
        ("models/b", Kind::File(b"gone")),
        ("models/d/x", Kind::File(b"hidden")),
    ]);
    let l2 = raw_tar(&[
        ("models/a", Kind::File(b"two")),
        ("models/.wh.b", Kind::File(b"")),
        ("models/d/.wh..wh..opq", Kind::File(b"")),
        ("models/d/y", Kind::File(b"new")),
        ("models/link", Kind::Symlink("d/y")),
        ("models/hard", Kind::Hardlink("models/a")),
    ]);
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&l2).unwrap();
        e.finish().unwrap()
    };
    image(
        &lay,
        "v1",
        &[
            (TAR, l1),
            ("application/vnd.oci.image.layer.v1.tar+gzip", gz),
        ],
    );
    let dest = tmp.path().join("out");
    ok(&[
        "unpack",
        &format!("oci:{}:v1", lay.display()),
        dest.to_str().unwrap(),
        "-q",
    ]);
    let t = tree(&dest);
    let want: BTreeMap<String, Vec<u8>> = [
        ("a", &b"two"[..]),
        ("d", b"/"),
        ("d/y", b"new"),
        ("hard", b"two"),
        ("link", b"->d/y"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_vec()))
    .collect();
    assert_eq!(t, want);
}

#[test]
fn hostile_layers_are_refused_and_nothing_is_written() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            raw_tar(&[("models/../../escaped", Kind::File(b"x"))]),
            "path contains '..'",
        ),
        (
            "absolute",
            raw_tar(&[("/models/abs", Kind::File(b"x"))]),
            "absolute path",
        ),
        (
            "symlink-out",
            raw_tar(&[("models/l", Kind::Symlink("../../../etc/passwd"))]),
            "symlink to ../../../etc/passwd leaves the destination",
        ),
        (
            "symlink-abs",
            raw_tar(&[("models/l", Kind::Symlink("/etc/passwd"))]),
            "symlink to /etc/passwd leaves the destination",
        ),
        (
            "through-symlink",
            raw_tar(&[
                ("models/d", Kind::Symlink(".")),
                ("models/d/x", Kind::File(b"x")),
            ]),
            "its path goes through a symlink",
        ),
        (
            "hardlink-out",
            raw_tar(&[("models/h", Kind::Hardlink("etc/passwd"))]),
            "hardlink to etc/passwd leaves the destination",
        ),
        (
            "hardlink-abs",
            raw_tar(&[("models/h", Kind::Hardlink("/etc/passwd"))]),
            "absolute path",
        ),
        (
            "chardev",
            raw_tar(&[("models/null", Kind::Char)]),
            "character device",
        ),
        ("fifo", raw_tar(&[("models/p", Kind::Fifo)]), "FIFO"),
    ];
    for (name, layer, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let lay = tmp.path().join("lay");
        // A good layer first, so a refusal comes after files were written to staging.
        let good = raw_tar(&[("models/ok", Kind::File(b"fine"))]);
        image(&lay, "v1", &[(TAR, good), (TAR, layer)]);
        let dest = tmp.path().join("out");
        let err = fails(
            &[
                "unpack",
                &format!("oci:{}:v1", lay.display()),
                dest.to_str().unwrap(),
                "-j",
                "1",
            ],
            &[],
            want,
        );
        assert!(err.contains("nothing was unpacked"), "{name}: {err}");
        assert_eq!(
            names(tmp.path()),
            ["lay"],
            "{name}: nothing beside the layout"
        );
        // An existing DEST is left exactly as it was.
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("old"), b"kept").unwrap();
        fails(
            &[
                "unpack",
                &format!("oci:{}:v1", lay.display()),
                dest.to_str().unwrap(),
            ],
            &[],
            want,
        );
        assert_eq!(
            tree(&dest),
            [("old".to_string(), b"kept".to_vec())].into(),
            "{name}"
        );
        assert_eq!(names(tmp.path()), ["lay", "out"], "{name}");
    }
}

#[test]
fn digest_mismatch_and_unknown_media_type_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let lay = tmp.path().join("lay");
    let layer = raw_tar(&[("models/w", Kind::File(b"weights!"))]);
    let d = support::sha256(&layer);
    image(&lay, "v1", &[(TAR, layer.clone())]);
    // Same size, one byte changed.
    let mut bad = layer.clone();
    let at = bad.windows(8).position(|w| w == b"weights!").unwrap();
    bad[at] = b'W';
    fs::write(
        lay.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:")),
        &bad,
    )
    .unwrap();
    let dest = tmp.path().join("out");
    fails(
        &[
            "unpack",
            &format!("oci:{}:v1", lay.display()),
            dest.to_str().unwrap(),
        ],
        &[],
        &format!("layer {d}: digest mismatch: got {}", support::sha256(&bad)),
    );
    assert_eq!(names(tmp.path()), ["lay"]);

    let lay2 = tmp.path().join("lay2");
    image(&lay2, "v1", &[("application/vnd.example.weights", layer)]);
    fails(
        &[
            "unpack",
            &format!("oci:{}:v1", lay2.display()),
            dest.to_str().unwrap(),
        ],
        &[],
        "unknown media type \"application/vnd.example.weights\"; refusing to unpack",
    );
    assert_eq!(names(tmp.path()), ["lay", "lay2"]);
}

fn openssl(args: &[&str]) {
    let s = Command::new("openssl").args(args).status().unwrap();
    assert!(s.success(), "openssl {args:?}");
}

#[test]
fn sign_verify_and_unpack_checks_the_signature_first() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = sample_layout(t);
    let (key, pubk, other, other_pub) = (
        t.join("k.pem"),
        t.join("k.pub"),
        t.join("o.pem"),
        t.join("o.pub"),
    );
    for (k, p) in [(&key, &pubk), (&other, &other_pub)] {
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            k.to_str().unwrap(),
        ]);
        openssl(&[
            "ec",
            "-in",
            k.to_str().unwrap(),
            "-pubout",
            "-out",
            p.to_str().unwrap(),
        ]);
    }
    let dest = t.join("out");
    let d = dest.to_str().unwrap();
    // Unsigned: refused, nothing written.
    fails(
        &["unpack", &src, d, "--key", pubk.to_str().unwrap()],
        &[],
        "no cosign signature for sha256:",
    );
    assert!(!dest.exists());
    let signed = ok(&["sign", "--key", key.to_str().unwrap(), &src]);
    let signed = signed.trim();
    let verified = ok(&["verify", "--key", pubk.to_str().unwrap(), &src]);
    assert_eq!(verified.trim(), signed);
    // A foreign key: refused, nothing written.
    fails(
        &["unpack", &src, d, "--key", other_pub.to_str().unwrap()],
        &[],
        "signature does not match the public key; refusing to unpack",
    );
    assert!(!dest.exists());
    // COSIGN_KEY (kit-init), as a path and inline.
    let pem = fs::read_to_string(&pubk).unwrap();
    for k in [pubk.to_str().unwrap(), pem.as_str()] {
        let _ = fs::remove_dir_all(&dest);
        let o = run_with(&["unpack", &src, d], &[("COSIGN_KEY", k)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("signature of sha256:"));
        assert_eq!(tree(&dest), tree(&repo().join("sample-model")));
    }
    // A second signature is added beside the first; both keys then verify.
    ok(&["sign", "--key", other.to_str().unwrap(), &src]);
    ok(&["verify", "--key", pubk.to_str().unwrap(), &src]);
    ok(&["verify", "--key", other_pub.to_str().unwrap(), &src]);

    // Another implementation checks our signature: openssl, over the payload's bytes.
    let lay = PathBuf::from(src.trim_start_matches("oci:").trim_end_matches(":v1"));
    let idx: Value = serde_json::from_slice(&fs::read(lay.join("index.json")).unwrap()).unwrap();
    let sig_tag = format!("{}.sig", signed.replace(':', "-"));
    let entry = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == json!(sig_tag))
        .unwrap()
        .clone();
    let blob = |d: &str| {
        fs::read(
            lay.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let m: Value = serde_json::from_slice(&blob(entry["digest"].as_str().unwrap())).unwrap();
    let l0 = &m["layers"][0];
    assert_eq!(
        l0["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = blob(l0["digest"].as_str().unwrap());
    let pv: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(pv["critical"]["image"]["docker-manifest-digest"], signed);
    assert_eq!(pv["critical"]["type"], "cosign container image signature");
    use base64::Engine;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(
            l0["annotations"]["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    fs::write(t.join("payload"), &payload).unwrap();
    fs::write(t.join("sig.der"), &sig).unwrap();
    openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        pubk.to_str().unwrap(),
        "-signature",
        t.join("sig.der").to_str().unwrap(),
        t.join("payload").to_str().unwrap(),
    ]);

    // A bad signature (one bit flipped in the annotation's bytes): refused.
    let mut bad = sig.clone();
    let n = bad.len();
    bad[n - 2] ^= 1;
    let mut m2 = m.clone();
    m2["layers"] = json!([{
        "mediaType": l0["mediaType"], "digest": l0["digest"], "size": l0["size"],
        "annotations": {"dev.cosignproject.cosign/signature": base64::engine::general_purpose::STANDARD.encode(&bad)}}]);
    let mb = serde_json::to_vec(&m2).unwrap();
    let md = put(&lay, &mb);
    tag(
        &lay,
        &sig_tag,
        "application/vnd.oci.image.manifest.v1+json",
        &md,
        mb.len(),
    );
    let mut idx2: Value =
        serde_json::from_slice(&fs::read(lay.join("index.json")).unwrap()).unwrap();
    // Keep only the tampered entry for the .sig tag.
    idx2["manifests"].as_array_mut().unwrap().retain(|e| {
        e["annotations"]["org.opencontainers.image.ref.name"] != json!(sig_tag)
            || e["digest"] == json!(md)
    });
    fs::write(lay.join("index.json"), serde_json::to_vec(&idx2).unwrap()).unwrap();
    let _ = fs::remove_dir_all(&dest);
    fails(
        &["unpack", &src, d, "--key", pubk.to_str().unwrap()],
        &[],
        "signature does not match the public key",
    );
    assert!(!dest.exists());
}

/// Signatures made by cosign itself (containers/image's fixtures, see tests/data/cosign).
#[test]
fn verifies_signatures_made_by_cosign() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cosign");
    let tmp = tempfile::tempdir().unwrap();
    let lay = tmp.path().join("lay");
    let manifest = fs::read(data.join("manifest.json")).unwrap();
    let md = put(&lay, &manifest);
    assert_eq!(
        md,
        "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
    );
    tag(
        &lay,
        "v1",
        "application/vnd.docker.distribution.manifest.v2+json",
        &md,
        manifest.len(),
    );
    let layer_of = |file: &str| -> Value {
        let raw = fs::read(data.join(file)).unwrap();
        let body = raw.strip_prefix(b"\x00sigstore-json\n".as_slice()).unwrap();
        let v: Value = serde_json::from_slice(body).unwrap();
        use base64::Engine;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(v["payload"].as_str().unwrap())
            .unwrap();
        json!({"mediaType": v["mimeType"], "digest": put(&lay, &payload), "size": payload.len(),
               "annotations": v["annotations"]})
    };
    let sig_manifest = |layers: Vec<Value>| {
        let config = b"{}";
        let cd = put(&lay, config);
        let m = serde_json::to_vec(&json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": 2},
            "layers": layers})).unwrap();
        (put(&lay, &m), m.len())
    };
    let sig_tag = format!("{}.sig", md.replace(':', "-"));
    let src = format!("oci:{}:v1", lay.display());
    let (k1, k2) = (data.join("cosign.pub"), data.join("cosign2.pub"));
    let (one, n) = sig_manifest(vec![layer_of("signature-1")]);
    tag(
        &lay,
        &sig_tag,
        "application/vnd.oci.image.manifest.v1+json",
        &one,
        n,
    );
    assert_eq!(
        ok(&["verify", "--key", k1.to_str().unwrap(), &src]).trim(),
        md
    );
    fails(
        &["verify", "--key", k2.to_str().unwrap(), &src],
        &[],
        "signature does not match the public key",
    );
    // A foreign signature alone is refused; beside cosign's second signature (appended to
    // the same tag, as cosign does) the good one is found.
    let idx_path = lay.join("index.json");
    let retag = |d: &str, n: usize| {
        let mut idx: Value = serde_json::from_slice(&fs::read(&idx_path).unwrap()).unwrap();
        idx["manifests"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["annotations"]["org.opencontainers.image.ref.name"] != json!(sig_tag));
        fs::write(&idx_path, serde_json::to_vec(&idx).unwrap()).unwrap();
        tag(
            &lay,
            &sig_tag,
            "application/vnd.oci.image.manifest.v1+json",
            d,
            n,
        );
    };
    let (foreign, n) = sig_manifest(vec![layer_of("unknown-cosign-key.signature")]);
    retag(&foreign, n);
    fails(
        &["verify", "--key", k1.to_str().unwrap(), &src],
        &[],
        "layer 0: signature does not match the public key",
    );
    let dest = tmp.path().join("out");
    fails(
        &[
            "unpack",
            &src,
            dest.to_str().unwrap(),
            "--key",
            k1.to_str().unwrap(),
        ],
        &[],
        "refusing to unpack",
    );
    assert!(!dest.exists());
    let (both, n) = sig_manifest(vec![
        layer_of("unknown-cosign-key.signature"),
        layer_of("signature-2"),
    ]);
    retag(&both, n);
    let o = run_with(&["verify", "--key", k1.to_str().unwrap(), &src], &[]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("signature layer 1 of"));
    fails(
        &["verify", "--key", k2.to_str().unwrap(), &src],
        &[],
        "layer 1: signature does not match",
    );
}

#[test]
fn inspect_and_info_read_no_model_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sample_layout(tmp.path());
    let lay = tmp.path().join("lay");
    // Remove every model layer but the model card: inspect and info still work.
    let idx: Value = serde_json::from_slice(&fs::read(lay.join("index.json")).unwrap()).unwrap();
    let root = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let text = ok(&["inspect", &src]);
    assert!(
        text.contains(&root)
            && text.contains("linux/s390x")
            && text.contains("io.github.modelcar-base.modelcard: true"),
        "{text}"
    );
    let j: Value = serde_json::from_str(&ok(&["inspect", "--json", &src])).unwrap();
    assert_eq!(j["digest"], json!(root));
    assert_eq!(j["manifests"].as_array().unwrap().len(), 4);
    let m = &j["manifests"][0]["manifest"];
    for l in m["layers"].as_array().unwrap() {
        if l["annotations"]["io.github.modelcar-base.modelcard"].is_null() {
            let p = lay
                .join("blobs/sha256")
                .join(l["digest"].as_str().unwrap().trim_start_matches("sha256:"));
            let _ = fs::remove_file(p);
        }
    }
    ok(&["inspect", &src]);
    let info = ok(&["info", &src]);
    assert!(info.contains("title: sample-model"), "{info}");
    let card = fs::read_to_string(repo().join("sample-model/README.md")).unwrap();
    assert!(info.contains(&card), "{info}");
}

/// ModelKits and ModelPacks (written by modelcar-pack --format): the files at their Kitfile
/// paths plus the Kitfile, as `kit unpack` does; kit's filters; kit-init's default (model).
#[test]
fn modelkits_and_modelpacks_unpack_to_their_kitfile_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    kit_context(&ctx);
    let mut want = tree(&ctx);
    want.remove("Kitfile");
    for format in ["modelkit", "modelpack"] {
        let lay = tmp.path().join(format);
        let src = format!("oci:{}:v1", lay.display());
        ok(&[ctx.to_str().unwrap(), "--format", format, "-q", "-o", &src]);
        let all = tmp.path().join(format!("{format}-all"));
        ok(&["unpack", &src, all.to_str().unwrap(), "-q"]);
        let mut got = tree(&all);
        let kitfile = got.remove("Kitfile").expect("the Kitfile is written");
        assert_eq!(got, want, "{format}");
        let kf: serde_yaml::Value = serde_yaml::from_slice(&kitfile).unwrap();
        assert_eq!(kf["model"]["path"], "./weights", "{format}");
        // info: the Kitfile, from the config (ModelKit) or the annotation (ModelPack), as
        // YAML like `kit info`: the very file unpack writes.
        let info = ok(&["info", &src]);
        assert_eq!(info.as_bytes(), &kitfile[..], "{format}: {info}");
        // --filter: the model (with its part) only, no Kitfile.
        let model = tmp.path().join(format!("{format}-model"));
        ok(&[
            "unpack",
            &src,
            model.to_str().unwrap(),
            "-q",
            "--filter",
            "model",
        ]);
        let keys: Vec<String> = tree(&model)
            .into_keys()
            .filter(|k| !tree(&model)[k].starts_with(b"/"))
            .collect();
        assert_eq!(
            keys,
            [
                "lora.bin",
                "weights/model.safetensors",
                "weights/sub/config.json"
            ],
            "{format}"
        );
        // By name, two filters adding up.
        let some = tmp.path().join(format!("{format}-some"));
        ok(&[
            "unpack",
            &src,
            some.to_str().unwrap(),
            "-q",
            "--filter",
            "datasets:train",
            "--filter",
            "kitfile",
        ]);
        let keys: Vec<String> = tree(&some)
            .into_keys()
            .filter(|k| !tree(&some)[k].starts_with(b"/"))
            .collect();
        assert_eq!(keys, ["Kitfile", "data/train.csv"], "{format}");
        // kit-init: no SRC, UNPACK_FILTER unset: the model only.
        let kit = tmp.path().join(format!("{format}-kit"));
        let o = run_with(
            &["unpack", "-q"],
            &[
                ("MODELKIT_REF", &src),
                ("UNPACK_PATH", kit.to_str().unwrap()),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(tree(&kit), tree(&model), "{format}");
        fails(
            &[
                "unpack",
                &src,
                tmp.path().join("x").to_str().unwrap(),
                "--filter",
                "weights",
            ],
            &[],
            "invalid filter type \"weights\"",
        );
        fails(
            &[
                "unpack",
                &src,
                tmp.path().join("x").to_str().unwrap(),
                "--filter",
                "code:nothing",
            ],
            &[],
            "the filter selects no layer",
        );
        assert!(!tmp.path().join("x").exists());
    }
}

/// SIGTERM in the middle: exit 143, DEST as it was, no staging folder left.
#[test]
fn sigterm_leaves_dest_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    fs::create_dir(&model).unwrap();
    // Sparse: quick to make, 512 MiB to unpack.
    fs::File::create(model.join("w.bin"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let lay = tmp.path().join("lay");
    ok(&[
        model.to_str().unwrap(),
        "-q",
        "-o",
        &format!("oci:{}:v1", lay.display()),
    ]);
    let dest = tmp.path().join("d");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("old"), b"kept").unwrap();
    let mut child = Command::new(BIN)
        .args([
            "unpack",
            "-q",
            "-j",
            "1",
            &format!("oci:{}:v1", lay.display()),
            dest.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let staging = tmp.path().join(".d.unpack-staging");
    let t = std::time::Instant::now();
    while !staging.join("layers/1").exists() && t.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(143));
    assert_eq!(tree(&dest), [("old".to_string(), b"kept".to_vec())].into());
    assert_eq!(names(tmp.path()), ["d", "lay", "m"]);
}
