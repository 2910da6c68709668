//! Kitfiles in, ModelKits and ModelPacks out, and both converted to modelcars: runs the real
//! binary and reads what it wrote with the `tar` crate. Hand-made source layouts check what
//! conversion refuses (escaping entries, devices, links out, a wrong digest).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

mod support;

use support::{
    blob, fails, json_blob, kit_context, kit_files, ok, raw_tar, sha256, tagged, Kind, KITFILE,
};

/// The amd64 manifest of a modelcar tag.
fn modelcar_manifest(dir: &Path, tag: &str) -> Value {
    let idx = json_blob(dir, tagged(dir, tag)["digest"].as_str().unwrap());
    let m = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()
        .clone();
    json_blob(dir, m["digest"].as_str().unwrap())
}

/// Regular files under models/ in the model layers (all but the base): path -> bytes.
fn model_files(dir: &Path, m: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for l in &m["layers"].as_array().unwrap()[1..] {
        let b = blob(dir, l["digest"].as_str().unwrap());
        let mut a = tar::Archive::new(&b[..]);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            assert!(p.starts_with("models"), "{p}");
            if e.header().entry_type().is_file() {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                out.insert(p, v);
            }
        }
    }
    out
}

struct Ctx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
}

impl Ctx {
    fn s(&self, p: &str) -> String {
        self.root.join(p).to_string_lossy().into_owned()
    }
}

fn context() -> Ctx {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let dir = root.join("ctx");
    kit_context(&dir);
    Ctx {
        _tmp: tmp,
        root,
        dir,
    }
}

fn expect(paths: &[&str]) -> BTreeMap<String, Vec<u8>> {
    kit_files()
        .into_iter()
        .filter(|(p, _)| paths.contains(p))
        .map(|(p, b)| (format!("models/{p}"), b))
        .collect()
}

const MODEL_AND_DOCS: [&str; 5] = [
    "weights/model.safetensors",
    "weights/sub/config.json",
    "lora.bin",
    "README.md",
    "docs/LICENSE",
];

#[test]
fn kitfile_dir_packs_model_and_docs_where_kit_unpack_puts_them() {
    let c = context();
    let out = c.s("out");
    ok(&[
        c.dir.to_str().unwrap(),
        "-o",
        &format!("oci:{out}:v1"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "v1");
    assert_eq!(model_files(Path::new(&out), &m), expect(&MODEL_AND_DOCS));
    let a = &m["annotations"];
    assert_eq!(a["org.opencontainers.image.title"], "tiny");
    assert_eq!(a["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(a["org.opencontainers.image.description"], "A tiny model");
    assert_eq!(a["org.opencontainers.image.authors"], "Ann, Bob");
    assert_eq!(a["org.opencontainers.image.licenses"], "Apache-2.0");
    // The README is the model card: its own layer, named by olot's annotation.
    let card = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["annotations"]["io.github.modelcar-base.modelcard"] == "true")
        .unwrap();
    assert_eq!(a["io.opendatahub.layers.modelcard"], card["digest"]);
}

#[test]
fn model_card_from_a_docs_readme_or_the_models_readme() {
    let c = context();
    let d = c.dir.to_str().unwrap();
    let out = c.s("out");
    fs::remove_file(c.dir.join("README.md")).unwrap();
    fs::write(c.dir.join("docs/README.md"), "# in docs\n").unwrap();
    fs::write(c.dir.join("weights/README.md"), "# in the model\n").unwrap();
    let k = KITFILE.replace("  - path: README.md\n", "");
    fs::write(c.dir.join("Kitfile"), &k).unwrap();
    let card = |tag: &str| {
        let m = modelcar_manifest(Path::new(&out), tag);
        let l = m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["annotations"]["io.github.modelcar-base.modelcard"] == "true")
            .cloned()
            .expect("a model card layer");
        assert_eq!(
            m["annotations"]["io.opendatahub.layers.modelcard"],
            l["digest"]
        );
        l["annotations"]["org.opencontainers.image.title"].clone()
    };
    ok(&[d, "-o", &format!("oci:{out}:a"), "-q"]);
    assert_eq!(card("a"), "docs/README.md");
    ok(&[d, "--filter", "model", "-o", &format!("oci:{out}:b"), "-q"]);
    assert_eq!(card("b"), "weights/README.md");
}

#[test]
fn filters_in_kits_syntax() {
    let c = context();
    let out = c.s("out");
    let d = c.dir.to_str().unwrap();
    ok(&[
        d,
        "--filter",
        "datasets:train",
        "-o",
        &format!("oci:{out}:a"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "a");
    assert_eq!(
        model_files(Path::new(&out), &m),
        expect(&["data/train.csv"])
    );
    ok(&[
        d,
        "--filter",
        "model:lora",
        "--filter",
        "code",
        "-o",
        &format!("oci:{out}:b"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "b");
    assert_eq!(
        model_files(Path::new(&out), &m),
        expect(&["lora.bin", "src/train.py"])
    );
    // kitfile: at the top, as kit unpack writes it (from a directory, the file itself).
    ok(&[
        d,
        "--filter",
        "kitfile,docs:README.md",
        "-o",
        &format!("oci:{out}:k"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "k");
    let mut want = expect(&["README.md"]);
    want.insert("models/Kitfile".into(), KITFILE.as_bytes().to_vec());
    assert_eq!(model_files(Path::new(&out), &m), want);
    // kit takes "dataset" (its media type's name) as "datasets", but not "models".
    let e = fails(&[d, "--filter", "models", "-o", &format!("oci:{out}:c")]);
    assert!(e.contains("invalid filter type \"models\""), "{e}");
}

#[test]
fn kitignore_leaves_files_out() {
    let c = context();
    fs::write(c.dir.join("weights/sub/tmp.bak"), "x").unwrap();
    fs::write(
        c.dir.join(".kitignore"),
        "**/*.bak\nweights/sub\n!weights/sub/config.json\n",
    )
    .unwrap();
    let out = c.s("out");
    ok(&[
        c.dir.to_str().unwrap(),
        "-o",
        &format!("oci:{out}:v1"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "v1");
    assert_eq!(model_files(Path::new(&out), &m), expect(&MODEL_AND_DOCS));
    fs::write(c.dir.join(".kitignore"), "weights/sub\n").unwrap();
    ok(&[
        c.dir.to_str().unwrap(),
        "-o",
        &format!("oci:{out}:v2"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "v2");
    let mut want = expect(&MODEL_AND_DOCS);
    want.remove("models/weights/sub/config.json");
    assert_eq!(model_files(Path::new(&out), &m), want);
}

#[test]
fn kitfile_elsewhere_with_f() {
    let c = context();
    fs::rename(c.dir.join("Kitfile"), c.root.join("other.yaml")).unwrap();
    let out = c.s("out");
    ok(&[
        c.dir.to_str().unwrap(),
        "-f",
        &c.s("other.yaml"),
        "-o",
        &format!("oci:{out}:v1"),
        "-q",
    ]);
    let m = modelcar_manifest(Path::new(&out), "v1");
    assert_eq!(model_files(Path::new(&out), &m), expect(&MODEL_AND_DOCS));
}

#[test]
fn bad_kitfiles_one_line_naming_the_field() {
    let c = context();
    let d = c.dir.to_str().unwrap();
    let out = c.s("out");
    let o = format!("oci:{out}:v1");
    let cases: [(&str, &str); 5] = [
        (
            "model:\n  path: nothere\n",
            "model.path: \"nothere\" does not exist in",
        ),
        (
            "model:\n  path: ../x\n",
            "model.path: \"../x\" leaves the context directory",
        ),
        (
            "manifestVersion: 9.9\nmodel:\n  path: weights\n",
            "manifestVersion: unknown version \"9.9\"",
        ),
        ("model:\n  path: [weights\n", "invalid Kitfile:"),
        (
            "model:\n  path: weights\n  frmework: x\n",
            "unknown field `frmework`",
        ),
    ];
    for (k, want) in cases {
        fs::write(c.dir.join("Kitfile"), k).unwrap();
        let e = fails(&[d, "-o", &o]);
        assert!(e.contains(want), "{k:?}: {e}");
        assert!(e.contains("Kitfile"), "names the file: {e}");
        assert!(!Path::new(&out).exists(), "nothing written");
    }
    std::os::unix::fs::symlink("/etc", c.dir.join("escape")).unwrap();
    fs::write(c.dir.join("Kitfile"), "datasets:\n  - path: escape\n").unwrap();
    let e = fails(&[d, "-o", &o]);
    assert!(e.contains("datasets[0].path: \"escape\" leaves"), "{e}");
}

#[test]
fn modelkit_and_modelpack_as_kit_writes_them() {
    let c = context();
    let out = c.s("kits");
    let d = c.dir.to_str().unwrap();
    ok(&[
        d,
        "--format",
        "modelkit",
        "-o",
        &format!("oci:{out}:kit"),
        "-q",
    ]);
    ok(&[
        d,
        "--format",
        "modelpack",
        "-o",
        &format!("oci:{out}:mp"),
        "-q",
    ]);
    let out = Path::new(&out);

    let kd = tagged(out, "kit");
    assert_eq!(
        kd["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let km = json_blob(out, kd["digest"].as_str().unwrap());
    assert_eq!(
        km["config"]["mediaType"],
        "application/vnd.kitops.modelkit.config.v1+json"
    );
    let types: Vec<&str> = km["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap())
        .collect();
    let k = "application/vnd.kitops.modelkit.";
    assert_eq!(
        types,
        [
            format!("{k}model.v1.tar"),
            format!("{k}modelpart.v1.tar"),
            format!("{k}code.v1.tar"),
            format!("{k}dataset.v1.tar"),
            format!("{k}docs.v1.tar"),
            format!("{k}docs.v1.tar"),
        ]
    );
    // The config is the Kitfile as JSON, each entry with its layer's digest.
    let kf = json_blob(out, km["config"]["digest"].as_str().unwrap());
    assert_eq!(kf["model"]["digest"], km["layers"][0]["digest"]);
    assert_eq!(kf["model"]["parts"][0]["digest"], km["layers"][1]["digest"]);
    assert_eq!(kf["docs"][1]["digest"], km["layers"][5]["digest"]);
    assert_eq!(kf["package"]["authors"], json!(["Ann", "Bob"]));
    // Entries at their context-relative paths, parents first, as kit's tar has them
    // (directories with the usual trailing '/').
    let model = blob(out, km["layers"][0]["digest"].as_str().unwrap());
    let names: Vec<String> = tar::Archive::new(&model[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "weights/",
            "weights/model.safetensors",
            "weights/sub/",
            "weights/sub/config.json"
        ]
    );

    let md = tagged(out, "mp");
    assert_eq!(
        md["artifactType"],
        "application/vnd.cncf.model.manifest.v1+json"
    );
    let mm = json_blob(out, md["digest"].as_str().unwrap());
    assert_eq!(
        mm["artifactType"],
        "application/vnd.cncf.model.manifest.v1+json"
    );
    assert_eq!(
        mm["config"]["mediaType"],
        "application/vnd.cncf.model.config.v1+json"
    );
    let cfg = json_blob(out, mm["config"]["digest"].as_str().unwrap());
    assert_eq!(cfg["descriptor"]["name"], "tiny");
    assert_eq!(cfg["descriptor"]["licenses"], json!(["Apache-2.0"]));
    assert_eq!(cfg["config"]["format"], "safetensors");
    assert_eq!(cfg["modelfs"]["diffIds"].as_array().unwrap().len(), 6);
    assert_eq!(
        mm["layers"][0]["mediaType"],
        "application/vnd.cncf.model.weight.v1.tar"
    );
    assert_eq!(
        mm["layers"][0]["annotations"]["org.cncf.model.filepath"],
        "weights"
    );
    assert_eq!(
        mm["layers"][1]["mediaType"],
        "application/vnd.cncf.model.weight.config.v1.tar"
    );
    assert_eq!(
        mm["layers"][4]["mediaType"],
        "application/vnd.cncf.model.doc.v1.tar"
    );
    let kfa: Value = serde_json::from_str(
        mm["annotations"]["ml.kitops.modelkit.kitfile"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kfa["model"]["name"], "tiny-model");
}

#[test]
fn modelkits_and_modelpacks_convert_to_the_same_modelcar_files() {
    let c = context();
    let kits = c.s("kits");
    let d = c.dir.to_str().unwrap();
    let mk = ok(&[
        d,
        "--format",
        "modelkit",
        "-o",
        &format!("oci:{kits}:kit"),
        "-q",
    ]);
    ok(&[
        d,
        "--format",
        "modelpack",
        "-o",
        &format!("oci:{kits}:mp"),
        "-q",
    ]);
    let out = c.s("out");
    ok(&[
        &format!("oci:{kits}:kit"),
        "-o",
        &format!("oci:{out}:fromkit"),
        "-q",
    ]);
    ok(&[
        &format!("oci:{kits}:mp"),
        "-o",
        &format!("oci:{out}:frommp"),
        "-q",
    ]);
    ok(&[
        &format!("oci:{kits}:mp"),
        "--filter",
        "datasets,code",
        "-o",
        &format!("oci:{out}:data"),
        "-q",
    ]);
    let o = Path::new(&out);
    let m = modelcar_manifest(o, "fromkit");
    assert_eq!(model_files(o, &m), expect(&MODEL_AND_DOCS));
    assert_eq!(
        m["annotations"]["io.github.modelcar-base.source.digest"],
        mk.as_str()
    );
    assert_eq!(
        m["annotations"]["io.github.modelcar-base.source"],
        format!("oci:{kits}:kit")
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.version"],
        "1.2.3"
    );
    let m = modelcar_manifest(o, "frommp");
    assert_eq!(model_files(o, &m), expect(&MODEL_AND_DOCS));
    ok(&[
        &format!("oci:{kits}:kit"),
        "--filter",
        "kitfile",
        "-o",
        &format!("oci:{out}:kitfile"),
        "-q",
    ]);
    let m = modelcar_manifest(o, "kitfile");
    let f = model_files(o, &m);
    let yaml = String::from_utf8(f["models/Kitfile"].clone()).unwrap();
    assert!(
        yaml.contains("name: tiny-model") && !yaml.contains("digest"),
        "{yaml}"
    );
    assert_eq!(f.len(), 1);
    let m = modelcar_manifest(o, "data");
    assert_eq!(
        model_files(o, &m),
        expect(&["data/train.csv", "src/train.py"])
    );
}

/// A one-layer ModelKit layout made by hand (tag "t"); the layer's digest.
fn handmade(dir: &Path, layer: &[u8], media: &str) -> String {
    let cfg =
        serde_json::to_vec(&json!({"manifestVersion": "1.0.0", "model": {"path": "m"}})).unwrap();
    support::manifest(
        dir,
        "t",
        ("application/vnd.kitops.modelkit.config.v1+json", &cfg),
        &[(media, layer.to_vec())],
    );
    sha256(layer)
}

#[test]
fn conversion_refuses_what_could_escape() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            raw_tar(&[("m/../../evil", Kind::File(b"data"))]),
            "leaves the layer's tree",
        ),
        (
            raw_tar(&[("/etc/evil", Kind::File(b"data"))]),
            "leaves the layer's tree",
        ),
        (raw_tar(&[("m/dev", Kind::Char)]), "m/dev: a device"),
        (raw_tar(&[("m/fifo", Kind::Fifo)]), "a fifo"),
        (
            raw_tar(&[("m/l", Kind::Symlink("../../etc/passwd"))]),
            "points outside the model",
        ),
        (
            raw_tar(&[("m/l", Kind::Symlink("/etc/passwd"))]),
            "points outside the model",
        ),
        (
            raw_tar(&[("m/h", Kind::Hardlink("etc/passwd"))]),
            "not a file earlier in the layer",
        ),
    ];
    for (layer, want) in cases {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        handmade(&src, &layer, "application/vnd.kitops.modelkit.model.v1.tar");
        let out = t.path().join("out");
        let e = fails(&[
            &format!("oci:{}:t", src.display()),
            "-o",
            &format!("oci:{}:x", out.display()),
        ]);
        assert!(e.contains(want), "{want}: {e}");
        assert!(!out.exists(), "a failed run leaves no layout behind");
    }
}

#[test]
fn conversion_checks_the_source_digest_and_reads_gzip() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    let layer = raw_tar(&[("m/a", Kind::File(b"data"))]);
    let d = handmade(&src, &layer, "application/vnd.kitops.modelkit.model.v1.tar");
    let mut bad = layer.clone();
    bad[600] ^= 1;
    fs::write(src.join("blobs/sha256").join(&d[7..]), &bad).unwrap();
    let out = t.path().join("out");
    let e = fails(&[
        &format!("oci:{}:t", src.display()),
        "-o",
        &format!("oci:{}:x", out.display()),
    ]);
    assert!(e.contains(&format!("the manifest says {d}")), "{e}");

    let gz = {
        use std::io::Write;
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&layer).unwrap();
        g.finish().unwrap()
    };
    let src2 = t.path().join("src2");
    handmade(
        &src2,
        &gz,
        "application/vnd.kitops.modelkit.model.v1.tar+gzip",
    );
    ok(&[
        &format!("oci:{}:t", src2.display()),
        "-o",
        &format!("oci:{}:x", out.display()),
        "-q",
    ]);
    let m = modelcar_manifest(&out, "x");
    let f = model_files(&out, &m);
    assert_eq!(f.get("models/m/a").map(Vec::as_slice), Some(&b"data"[..]));
}
