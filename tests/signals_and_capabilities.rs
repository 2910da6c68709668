//! SIGTERM/SIGINT end the sidecar at once with status 0, as PID 1 or not; and before it
//! sleeps it gives up every capability while staying readable through /proc/<pid>/root.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const SIDECAR: &str = "ln -sf /proc/$$/root/models /mnt/models && sleep infinity";

fn wait_link(root: &Root) {
    let link = root.path("/mnt/models");
    wait_for("the link", Duration::from_secs(10), || {
        link.symlink_metadata().is_ok()
    });
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn sigterm_and_sigint_exit_0_during_sleep() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        for script in [
            SIDECAR,
            "until [ -f /mnt/never ]; do sleep 1; done",
            "sleep 5; sleep 5",
            // Past 584 years a sleep is forever (it used to be an invalid number).
            "sleep 99999999999999999999",
            "sleep 213504d 1s",
        ] {
            let root = Root::new(&sidecar("amd64"));
            let mut child = root.spawn_sh(script);
            std::thread::sleep(Duration::from_millis(200));
            let sent = Instant::now();
            signal(child.id(), sig);
            let status = wait_exit(&mut child, Duration::from_secs(5));
            assert_eq!(status.code(), Some(0), "signal {sig} during {script:?}");
            // Far below the 1 s sleep granularity: it did not wait for the sleep to end.
            assert!(
                sent.elapsed() < Duration::from_millis(900),
                "{script:?}: {:?}",
                sent.elapsed()
            );
        }
    }
}

/// The children of `pid` (from /proc), to find the PID 1 of a new pid namespace.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// As PID 1 the kernel gives no default signal actions: without a handler SIGTERM is ignored.
#[test]
// On a failed assertion the test ends before wait(); unshare's --kill-child ends the shell.
#[allow(clippy::zombie_processes)]
fn sigterm_exits_0_as_pid_1() {
    for binary in [sidecar("amd64"), busybox()] {
        let root = Root::new(&binary);
        let mut unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "/usr/sbin/chroot"])
            .arg(&root.dir)
            .args(["/bin/sh", "-c", SIDECAR])
            .env_clear()
            .env("PATH", "/bin")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_link(&root);
        let link = std::fs::read_link(root.path("/mnt/models")).unwrap();
        assert_eq!(
            link.to_str(),
            Some("/proc/1/root/models"),
            "$$ is 1 in the new pid namespace"
        );
        let pid1 = children(unshare.id());
        assert_eq!(pid1.len(), 1);
        signal(pid1[0], libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut exited = None;
        while Instant::now() < deadline {
            if let Some(st) = unshare.try_wait().unwrap() {
                exited = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if binary == busybox() {
            // The contrast that makes this test meaningful: busybox as PID 1 ignores SIGTERM.
            assert!(
                exited.is_none(),
                "busybox as PID 1 was expected to ignore SIGTERM"
            );
            unshare.kill().unwrap();
            unshare.wait().unwrap();
        } else {
            assert_eq!(
                exited.expect("ours must exit on SIGTERM as PID 1").code(),
                Some(0)
            );
        }
    }
}

fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} missing"))
        .trim()
        .to_string()
}

/// Reads a model file through /proc/<pid>/root as a root process with no capabilities: what a
/// serving container with `capabilities: drop: [ALL]` does.
fn read_as_capless_root(pid: u32) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--bounding-set=-all",
            "--",
        ])
        .arg("/bin/busybox")
        .arg("cat")
        .arg(format!("/proc/{pid}/root/models/model.bin"))
        .output()
        .unwrap()
}

#[test]
fn capabilities_are_dropped_before_sleep_and_model_stays_readable() {
    assert_eq!(
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        unsafe { libc::geteuid() },
        0,
        "this test runs as root (CI does)"
    );
    for binary in [sidecar("amd64"), busybox()] {
        let ours = binary != busybox();
        let root = Root::new(&binary);
        root.write("/models/model.bin", b"model bytes");
        let mut child = root.spawn_sh(SIDECAR);
        wait_link(&root);
        let pid = child.id();
        let caps: Vec<String> = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
            .iter()
            .map(|f| status_field(pid, f))
            .collect();
        let read = read_as_capless_root(pid);
        if ours {
            assert!(
                caps.iter().all(|c| c == "0000000000000000"),
                "capabilities left: {caps:?}"
            );
            assert_eq!(status_field(pid, "NoNewPrivs"), "1");
            assert_eq!(
                text(&read.stdout),
                "model bytes",
                "stderr: {}",
                text(&read.stderr)
            );
        } else {
            // The contrast: a sidecar holding root's capabilities locks out a capless reader.
            assert_ne!(caps[1], "0000000000000000");
            assert!(
                text(&read.stderr).contains("Permission denied"),
                "{}",
                text(&read.stderr)
            );
        }
        signal(pid, libc::SIGTERM);
        wait_exit(&mut child, Duration::from_secs(5));
    }
}

/// The init container's check never sleeps, so it keeps its capabilities (and needs none);
/// a non-root sidecar (KServe's uidModelcar) has nothing to drop and no warning to print.
#[test]
fn non_root_sidecar_runs_quietly() {
    let root = Root::new(&sidecar("amd64"));
    std::fs::set_permissions(
        root.path("/mnt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    // chroot drops to the user after entering the root, as a container runtime does.
    let mut child = Command::new("/usr/sbin/chroot")
        .args(["--userspec=1000:1000"])
        .arg(&root.dir)
        .args(["/bin/sh", "-c", SIDECAR])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_link(&root);
    assert_eq!(
        status_field(child.id(), "Uid").split_whitespace().next(),
        Some("1000")
    );
    assert_eq!(status_field(child.id(), "CapPrm"), "0000000000000000");
    signal(child.id(), libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(5)).code(),
        Some(0)
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stderr), "", "no warnings for a non-root sidecar");
}
