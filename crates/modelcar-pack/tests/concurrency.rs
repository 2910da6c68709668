//! Several runs writing one OCI layout at once, with different and equal tags, into new and
//! existing layouts, one of them stopped by SIGINT or SIGKILL at a random moment. Every tag
//! a run reported written must read back complete with `skopeo copy --all`; after
//! `modelcar-pack gc` no temp file, journal or unused blob of the stopped run is left.
//! The moments are random: the seed is printed, MODELCAR_PACK_TEST_SEED replays one.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

const RUNS: usize = 3;

struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("MODELCAR_PACK_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("MODELCAR_PACK_TEST_SEED={seed}");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n / 8).flat_map(|_| self.next().to_le_bytes()).collect()
    }
}

fn spawn(args: &[&str]) -> Child {
    support::command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run_ok(args: &[&str]) -> String {
    let o = spawn(args).wait_with_output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", err(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn index(layout: &Path) -> Value {
    serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap()
}

/// tag -> digest, from index.json.
fn tags(layout: &Path) -> Vec<(String, String)> {
    index(layout)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every digest a tag uses, read independently of modelcar-pack.
fn reachable(layout: &Path) -> BTreeSet<String> {
    let mut todo: Vec<Value> = index(layout)["manifests"].as_array().unwrap().clone();
    let mut seen = BTreeSet::new();
    while let Some(d) = todo.pop() {
        let digest = d["digest"].as_str().unwrap().to_string();
        if !seen.insert(digest.clone()) {
            continue;
        }
        let mt = d["mediaType"].as_str().unwrap();
        if mt.ends_with("index.v1+json") || mt.ends_with("manifest.v1+json") {
            let p = layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:"));
            let v: Value = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
            for k in ["manifests", "layers"] {
                if let Some(a) = v[k].as_array() {
                    todo.extend(a.iter().cloned());
                }
            }
            if v["config"].is_object() {
                todo.push(v["config"].clone());
            }
        }
    }
    seen
}

fn blob_names(layout: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn state_files(layout: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(layout.join(".modelcar-pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// skopeo reads every platform of `tag` back, digests checked, into a new layout.
fn skopeo_reads(layout: &Path, tag: &str, scratch: &Path) {
    let dst = scratch.join(format!("copy-{tag}-{}", std::process::id()));
    let o = Command::new("skopeo")
        .args([
            "copy",
            "--all",
            "--quiet",
            &format!("oci:{}:{tag}", layout.display()),
            &format!("oci:{}:{tag}", dst.display()),
        ])
        .output()
        .expect("skopeo (scripts/install-deps.sh installs it)");
    assert!(
        o.status.success(),
        "skopeo copy --all of tag {tag}: {}",
        err(&o)
    );
    fs::remove_dir_all(&dst).unwrap();
}

struct Case {
    existing: bool,
    same_tag: bool,
    signal: i32,
}

fn scenario(c: &Case, rng: &mut Rng, t: &Path) {
    let what = format!(
        "existing={} same_tag={} signal={}",
        c.existing, c.same_tag, c.signal
    );
    let layout = t.join("layout");
    // Every model shares one large file, so the runs share its layer blob.
    let shared = rng.bytes(8 << 20);
    let models: Vec<PathBuf> = (0..RUNS)
        .map(|i| {
            let m = t.join(format!("model{i}"));
            fs::create_dir_all(&m).unwrap();
            fs::write(m.join("weights.bin"), &shared).unwrap();
            fs::write(m.join("config.json"), format!("{{\"run\": {i}}}")).unwrap();
            // A layer of its own per run too.
            fs::write(m.join(format!("extra{i}.bin")), rng.bytes(1 << 20)).unwrap();
            m
        })
        .collect();
    let started = Instant::now();
    let pre = if c.existing {
        Some(run_ok(&[
            models[0].to_str().unwrap(),
            "-q",
            "--title",
            "pre",
            "-o",
            &format!("oci:{}:pre", layout.display()),
        ]))
    } else {
        // The same work elsewhere, to time one run.
        run_ok(&[
            models[0].to_str().unwrap(),
            "-q",
            "-o",
            &format!("oci:{}", t.join("timing").display()),
        ]);
        None
    };
    let one_run = started.elapsed().max(Duration::from_millis(300));
    let tag = |i: usize| {
        if c.same_tag {
            "t".to_string()
        } else {
            format!("t{i}")
        }
    };
    let children: Vec<Child> = (0..RUNS)
        .map(|i| {
            spawn(&[
                models[i].to_str().unwrap(),
                "-q",
                "-j",
                "2",
                "-o",
                &format!("oci:{}:{}", layout.display(), tag(i)),
            ])
        })
        .collect();
    let victim = (rng.next() % RUNS as u64) as usize;
    // Half the time a moment after the victim's first blob got its name (its journal
    // exists): then its blobs are ones the other runs may be using. Otherwise any moment
    // from the start to past the end (the runs share the CPUs).
    let after_blob = rng.next() & 1 == 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    if after_blob {
        let prefix = format!("run-{}-", children[victim].id());
        let state = layout.join(".modelcar-pack");
        while Instant::now() < deadline
            && !fs::read_dir(&state).is_ok_and(|mut d| {
                d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
            })
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let span = if after_blob {
        one_run
    } else {
        one_run * RUNS as u32
    };
    let delay = Duration::from_micros(rng.next() % span.as_micros() as u64);
    std::thread::sleep(delay);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(children[victim].id() as i32, c.signal) };
    let outs: Vec<Output> = children
        .into_iter()
        .map(|ch| ch.wait_with_output().unwrap())
        .collect();
    let what = format!("{what} victim={victim} after_blob={after_blob} delay={delay:?}");

    let mut written = Vec::new();
    for (i, o) in outs.iter().enumerate() {
        if o.status.success() {
            let digest = String::from_utf8(o.stdout.clone())
                .unwrap()
                .trim()
                .to_string();
            assert!(digest.starts_with("sha256:"), "{what}: run {i}: {digest:?}");
            written.push((tag(i), digest));
            continue;
        }
        assert_eq!(i, victim, "{what}: run {i} failed: {}", err(o));
        match c.signal {
            libc::SIGKILL => assert_eq!(o.status.signal(), Some(libc::SIGKILL), "{what}"),
            s => assert_eq!(o.status.code(), Some(128 + s), "{what}: {}", err(o)),
        }
        assert!(
            o.stdout.is_empty(),
            "{what}: a stopped run reports no digest"
        );
    }
    if let Some(d) = &pre {
        written.push(("pre".to_string(), d.clone()));
    }
    assert!(written.len() >= RUNS - 1, "{what}");

    let check = |stage: &str, read_back: bool| {
        let now = tags(&layout);
        for (tag, _) in &written {
            let found: Vec<&String> = now
                .iter()
                .filter(|(t, _)| t == tag)
                .map(|(_, d)| d)
                .collect();
            assert_eq!(found.len(), 1, "{what} {stage}: tag {tag} once in {now:?}");
            // With one tag for all, the last run to finish owns it.
            assert!(
                written.iter().any(|(t, d)| t == tag && d == found[0]),
                "{what} {stage}: tag {tag} -> {} is a digest some run reported",
                found[0]
            );
        }
        if read_back {
            for (tag, _) in &now {
                skopeo_reads(&layout, tag, t);
            }
        }
    };
    check("after the runs", true);
    if c.signal != libc::SIGKILL {
        assert!(
            !blob_names(&layout).iter().any(|n| n.ends_with(".tmp")),
            "{what}: temp files of the interrupted run were removed"
        );
    }

    let gc = spawn(&["gc", &format!("oci:{}", layout.display())])
        .wait_with_output()
        .unwrap();
    assert!(gc.status.success(), "{what}: gc: {}", err(&gc));
    check("after gc", false);
    assert_eq!(
        state_files(&layout),
        ["index.lock", "lock"],
        "{what}: no journal left"
    );
    let names = blob_names(&layout);
    assert!(
        !names.iter().any(|n| n.starts_with('.')),
        "{what}: {names:?}"
    );
    let used: BTreeSet<String> = reachable(&layout)
        .into_iter()
        .map(|d| d.trim_start_matches("sha256:").to_string())
        .collect();
    if !c.same_tag {
        // No tag was replaced, so every blob left is one a tag uses.
        let unused: Vec<&String> = names.iter().filter(|n| !used.contains(*n)).collect();
        assert!(
            unused.is_empty(),
            "{what}: unused blobs after gc: {unused:?}"
        );
    }
    let gc = spawn(&["gc", "--unreferenced", &format!("oci:{}", layout.display())])
        .wait_with_output()
        .unwrap();
    assert!(
        gc.status.success(),
        "{what}: gc --unreferenced: {}",
        err(&gc)
    );
    let names: BTreeSet<String> = blob_names(&layout).into_iter().collect();
    assert_eq!(
        names, used,
        "{what}: gc --unreferenced keeps exactly the used blobs"
    );
    check("after gc --unreferenced", true);
}

#[test]
fn concurrent_runs_keep_every_reported_tag() {
    let mut rng = Rng::new();
    for existing in [false, true] {
        for same_tag in [false, true] {
            for signal in [libc::SIGINT, libc::SIGKILL] {
                let tmp = tempfile::tempdir().unwrap();
                let c = Case {
                    existing,
                    same_tag,
                    signal,
                };
                scenario(&c, &mut rng, tmp.path());
            }
        }
    }
}

/// A writer waits, and says so, while another process holds the layout's lock (as `gc`
/// does), then finishes once it is released.
#[test]
fn a_writer_waits_for_the_lock_and_says_so() {
    use std::os::unix::io::AsRawFd;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let model = t.join("m.txt");
    fs::write(&model, b"weights").unwrap();
    let layout = t.join("layout");
    let o = format!("oci:{}:v1", layout.display());
    run_ok(&[model.to_str().unwrap(), "-q", "-o", &o]);
    let lock = fs::File::open(layout.join(".modelcar-pack/lock")).unwrap();
    // SAFETY: flock on an open file.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut child = spawn(&[
        model.to_str().unwrap(),
        "-q",
        "-o",
        &format!("oci:{}:v2", layout.display()),
    ]);
    let mut stderr = child.stderr.take().unwrap();
    let (said, waiting) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let n = stderr.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&all).contains("waiting for") {
                let _ = said.send(());
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    // The writer says it waits, and does: no v2 yet.
    waiting
        .recv_timeout(Duration::from_secs(60))
        .expect("the writer says it is waiting");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the writer waits");
    assert!(!tags(&layout).iter().any(|(t, _)| t == "v2"));
    drop(lock);
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains(".modelcar-pack/lock"), "{stderr}");
    assert!(tags(&layout).iter().any(|(t, _)| t == "v2"));
}

/// What a run killed with SIGKILL leaves (its temp files, its journal, blobs no tag uses)
/// goes with the next run that writes the layout alone.
#[test]
fn the_next_lone_run_sweeps_a_killed_runs_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut rng = Rng::new();
    let layout = t.join("layout");
    let small = t.join("small.txt");
    fs::write(&small, b"small").unwrap();
    run_ok(&[
        small.to_str().unwrap(),
        "-q",
        "-o",
        &format!("oci:{}:keep", layout.display()),
    ]);
    // A model whose first layers are named well before the run ends: many 1 MiB files
    // (each a layer), written one at a time.
    let big = t.join("big");
    fs::create_dir(&big).unwrap();
    for i in 0..40 {
        fs::write(big.join(format!("f{i:02}.bin")), rng.bytes(1 << 20)).unwrap();
    }
    let child = spawn(&[
        big.to_str().unwrap(),
        "-q",
        "-j",
        "1",
        "-o",
        &format!("oci:{}:killed", layout.display()),
    ]);
    let journal = format!("run-{}-", child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    while !fs::read_dir(layout.join(".modelcar-pack"))
        .unwrap()
        .any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&journal)
        })
    {
        assert!(Instant::now() < deadline, "the run named no blob");
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.signal(), Some(libc::SIGKILL), "{}", err(&o));
    assert!(state_files(&layout).iter().any(|n| n.starts_with(&journal)));
    let before = blob_names(&layout).len();
    assert!(
        before > reachable(&layout).len(),
        "the killed run left blobs"
    );

    fs::write(&small, b"small, second").unwrap();
    run_ok(&[
        small.to_str().unwrap(),
        "-q",
        "-o",
        &format!("oci:{}:next", layout.display()),
    ]);
    assert_eq!(state_files(&layout), ["index.lock", "lock"]);
    let used: BTreeSet<String> = reachable(&layout)
        .into_iter()
        .map(|d| d.trim_start_matches("sha256:").to_string())
        .collect();
    let names: BTreeSet<String> = blob_names(&layout).into_iter().collect();
    assert_eq!(names, used, "only the blobs of tags keep and next are left");
    for tag in ["keep", "next"] {
        skopeo_reads(&layout, tag, t);
    }
}
