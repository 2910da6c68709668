//! Runs the real binary and reads what it wrote: the OCI layout, its JSON, the tar layers
//! (with the `tar` crate, an independent reader), digests recomputed from the bytes.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{blob, json_blob, ok, repo, run, tagged, BIN};

/// (platform manifest descriptor, manifest, config) per platform of the tagged index.
fn images(dir: &Path, tag: &str) -> Vec<(Value, Value, Value)> {
    let top = tagged(dir, tag);
    assert_eq!(top["mediaType"], "application/vnd.oci.image.index.v1+json");
    let index = json_blob(dir, top["digest"].as_str().unwrap());
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let m = json_blob(dir, d["digest"].as_str().unwrap());
            let c = json_blob(dir, m["config"]["digest"].as_str().unwrap());
            (d.clone(), m, c)
        })
        .collect()
}

struct Entry {
    path: String,
    kind: u8,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    uname: Vec<u8>,
    link: String,
    data: Vec<u8>,
    offset: u64,
}

fn entries(tar_bytes: &[u8]) -> Vec<Entry> {
    let mut a = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let offset = e.raw_file_position();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Entry {
            path: e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
            kind: h.entry_type().as_byte(),
            size: e.size(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            uname: h.username_bytes().unwrap_or_default().to_vec(),
            link: e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            data,
            offset,
        });
    }
    out
}

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let t = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// The sample model plus one file large enough for a layer of its own.
fn model(tmp: &Path) -> PathBuf {
    let m = tmp.join("model");
    copy_tree(&repo().join("sample-model"), &m);
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(m.join("weights/big.safetensors"), big).unwrap();
    m
}

fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

#[test]
fn sample_model_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let out = tmp.path().join("out");
    let digest = ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}:v1", out.display()),
        "-q",
    ]);
    assert_eq!(tagged(&out, "v1")["digest"], digest.as_str());
    assert_eq!(
        fs::read_to_string(out.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );

    let imgs = images(&out, "v1");
    let want = [
        ("amd64", 62u16),
        ("arm64", 183),
        ("ppc64le", 21),
        ("s390x", 22),
    ];
    assert_eq!(imgs.len(), 4);
    let source = files_under(&m);
    let mut model_layers = None;
    for ((arch, machine), (d, man, cfg)) in want.iter().zip(&imgs) {
        assert_eq!(d["platform"]["architecture"], *arch);
        assert_eq!(d["platform"]["os"], "linux");
        assert_eq!(cfg["architecture"], *arch);
        assert_eq!(
            man["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(cfg["config"]["WorkingDir"], "/models");
        assert_eq!(cfg["config"]["Env"], serde_json::json!(["PATH=/bin"]));
        assert!(cfg["config"]["Entrypoint"].is_null());
        assert!(cfg["config"]["Labels"]["org.opencontainers.image.source"].is_string());
        let layers = man["layers"].as_array().unwrap();
        let diff_ids = cfg["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(layers.len(), diff_ids.len());
        assert_eq!(cfg["history"].as_array().unwrap().len(), layers.len());
        for (l, id) in layers.iter().zip(diff_ids) {
            assert_eq!(l["mediaType"], "application/vnd.oci.image.layer.v1.tar");
            let b = blob(&out, l["digest"].as_str().unwrap());
            assert_eq!(b.len() as u64, l["size"].as_u64().unwrap());
            assert_eq!(l["digest"], *id, "uncompressed: digest is the diff_id");
        }
        // The base layer: the sidecar of this architecture as /bin/sh, links, empty /models.
        let base = entries(&blob(&out, layers[0]["digest"].as_str().unwrap()));
        let sh = base.iter().find(|e| e.path == "bin/sh").expect("bin/sh");
        let e_machine = if sh.data[5] == 2 {
            u16::from_be_bytes([sh.data[18], sh.data[19]])
        } else {
            u16::from_le_bytes([sh.data[18], sh.data[19]])
        };
        assert_eq!(e_machine, *machine, "{arch}: bin/sh is an ELF for {arch}");
        assert_eq!(
            sh.data,
            fs::read(repo().join("dist").join(arch).join("modelcar-base"))
                .expect("dist/<arch>/modelcar-base: run scripts/build-sidecar.sh first")
        );
        for n in [
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
        ] {
            let l = base
                .iter()
                .find(|e| e.path == format!("bin/{n}"))
                .unwrap_or_else(|| panic!("bin/{n}"));
            assert_eq!((l.kind, l.link.as_str()), (b'2', "sh"));
        }
        assert!(base.iter().any(|e| e.path == "models" && e.kind == b'5'));
        // Model layers are the same blobs on every platform.
        let ml: Vec<Value> = layers[1..].to_vec();
        match &model_layers {
            None => model_layers = Some(ml),
            Some(prev) => assert_eq!(prev, &ml),
        }
    }

    // Model layers: every file once, byte for byte; normalised metadata; parents first.
    let ml = model_layers.unwrap();
    let titles: Vec<&str> = ml
        .iter()
        .map(|l| {
            l["annotations"]["org.opencontainers.image.title"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        titles,
        ["small files", "weights/big.safetensors", "README.md"]
    );
    let card = ml.last().unwrap();
    assert_eq!(
        card["annotations"]["io.github.modelcar-base.modelcard"],
        "true"
    );
    assert_eq!(
        imgs[0].1["annotations"]["io.opendatahub.layers.modelcard"],
        card["digest"]
    );
    assert_eq!(
        imgs[0].1["annotations"]["org.opencontainers.image.created"],
        "1970-01-01T00:00:00Z"
    );
    let mut got = BTreeMap::new();
    for l in &ml {
        let es = entries(&blob(&out, l["digest"].as_str().unwrap()));
        let paths: Vec<&str> = es.iter().map(|e| e.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "entries sorted");
        for e in &es {
            assert!(
                e.path == "models" || e.path.starts_with("models/"),
                "{}",
                e.path
            );
            assert_eq!((e.uid, e.gid, e.mtime), (0, 0, 0), "{}", e.path);
            assert!(e.uname.is_empty(), "no user names: {}", e.path);
            if let Some((parent, _)) = e.path.rsplit_once('/') {
                assert!(paths.contains(&parent), "parent of {} present", e.path);
            }
            match e.kind {
                b'5' => assert_eq!(e.mode, 0o755),
                b'0' => {
                    assert_eq!(e.mode, 0o644);
                    assert_eq!(e.size, e.data.len() as u64);
                    got.insert(
                        e.path.trim_start_matches("models/").to_string(),
                        e.data.clone(),
                    );
                }
                k => panic!("unexpected entry type {k} for {}", e.path),
            }
        }
        if l["annotations"]["org.opencontainers.image.title"] == "weights/big.safetensors" {
            let big = es.iter().find(|e| e.kind == b'0').unwrap();
            assert_eq!(
                big.offset % 4096,
                0,
                "large file data is 4 KiB-aligned for reflinks"
            );
        }
    }
    assert_eq!(got, source, "every model file, byte for byte, nothing else");
    assert!(got.contains_key("label map.txt"));
}

#[test]
fn same_input_same_digest_and_changes_stay_local() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let da = ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}", a.display()),
        "-q",
    ]);
    let db = ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}", b.display()),
        "-q",
    ]);
    assert_eq!(da, db);
    assert_eq!(
        fs::read(a.join("index.json")).unwrap(),
        fs::read(b.join("index.json")).unwrap()
    );

    fs::write(m.join("config.json"), b"{\"changed\": true}\n").unwrap();
    let c = tmp.path().join("c");
    let dc = ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}", c.display()),
        "-q",
    ]);
    assert_ne!(da, dc);
    let la = &images(&a, "latest")[0].1["layers"];
    let lc = &images(&c, "latest")[0].1["layers"];
    let changed: Vec<usize> = (0..4)
        .filter(|&i| la[i]["digest"] != lc[i]["digest"])
        .collect();
    assert_eq!(
        changed,
        [1],
        "only the small-files layer changes: {la} vs {lc}"
    );
}

#[test]
fn gzip_layers_have_uncompressed_diff_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let out = tmp.path().join("gz");
    ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}", out.display()),
        "--compress",
        "gzip",
        "-q",
    ]);
    let (_, man, cfg) = &images(&out, "latest")[0];
    for (l, id) in man["layers"].as_array().unwrap()[1..]
        .iter()
        .zip(&cfg["rootfs"]["diff_ids"].as_array().unwrap()[1..])
    {
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&blob(&out, l["digest"].as_str().unwrap())[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(format!("sha256:{:x}", Sha256::digest(&raw)), *id);
    }
}

#[test]
fn tags_accumulate_in_one_layout_and_base_appends_to_every_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let out = tmp.path().join("out");
    let d1 = ok(&[
        m.to_str().unwrap(),
        "-o",
        &format!("oci:{}:one", out.display()),
        "-q",
    ]);
    let extra = tmp.path().join("extra.txt");
    fs::write(&extra, b"more").unwrap();
    let d2 = ok(&[
        extra.to_str().unwrap(),
        "-o",
        &format!("oci:{}:two", out.display()),
        "-q",
    ]);
    assert_eq!(tagged(&out, "one")["digest"], d1.as_str());
    assert_eq!(tagged(&out, "two")["digest"], d2.as_str());

    // --base: the first image as base, the extra file on top, into another layout.
    let on = tmp.path().join("on");
    ok(&[
        extra.to_str().unwrap(),
        "--base",
        &format!("oci:{}:one", out.display()),
        "-o",
        &format!("oci:{}:x", on.display()),
        "-q",
    ]);
    let base = images(&out, "one");
    let top = images(&on, "x");
    assert_eq!(top.len(), 4);
    for ((bd, bm, bc), (td, tm, tc)) in base.iter().zip(&top) {
        assert_eq!(bd["platform"], td["platform"]);
        let bl = bm["layers"].as_array().unwrap();
        let tl = tm["layers"].as_array().unwrap();
        assert_eq!(tl.len(), bl.len() + 1);
        assert_eq!(&tl[..bl.len()], &bl[..]);
        assert_eq!(
            tm["annotations"]["org.opencontainers.image.base.digest"],
            bd["digest"]
        );
        let ids = tc["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(
            &ids[..bl.len()],
            &bc["rootfs"]["diff_ids"].as_array().unwrap()[..]
        );
        assert_eq!(
            tc["config"], bc["config"],
            "base config (Env, Cmd, labels) kept"
        );
        for l in tl {
            blob(&on, l["digest"].as_str().unwrap());
        }
        let es = entries(&blob(&on, tl.last().unwrap()["digest"].as_str().unwrap()));
        assert_eq!(es.last().unwrap().path, "models/extra.txt");
    }
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = files_under(dir).into_iter().collect();
    v.sort();
    v
}

fn fails_cleanly(args: &[&str], needle: &str, out: &Path) {
    let before = out.exists().then(|| listing(out));
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: stderr {err:?} should mention {needle:?}"
    );
    assert!(o.stdout.is_empty());
    assert_eq!(
        out.exists().then(|| listing(out)),
        before,
        "{} left as it was",
        out.display()
    );
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = t.join("out");
    let o = format!("oci:{}", out.display());

    let missing = t.join("no-such-model");
    fails_cleanly(
        &[missing.to_str().unwrap(), "-o", &o],
        missing.to_str().unwrap(),
        &out,
    );

    let empty = t.join("empty");
    fs::create_dir_all(empty.join("sub")).unwrap();
    fails_cleanly(&[empty.to_str().unwrap(), "-o", &o], "no model files", &out);

    let esc = t.join("escape");
    fs::create_dir(&esc).unwrap();
    fs::write(esc.join("ok.txt"), b"x").unwrap();
    std::os::unix::fs::symlink("../../etc/passwd", esc.join("evil")).unwrap();
    fails_cleanly(
        &[esc.to_str().unwrap(), "-o", &o],
        &esc.join("evil").display().to_string(),
        &out,
    );
    fs::remove_file(esc.join("evil")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", esc.join("abs")).unwrap();
    fails_cleanly(
        &[esc.to_str().unwrap(), "-o", &o],
        "points outside the model directory",
        &out,
    );
    fs::remove_file(esc.join("abs")).unwrap();

    let fifo = esc.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    fails_cleanly(
        &[esc.to_str().unwrap(), "-o", &o],
        &fifo.display().to_string(),
        &out,
    );
    fs::remove_file(&fifo).unwrap();

    // An existing folder that is not an OCI layout is not touched.
    let other = t.join("not-oci");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("precious.txt"), b"keep me").unwrap();
    fails_cleanly(
        &[
            esc.to_str().unwrap(),
            "-o",
            &format!("oci:{}", other.display()),
        ],
        "not an OCI layout",
        &other,
    );

    // A symlink that stays inside is kept as a link; the good model packs.
    std::os::unix::fs::symlink("ok.txt", esc.join("alias")).unwrap();
    ok(&[esc.to_str().unwrap(), "-o", &o, "-q"]);
    let (_, man, _) = &images(&out, "latest")[0];
    let es = entries(&blob(&out, man["layers"][1]["digest"].as_str().unwrap()));
    let alias = es.iter().find(|e| e.path == "models/alias").unwrap();
    assert_eq!((alias.kind, alias.link.as_str()), (b'2', "ok.txt"));

    // Usage errors: nothing to do; a bad --output.
    let o2 = run(&[esc.to_str().unwrap()]);
    assert_eq!(o2.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o2.stderr).contains("nothing to do"));
    let o3 = run(&[esc.to_str().unwrap(), "-o", "/tmp/x"]);
    assert!(String::from_utf8_lossy(&o3.stderr).contains("oci:DIR"));
}

#[test]
fn interrupt_leaves_the_layout_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = t.join("out");
    let small = t.join("small.txt");
    fs::write(&small, b"first").unwrap();
    ok(&[
        small.to_str().unwrap(),
        "-o",
        &format!("oci:{}:keep", out.display()),
        "-q",
    ]);
    let before = listing(&out);

    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        // A sparse 64 GiB file: no disk use, and far too long to finish before the signal.
        let big = t.join("big");
        fs::create_dir_all(&big).unwrap();
        let f = fs::File::create(big.join("huge.bin")).unwrap();
        f.set_len(64 << 30).unwrap();
        let child = Command::new(BIN)
            .args([
                big.to_str().unwrap(),
                "-o",
                &format!("oci:{}:new", out.display()),
                "-q",
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until a temp blob exists, then a little more: the huge file's layer is on
        // (zeros become holes, so the temp file's length does not show progress).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let busy = fs::read_dir(out.join("blobs/sha256"))
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
            if busy {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no temp blob grew");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("interrupted"));
        assert_eq!(listing(&out), before, "layout unchanged, no temp files");
    }
}

#[test]
fn help_mentions_zstd_and_kserve() {
    let o = run(&["--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(s.contains("zstd") && s.contains("fetch mode"), "{s}");
}

#[test]
fn output_tags_are_checked_and_pack_is_also_a_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let model = t.join("m.txt");
    fs::write(&model, b"weights").unwrap();
    let m = model.to_str().unwrap();
    let out = t.join("out");
    for (o, needle) in [
        (format!("oci:{}:", out.display()), "empty tag"),
        (format!("oci:{}:.v1", out.display()), "invalid tag"),
        (format!("oci:{}:a+b", out.display()), "invalid tag"),
        (
            format!("oci:{}:{}", out.display(), "t".repeat(129)),
            "at most 128",
        ),
    ] {
        fails_cleanly(&[m, "-o", &o], needle, &out);
        assert!(!out.exists(), "{o}: nothing written");
    }
    let tag = "v".repeat(128);
    let a = ok(&[m, "-q", "-o", &format!("oci:{}:{tag}", out.display())]);
    let b = ok(&["pack", m, "-q", "-o", &format!("oci:{}:t2", out.display())]);
    assert_eq!(
        a, b,
        "same input, same index, with or without the subcommand"
    );
    assert_eq!(tagged(&out, &tag)["digest"], a.as_str());
    assert_eq!(tagged(&out, "t2")["digest"], b.as_str());
}
