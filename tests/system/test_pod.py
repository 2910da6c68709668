"""The KServe modelcar pod, for real: `podman kube play` of the Pod KServe's webhook makes.

Every case reads the model in the serving container through the sidecar's /proc/<pid>/root
link and compares the sha256 of each file with sample-model/ on the host.
"""

from __future__ import annotations

import re

import pytest

from helpers import (
    NOK_MESSAGE,
    REPORT,
    KServePod,
    podman,
    run_kserve_pod,
    sample_model_hashes,
)

SIDECAR_SCRIPT = "ln -sf /proc/$$/root/models /mnt/models && sleep infinity"
LINK_RE = re.compile(r"^/proc/[0-9]+/root/models$")


def assert_served(res: dict):
    assert res["fail"] is None, f"serving container failed: {res['fail']}\n{res['log']}"
    assert res["ok"], f"serving container did not finish reading:\n{res['log']}"
    assert LINK_RE.match(res["link"] or ""), f"unexpected link target {res['link']!r}"
    assert res["files"] == sample_model_hashes()


def assert_clean_exit(run, case: str):
    stop = run.stop
    REPORT.append(
        f"pod {case}: sidecar SIGTERM->exit {stop.sidecar_seconds * 1000:.0f} ms "
        f"(podman stop {stop.seconds:.2f} s), exit code {stop.sidecar_exit_code}; "
        f"kube down {run.down_seconds:.2f} s"
    )
    assert stop.sidecar_exit_code == 0, (
        f"sidecar did not exit 0 on SIGTERM (status {stop.sidecar_exit_code}: 143 = died of "
        "the signal, 137 = SIGKILLed after the grace period)"
    )
    # How fast is reported above, not asserted (no clocks in tests): exit code 0 already
    # proves the sidecar ended on SIGTERM itself, not by SIGKILL at the grace period's end.


def test_default_path(podman_env, sample_modelcar, serving_image):
    with KServePod(podman_env, sample_modelcar, serving_image) as pod:
        # The containers received what Kubernetes would give them: `$$` for the shell's pid.
        info = pod.inspect("modelcar")
        assert [info["Path"], *info["Args"]] == ["sh", "-c", SIDECAR_SCRIPT]
        res = pod.wait_serving()
        assert_served(res)
        stop = pod.stop_sidecar()
    assert stop.sidecar_exit_code == 0  # 137 would be a SIGKILL after the grace period
    REPORT.append(
        f"pod default: sidecar SIGTERM->exit {stop.sidecar_seconds * 1000:.0f} ms, exit 0"
    )


def test_custom_path_with_space(podman_env, sample_modelcar, serving_image):
    run = run_kserve_pod(
        podman_env, sample_modelcar, serving_image=serving_image,
        model_path="/mnt/my models/base",
    )
    args = [c for c in run.manifest["spec"]["containers"] if c["name"] == "modelcar"][0]["args"]
    assert args[2] == (
        "mkdir -p '/mnt/my models' && ln -sf /proc/$$/root/models '/mnt/my models/base' "
        "&& sleep infinity"
    )
    assert_served(run.serving)
    assert_clean_exit(run, "custom path")


def test_uid_modelcar(podman_env, sample_modelcar, serving_image):
    """KServe's uidModelcar: runAsUser on the sidecar and on the serving container."""
    with KServePod(podman_env, sample_modelcar, serving_image, uid_modelcar=1000) as pod:
        assert pod.inspect("modelcar")["Config"]["User"] == "1000"
        assert pod.inspect("kserve-container")["Config"]["User"] == "1000"
        assert_served(pod.wait_serving())
        stop = pod.stop_sidecar()
    assert stop.sidecar_exit_code == 0


def test_uid_mismatch_is_refused(podman_env, sample_modelcar, serving_image):
    """The UID rule (README.md, "The base image"): a serving container of another UID, without
    CAP_SYS_PTRACE, cannot enter /proc/<pid>/root of a root sidecar."""
    run = run_kserve_pod(
        podman_env, sample_modelcar, serving_image=serving_image, serving_run_as_user=1000,
    )
    assert not run.serving["ok"]
    assert "Permission denied" in (run.serving["fail"] or ""), run.serving["log"]


@pytest.mark.parametrize("both_groups", [False, True])
def test_gid_must_match_too(podman_env, sample_modelcar, serving_image, both_groups):
    """The kernel compares the GIDs as well: uidModelcar alone fails when the server runs
    with another primary group (runAsGroup, or its image's /etc/passwd); the same group on
    both containers works."""
    kw = {"run_as_group": 1000} if both_groups else {"serving_run_as_group": 1000}
    run = run_kserve_pod(
        podman_env, sample_modelcar, serving_image=serving_image, uid_modelcar=1000, **kw,
    )
    if both_groups:
        assert_served(run.serving)
    else:
        assert not run.serving["ok"]
        assert "Permission denied" in (run.serving["fail"] or ""), run.serving["log"]


def test_serving_drops_all_capabilities(podman_env, sample_modelcar, serving_image):
    """Both root, the server with `drop: [ALL]`: readable only because our sidecar drops its
    capabilities before it sleeps."""
    run = run_kserve_pod(
        podman_env, sample_modelcar, serving_image=serving_image, serving_drop_all=True,
    )
    assert_served(run.serving)
    assert_clean_exit(run, "server drops ALL")


def test_busybox_sidecar_fails_drop_all(podman_env, busybox_modelcar, serving_image):
    """The contrast: the same modelcar on busybox keeps its capabilities and locks the
    server out; and busybox's `sleep` dies of SIGTERM (143) instead of exiting 0."""
    run = run_kserve_pod(
        podman_env, busybox_modelcar, serving_image=serving_image, serving_drop_all=True,
    )
    assert not run.serving["ok"]
    assert "Permission denied" in (run.serving["fail"] or ""), run.serving["log"]
    assert run.stop.sidecar_exit_code == 143
    REPORT.append(
        f"pod server drops ALL, busybox sidecar: server got '{run.serving['fail']}'; "
        f"busybox exit code {run.stop.sidecar_exit_code} on SIGTERM"
    )


def test_async_mode_without_prefetch(podman_env, sample_modelcar, serving_image):
    """MODEL_INIT_MODE=async and no modelcar-init (KServe before v0.14): the server may start
    before the sidecar made the link and must wait for it."""
    with KServePod(podman_env, sample_modelcar, serving_image, init_container=False) as pod:
        env = pod.inspect("kserve-container")["Config"]["Env"]
        assert "MODEL_INIT_MODE=async" in env
        res = pod.wait_serving()
        assert_served(res)
        REPORT.append(f"pod async: server waited {res['waited_steps']} x 50 ms for the link")
        stop = pod.stop_sidecar()
    assert stop.sidecar_exit_code == 0


def test_empty_modelcar_fails_prefetch(podman_env, base_image, serving_image):
    """The base image alone has an empty /models: modelcar-init must fail with KServe's NOK
    message and the pod's containers must never start."""
    pod = KServePod(podman_env, base_image, serving_image)
    try:
        proc = pod.play(check=False)
        assert proc.returncode != 0
        assert "init container" in proc.stderr and "exited with code 1" in proc.stderr, proc.stderr
        init = pod.inspect("modelcar-init")["State"]
        assert init["ExitCode"] == 1
        log = pod.logs("modelcar-init")
        assert f"Pre-fetching modelcar {base_image}: " in log
        assert NOK_MESSAGE in log
        assert "OK ... Prefetched and valid" not in log
        for c in ("modelcar", "kserve-container"):
            assert pod.inspect(c)["State"]["Status"] in ("created", "configured"), c
    finally:
        pod.down()


def test_sidecar_restart_replaces_link(podman_env, sample_modelcar, serving_image):
    """A restarted sidecar (new pid) must replace the link (`ln -sf`) and stay readable."""
    with KServePod(podman_env, sample_modelcar, serving_image) as pod:
        first = pod.wait_serving()
        assert_served(first)
        podman(podman_env, "restart", "-t", "10", pod.sidecar, timeout=60)
        again = None
        for _ in range(50):  # the restarted sidecar needs a moment to relink
            again = pod.read_model_again()
            if again["ok"] and again["link"] != first["link"]:
                break
        assert again["link"] != first["link"], again["log"]
        assert_served(again)
        stop = pod.stop_sidecar()
    assert stop.sidecar_exit_code == 0


@pytest.mark.parametrize("uid", [None, 1000])
def test_teardown_is_fast(podman_env, sample_modelcar, serving_image, uid):
    run = run_kserve_pod(
        podman_env, sample_modelcar, serving_image=serving_image, uid_modelcar=uid,
    )
    assert_served(run.serving)
    assert_clean_exit(run, f"teardown uid={uid}")
