//! `unpack` used the way operators get it wrong, or the way KitOps' images are configured:
//! two unpacks into one DEST, kit's filter spellings, `kit unpack` flags in
//! KIT_UNPACK_FLAGS (KitOps' KServe image) and EXTRA_FLAGS (kit-init). The real binary on
//! OCI layouts written by modelcar-pack; exit codes, messages and trees are checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{command_with as cmd, fails_with, names, run_with as run};

/// The stderr of a run that must succeed.
fn ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let o = run(args, envs);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{args:?} failed: {err}");
    err
}

fn fails(args: &[&str], envs: &[(&str, &str)], want: &str) {
    let err = fails_with(args, envs);
    assert!(err.contains(want), "{args:?}: want {want:?} in: {err}");
}

/// Relative path -> bytes of every file under `root`.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

const KITFILE: &str = "manifestVersion: \"1.0\"
package:
  name: tiny
model:
  name: tiny-model
  path: weights.bin
datasets:
  - name: train
    path: data
docs:
  - path: README.md
";

/// A ModelKit layout of a small Kitfile project.
fn modelkit(tmp: &Path) -> String {
    let ctx = tmp.join("ctx");
    fs::create_dir_all(ctx.join("data")).unwrap();
    fs::write(ctx.join("weights.bin"), b"weights").unwrap();
    fs::write(ctx.join("data/train.csv"), b"a,b\n").unwrap();
    fs::write(ctx.join("README.md"), b"# tiny\n").unwrap();
    fs::write(ctx.join("Kitfile"), KITFILE).unwrap();
    let src = format!("oci:{}:v1", tmp.join("mk").display());
    ok(
        &[
            ctx.to_str().unwrap(),
            "--format",
            "modelkit",
            "-q",
            "-o",
            &src,
        ],
        &[],
    );
    src
}

/// A second unpack into a DEST that one is still writing is refused with one line (it used
/// to take over the first one's staging folder: both exited 0 and DEST ended up empty).
/// The first one completes; no lock file is left; a lock file left by a killed run does
/// not block a rerun.
#[test]
fn a_second_unpack_into_the_same_dest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    fs::create_dir(&model).unwrap();
    // Sparse: quick to make, slow enough to unpack that the second run meets the first.
    fs::File::create(model.join("w.bin"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    fs::write(model.join("small.txt"), b"small").unwrap();
    let src = format!("oci:{}:v1", tmp.path().join("lay").display());
    ok(&[model.to_str().unwrap(), "-q", "-o", &src], &[]);
    let dest = tmp.path().join("d");
    let d = dest.to_str().unwrap();
    let first = cmd(&["unpack", "-q", "-j", "1", &src, d], &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let staging = tmp.path().join(".d.unpack-staging");
    let t = Instant::now();
    while !staging.join("layers").exists() && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    fails(
        &["unpack", "-q", &src, d],
        &[],
        "d: another unpack into it is running",
    );
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = files(&dest);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["small.txt", "w.bin"]);
    assert_eq!(got["w.bin"].len(), 512 << 20);
    assert_eq!(
        names(tmp.path()),
        ["d", "lay", "m"],
        "no lock or staging left"
    );

    // A run killed with SIGKILL leaves its lock file; it holds no lock, so a rerun proceeds.
    fs::write(tmp.path().join(".d.unpack-lock"), b"").unwrap();
    ok(&["unpack", "-q", &src, d], &[]);
    assert_eq!(names(tmp.path()), ["d", "lay", "m"]);
}

/// kit's filter spellings: `--filter kitfile` alone gives just the Kitfile (it used to fail
/// with "the filter selects no layer"); kit's aliases `config` and `dataset`; a misspelt
/// filter is refused even for a modelcar (it used to be ignored there), before DEST is made.
#[test]
fn kit_filter_spellings() {
    let tmp = tempfile::tempdir().unwrap();
    let src = modelkit(tmp.path());
    for f in ["kitfile", "config"] {
        let dest = tmp.path().join(f);
        ok(
            &["unpack", "-q", &src, dest.to_str().unwrap(), "--filter", f],
            &[],
        );
        assert_eq!(files(&dest).keys().collect::<Vec<_>>(), ["Kitfile"], "{f}");
    }
    let dest = tmp.path().join("ds");
    ok(
        &[
            "unpack",
            "-q",
            &src,
            dest.to_str().unwrap(),
            "--filter",
            "dataset:train",
        ],
        &[],
    );
    assert_eq!(files(&dest).keys().collect::<Vec<_>>(), ["data/train.csv"]);

    let x = tmp.path().join("x");
    let x = x.to_str().unwrap();
    for (f, want) in [
        ("models", "invalid filter type \"models\""),
        ("model, docs", "invalid filter type \" docs\""),
        ("modelpart", "model parts go with 'model'"),
        ("model:a:b", "should be in format"),
    ] {
        fails(&["unpack", &src, x, "--filter", f], &[], want);
    }
    fails(
        &["unpack", "-q", &src, x, "--filter", "model:nope"],
        &[],
        "the filter selects no layer",
    );
    // A modelcar ignores a valid filter, but a typo is still a typo.
    let model = tmp.path().join("mc");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("w.bin"), b"w").unwrap();
    let mc = format!("oci:{}:v1", tmp.path().join("mclay").display());
    ok(&[model.to_str().unwrap(), "-q", "-o", &mc], &[]);
    fails(
        &["unpack", &mc, x, "--filter", "bogus"],
        &[],
        "--filter \"bogus\": invalid filter type",
    );
    assert!(!Path::new(x).exists());
}

/// KitOps' images take `kit unpack` flags from the environment: KIT_UNPACK_FLAGS (its KServe
/// ClusterStorageContainer) and EXTRA_FLAGS (kit-init, where `--dir` replaces UNPACK_PATH and
/// the deprecated `--model`-style flags replace the filters). `--filter` there used to be
/// ignored, so everything was unpacked.
#[test]
fn kit_unpack_flags_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let src = modelkit(tmp.path());
    let dest = tmp.path().join("kserve");
    let log = ok(
        &["unpack", &src, dest.to_str().unwrap()],
        &[("KIT_UNPACK_FLAGS", "-v --filter=model -f docs:README.md")],
    );
    assert!(log.contains("KIT_UNPACK_FLAGS: not used here: -v"), "{log}");
    assert_eq!(
        files(&dest).keys().collect::<Vec<_>>(),
        ["README.md", "weights.bin"]
    );

    let dir = tmp.path().join("init");
    ok(
        &["unpack", "-q"],
        &[
            ("MODELKIT_REF", &src),
            ("UNPACK_PATH", tmp.path().join("unused").to_str().unwrap()),
            ("UNPACK_FILTER", "model"),
            (
                "EXTRA_FLAGS",
                &format!("--dir {} --datasets", dir.display()),
            ),
        ],
    );
    assert_eq!(files(&dir).keys().collect::<Vec<_>>(), ["data/train.csv"]);
    assert!(!tmp.path().join("unused").exists());

    fails(
        &["unpack", &src, tmp.path().join("y").to_str().unwrap()],
        &[("KIT_UNPACK_FLAGS", "--plain-http --filter")],
        "KIT_UNPACK_FLAGS: --filter needs a value",
    );
}

/// DESTs that are not a plain folder path: each refused with one line before anything is
/// written, except `d/.`, which names d (it used to fail at the very end, rename(2) refusing
/// a path that ends in `.`, after every layer was fetched).
#[test]
fn odd_destinations() {
    let tmp = tempfile::tempdir().unwrap();
    let src = modelkit(tmp.path());
    let file = tmp.path().join("file");
    fs::write(&file, b"mine").unwrap();
    fs::create_dir(tmp.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", tmp.path().join("link")).unwrap();
    for (d, want) in [
        (file.clone(), "file: exists and is not a directory"),
        (tmp.path().join("link"), "link: is a symbolic link"),
        (tmp.path().join("real/.."), "not a usable destination"),
    ] {
        fails(&["unpack", "-q", &src, d.to_str().unwrap()], &[], want);
    }
    // In the temp folder: were "." taken, it would be the one replaced.
    let o = cmd(&["unpack", "-q", &src, "."], &[])
        .current_dir(tmp.path().join("real"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(".: not a usable destination"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), b"mine");
    assert!(names(&tmp.path().join("real")).is_empty());
    let dot = tmp.path().join("real/.");
    ok(
        &[
            "unpack",
            "-q",
            &src,
            dot.to_str().unwrap(),
            "--filter",
            "model",
        ],
        &[],
    );
    assert_eq!(names(&tmp.path().join("real")), ["weights.bin"]);
    assert_eq!(names(tmp.path()), ["ctx", "file", "link", "mk", "real"]);
}

/// `unpack SRC` without DEST: kit-init's default folder (/home/user/modelkit) is for kit-init's
/// mode only (no SRC); it used to be created and replaced on a workstation too.
#[test]
fn src_without_dest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = modelkit(tmp.path());
    fails(&["unpack", "-q", &src], &[], "unpack: give DEST");
    // UNPACK_PATH, when set, still names it.
    let d = tmp.path().join("p");
    ok(
        &["unpack", "-q", &src],
        &[("UNPACK_PATH", d.to_str().unwrap())],
    );
    assert!(d.join("Kitfile").is_file());
}

/// `sign` adds a `sha256-<hex>.sig` tag to a layout; `oci:DIR` without a tag still names
/// the one image (it used to say "holds several images" once the layout was signed).
#[test]
fn a_signed_layout_is_still_named_without_a_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let src = modelkit(tmp.path());
    let key = tmp.path().join("k.pem");
    let public = tmp.path().join("k.pub");
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        vec!["pkey", "-pubout"],
    ] {
        let (input, output) = if args[0] == "genpkey" {
            (None, &key)
        } else {
            (Some(&key), &public)
        };
        let mut c = Command::new("openssl");
        c.args(&args).arg("-out").arg(output);
        if let Some(i) = input {
            c.arg("-in").arg(i);
        }
        assert!(c.status().unwrap().success());
    }
    ok(&["sign", "--key", key.to_str().unwrap(), &src], &[]);
    let untagged = src.trim_end_matches(":v1");
    let d = tmp.path().join("d");
    ok(
        &[
            "unpack",
            "-q",
            untagged,
            d.to_str().unwrap(),
            "--key",
            public.to_str().unwrap(),
        ],
        &[],
    );
    assert!(d.join("Kitfile").is_file());
    ok(
        &["verify", "--key", public.to_str().unwrap(), untagged],
        &[],
    );
}

/// A URL instead of a reference: one line that says what to give (it used to say
/// "repository names are lower-case"). Checked before any network access.
#[test]
fn a_url_instead_of_a_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let d = d.to_str().unwrap();
    fails(
        &["unpack", "https://127.0.0.1:1/me/m:v1", d],
        &[],
        "an image reference has no https://: give 127.0.0.1:1/me/m:v1",
    );
    fails(
        &["inspect", "http://127.0.0.1:1/me/m:v1"],
        &[],
        "give 127.0.0.1:1/me/m:v1; plain HTTP is --insecure",
    );
    fails(
        &["unpack"],
        &[
            ("MODELKIT_REF", "https://127.0.0.1:1/me/m:v1"),
            ("UNPACK_PATH", d),
        ],
        "an image reference has no https://",
    );
    assert!(!Path::new(d).exists());
}
