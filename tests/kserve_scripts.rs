//! The scripts KServe and Kubeflow Pipelines really send, run by the shipped static binary and by
//! busybox `sh` in identical throwaway roots: stdout, stderr, exit status and the resulting file
//! tree must be the same. The one intended difference: on SIGTERM ours exits 0, busybox's `sleep`
//! dies of the signal.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

/// What KServe's sidecar scripts look like once Kubernetes has turned `$$` into `$`:
/// (version, script, the link it makes).
const SIDECAR_SCRIPTS: &[(&str, &str, &str)] = &[
    (
        "v0.12-v0.14",
        "ln -s /proc/$$/root/models /mnt/models && sleep infinity",
        "/mnt/models",
    ),
    (
        "v0.15+",
        "ln -sf /proc/$$/root/models /mnt/models && sleep infinity",
        "/mnt/models",
    ),
    (
        "mkdir form",
        "mkdir -p /mnt/models && ln -sf /proc/$$/root/models /mnt/models/base && sleep infinity",
        "/mnt/models/base",
    ),
    (
        "quoted path with a space",
        "mkdir -p '/mnt/my models' && ln -sf /proc/$$/root/models '/mnt/my models/base' && sleep infinity",
        "/mnt/my models/base",
    ),
];

fn prefetch_script(image: &str) -> String {
    format!(
        "echo 'Pre-fetching modelcar {image}: ' && [ -d /models ] && [ \"$(ls -A /models)\" ] && echo 'OK ... Prefetched and valid (/models exists)' || (echo 'NOK ... Prefetched but modelcar is invalid (/models does not exist or is empty)' && exit 1)"
    )
}

const KFP_SCRIPT: &str = r#"ln -s /proc/$$/root/models "/oci/IMAGE_DIR/models" && echo "Running Modelcar container..." && until [ -f "/oci/IMAGE_DIR/launcher-complete" ]; do sleep 1; done"#;

struct Observed {
    stdout: String,
    stderr: String,
    tree: Vec<String>,
    link: Option<String>,
    pid: u32,
    status: std::process::ExitStatus,
}

/// Runs a sidecar script that ends in `sleep infinity`: waits for the link, checks it names the
/// shell's own pid, then sends SIGTERM.
fn run_sidecar(binary: &Path, script: &str, link: &str, prepare: impl Fn(&Root)) -> Observed {
    let root = Root::new(binary);
    prepare(&root);
    let mut child = root.spawn_sh(script);
    let pid = child.id();
    let link_path = root.path(link);
    let expected = format!("/proc/{pid}/root/models");
    wait_for("the model link", Duration::from_secs(10), || {
        std::fs::read_link(&link_path).is_ok_and(|t| t.to_string_lossy() == expected)
    });
    // Let it reach the sleep before the signal.
    std::thread::sleep(Duration::from_millis(100));
    signal(pid, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    let out = child.wait_with_output().unwrap();
    Observed {
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        tree: root.tree(&["mnt", "oci"]),
        link: std::fs::read_link(&link_path)
            .ok()
            .map(|t| t.display().to_string()),
        pid,
        status,
    }
}

#[test]
fn kserve_sidecar_scripts_match_busybox() {
    for (version, script, link) in SIDECAR_SCRIPTS {
        let ours = run_sidecar(&sidecar("amd64"), script, link, |_| {});
        let theirs = run_sidecar(&busybox(), script, link, |_| {});
        assert_eq!(ours.stdout, theirs.stdout, "{version}: stdout");
        assert_eq!(ours.stderr, "", "{version}: our stderr");
        assert_eq!(ours.stderr, theirs.stderr, "{version}: stderr");
        // The trees are equal but for the pid in the link target.
        let normalise = |o: &Observed| -> Vec<String> {
            o.tree
                .iter()
                .map(|l| l.replace(&format!("/proc/{}/", o.pid), "/proc/PID/"))
                .collect()
        };
        assert_eq!(normalise(&ours), normalise(&theirs), "{version}: file tree");
        assert_eq!(ours.link, Some(format!("/proc/{}/root/models", ours.pid)));
        assert_eq!(
            ours.status.code(),
            Some(0),
            "{version}: ours exits 0 on SIGTERM"
        );
        assert_eq!(
            theirs.status.signal(),
            Some(libc::SIGTERM),
            "{version}: busybox's sleep dies of SIGTERM"
        );
    }
}

/// A sidecar restart: the old link (to a pid that is gone) must be replaced by `ln -sf`, and
/// `ln -s` (KServe <= v0.14) fails on it exactly like busybox.
#[test]
fn restart_replaces_the_link_like_busybox() {
    let stale = |r: &Root| {
        std::os::unix::fs::symlink("/proc/999999/root/models", r.path("/mnt/models")).unwrap()
    };
    let ours = run_sidecar(
        &sidecar("amd64"),
        SIDECAR_SCRIPTS[1].1,
        "/mnt/models",
        stale,
    );
    let theirs = run_sidecar(&busybox(), SIDECAR_SCRIPTS[1].1, "/mnt/models", stale);
    assert_eq!(ours.link, Some(format!("/proc/{}/root/models", ours.pid)));
    assert_eq!(
        theirs.link,
        Some(format!("/proc/{}/root/models", theirs.pid))
    );
    assert_eq!((ours.stdout, ours.stderr), (theirs.stdout, theirs.stderr));

    for binary in [sidecar("amd64"), busybox()] {
        let root = Root::new(&binary);
        stale(&root);
        let out = root.sh(SIDECAR_SCRIPTS[0].1);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(text(&out.stderr), "ln: /mnt/models: File exists\n");
        assert_eq!(
            std::fs::read_link(root.path("/mnt/models"))
                .unwrap()
                .to_str(),
            Some("/proc/999999/root/models")
        );
    }
}

#[test]
fn prefetch_check_matches_busybox() {
    // The image name holds the word "sleep": it must change nothing.
    let script = prefetch_script("quay.io/sleep/sleep-infinity:sleep");
    type Case<'a> = (&'a str, &'a dyn Fn(&Root), i32);
    let cases: &[Case] = &[
        (
            "model present",
            &|r: &Root| r.write("/models/model.bin", b"weights"),
            0,
        ),
        (
            "only a dotfile",
            &|r: &Root| r.write("/models/.keep", b""),
            0,
        ),
        ("empty /models", &|r: &Root| r.mkdir("/models"), 1),
        ("no /models", &|_: &Root| {}, 1),
        ("/models is a file", &|r: &Root| r.write("/models", b"x"), 1),
    ];
    for (name, prepare, expected) in cases {
        let mut results = Vec::new();
        for binary in [sidecar("amd64"), busybox()] {
            let root = Root::new(&binary);
            prepare(&root);
            let out = root.sh(&script);
            results.push((out.status.code(), text(&out.stdout), text(&out.stderr)));
        }
        assert_eq!(results[0], results[1], "{name}: ours vs busybox");
        assert_eq!(results[0].0, Some(*expected), "{name}: status");
        let ok = results[0].1.contains("OK ... Prefetched and valid");
        assert_eq!(ok, *expected == 0, "{name}: message {}", results[0].1);
    }
}

/// A model directory the container's user cannot read (a random UID on OpenShift, files owned
/// by root with mode 0700): the check fails with busybox's exact lines.
#[test]
fn prefetch_check_on_an_unreadable_model_matches_busybox() {
    let script = prefetch_script("quay.io/x/y:1");
    let mut results = Vec::new();
    for binary in [sidecar("amd64"), busybox()] {
        let root = Root::new(&binary);
        root.write("/models/model.bin", b"weights");
        std::fs::set_permissions(
            root.path("/models"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let out = Command::new("/usr/sbin/chroot")
            .args(["--userspec=1000:1000"])
            .arg(&root.dir)
            .args(["/bin/sh", "-c", &script])
            .env_clear()
            .current_dir("/")
            .output()
            .unwrap();
        results.push((out.status.code(), text(&out.stdout), text(&out.stderr)));
    }
    assert_eq!(results[0], results[1], "ours vs busybox");
    assert_eq!(results[0].0, Some(1));
    assert_eq!(
        results[0].2,
        "ls: can't open '/models': Permission denied\n"
    );
}

#[test]
fn kubeflow_sidecar_exits_0_when_launcher_completes() {
    let mut results = Vec::new();
    for binary in [sidecar("amd64"), busybox()] {
        let root = Root::new(&binary);
        root.mkdir("/oci/IMAGE_DIR");
        let mut child = root.spawn_sh(KFP_SCRIPT);
        let link = root.path("/oci/IMAGE_DIR/models");
        wait_for("the KFP link", Duration::from_secs(10), || {
            link.symlink_metadata().is_ok()
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "it must wait for launcher-complete"
        );
        root.write("/oci/IMAGE_DIR/launcher-complete", b"");
        let status = wait_exit(&mut child, Duration::from_secs(5));
        let out = child.wait_with_output().unwrap();
        results.push((
            status.code(),
            text(&out.stdout),
            text(&out.stderr),
            std::fs::read_link(&link)
                .unwrap()
                .display()
                .to_string()
                .starts_with("/proc/"),
        ));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].0, Some(0));
    assert_eq!(results[0].1, "Running Modelcar container...\n");
}

#[test]
fn direct_sleep_infinity_without_a_shell() {
    // An image-puller DaemonSet: command ["/bin/sleep"], args ["infinity"].
    let root = Root::new(&sidecar("amd64"));
    let mut child = root
        .command("sleep", &["infinity"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "sleep infinity must keep running"
    );
    signal(child.id(), libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(5)).code(),
        Some(0)
    );
}

/// The other architectures' binaries run the same scripts under qemu-user (binfmt).
#[test]
fn foreign_architectures_run_the_kserve_scripts() {
    for arch in archs().into_iter().filter(|&a| a != "amd64") {
        let bin = sidecar(arch);
        for (version, script, link) in SIDECAR_SCRIPTS {
            let o = run_sidecar(&bin, script, link, |_| {});
            assert_eq!(
                o.link,
                Some(format!("/proc/{}/root/models", o.pid)),
                "{arch} {version}"
            );
            assert_eq!(
                o.status.code(),
                Some(0),
                "{arch} {version}: exit 0 on SIGTERM; stderr {}",
                o.stderr
            );
        }
        let root = Root::new(&bin);
        root.write("/models/a", b"x");
        let out = root.sh(&prefetch_script("img"));
        assert_eq!(out.status.code(), Some(0), "{arch} prefetch");
        assert_eq!(
            text(&out.stdout),
            "Pre-fetching modelcar img: \nOK ... Prefetched and valid (/models exists)\n",
            "{arch}"
        );
    }
}
