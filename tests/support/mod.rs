//! Shared harness of the integration tests: run a shell (ours or busybox) inside a throwaway
//! root directory with `chroot`, so that the scripts' absolute paths (/mnt/models, /models,
//! /oci/...) are the real ones, and compare what happened.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The names the binary answers to: `sh` and the builtins of applets.txt.
pub fn applets() -> Vec<&'static str> {
    let listed = include_str!("../../applets.txt").lines();
    let mut names = vec!["sh"];
    names.extend(listed.filter(|l| !l.starts_with('#')));
    names
}

/// The shipped static binary for an architecture (built by scripts/build-sidecar.sh).
pub fn sidecar(arch: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(arch)
        .join("modelcar-base");
    assert!(
        p.exists(),
        "{} missing: run scripts/build-sidecar.sh first",
        p.display()
    );
    p
}

pub fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    assert!(
        p.exists(),
        "/bin/busybox missing: apt-get install busybox-static (scripts/install-deps.sh)"
    );
    p
}

/// A throwaway root directory with `binary` as /bin/sh and every applet name linked to it.
pub struct Root {
    pub dir: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Root {
    pub fn new(binary: &Path) -> Root {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("mcb-test-{}-{}", std::process::id(), n));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("mnt")).unwrap();
        // A hard link, not a copy: a copy's write descriptor can leak into a child another test
        // thread is forking, and exec of the binary then fails with ETXTBSY.
        if fs::hard_link(binary, dir.join("bin/modelcar-base")).is_err() {
            fs::copy(binary, dir.join("bin/modelcar-base")).unwrap();
            fs::set_permissions(
                dir.join("bin/modelcar-base"),
                fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        for applet in applets() {
            symlink("modelcar-base", dir.join("bin").join(applet)).unwrap();
        }
        Root { dir }
    }

    pub fn path(&self, inside: &str) -> PathBuf {
        self.dir.join(inside.trim_start_matches('/'))
    }

    pub fn write(&self, inside: &str, contents: &[u8]) {
        let p = self.path(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, contents).unwrap();
    }

    pub fn mkdir(&self, inside: &str) {
        fs::create_dir_all(self.path(inside)).unwrap();
    }

    /// `chroot ROOT /bin/<argv0> ARGS...` with a clean environment.
    pub fn command(&self, argv0: &str, args: &[&str]) -> Command {
        let mut c = Command::new("/usr/sbin/chroot");
        c.arg(&self.dir).arg(format!("/bin/{argv0}")).args(args);
        c.env_clear().env("PATH", "/bin").current_dir("/");
        c
    }

    pub fn run(&self, argv0: &str, args: &[&str]) -> Output {
        let mut child = self
            .command(argv0, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chroot");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{argv0} {args:?} did not finish within 20 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn sh(&self, script: &str) -> Output {
        self.run("sh", &["-c", script])
    }

    pub fn spawn_sh(&self, script: &str) -> Child {
        self.command("sh", &["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chroot")
    }

    /// Every path under the given top-level folders with its type and link target or mode:
    /// the observable effect of a script on the filesystem.
    pub fn tree(&self, tops: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for top in tops {
            walk(&self.dir, &self.path(top), &mut out);
        }
        out.sort();
        out
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn walk(root: &Path, p: &Path, out: &mut Vec<String>) {
    let Ok(meta) = fs::symlink_metadata(p) else {
        return;
    };
    let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
    let ft = meta.file_type();
    if ft.is_symlink() {
        out.push(format!("{rel} -> {}", fs::read_link(p).unwrap().display()));
    } else if ft.is_dir() {
        out.push(format!("{rel}/ {:o}", meta.permissions().mode() & 0o7777));
        let mut entries: Vec<_> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            walk(root, &e, out);
        }
    } else {
        out.push(format!("{rel} file {} bytes", meta.len()));
    }
}

/// Waits (bounded) until `cond` holds.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

/// Waits (bounded) for a child to exit and returns how it ended.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What a script did: exit status, stdout, stderr and the file tree under /mnt.
pub type Outcome = (Option<i32>, String, String, Vec<String>);

/// The architectures the sidecar is built for (dist/<arch>, the first column of
/// architectures.tsv); all but amd64 run under qemu-user.
pub fn archs() -> Vec<&'static str> {
    let rows = include_str!("../../architectures.tsv").lines().skip(1);
    rows.filter_map(|row| row.split('\t').next()).collect()
}

/// What a run in `root` did.
pub fn outcome(root: &Root, out: &Output) -> Outcome {
    (
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        root.tree(&["mnt"]),
    )
}

/// Runs `script` with `binary` as /bin/sh in a fresh root prepared by `setup`.
pub fn run_in_root(binary: &Path, script: &str, setup: impl Fn(&Root)) -> Outcome {
    let root = Root::new(binary);
    setup(&root);
    outcome(&root, &root.sh(script))
}

/// Runs `script` with our amd64 binary and with busybox, each in a fresh root prepared by
/// `setup`.
pub fn run_both(script: &str, setup: impl Fn(&Root)) -> [Outcome; 2] {
    [sidecar("amd64"), busybox()].map(|binary| run_in_root(&binary, script, &setup))
}
