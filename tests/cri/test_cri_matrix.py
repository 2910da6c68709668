"""The KServe modelcar pod on containerd over CRI, in every security setting users meet.

Each test runs the pod the way a kubelet does (kubelet.py), reads the model in the server with
ExecSync and compares every file's sha256 with sample-model/, then deletes the pod with
StopContainer(30 s, KServe's grace period) and records the sidecar's exit code and stop time.
"""

from __future__ import annotations

import grpc
import pytest

import helpers
from cri_session import REPORT
from harness import registry_manifest
from kserve_pod import RESTRICTED, host_proc_status, kserve_pod, proc_status, read_model
from kubelet import KubeletPod, PodConfigError
from ociimage import MEDIA_INDEX, MEDIA_MANIFEST

SAMPLE = helpers.sample_model_hashes()


def record(case: str, read: dict, stops: dict):
    sc = stops.get("modelcar")
    stop = f"sidecar exit {sc.exit_code} in {sc.seconds:.2f}s" if sc else "sidecar not running"
    verdict = "reads" if read.get("ok") else f"refused: {read.get('fail')}"
    REPORT.append(f"{case:<48} {verdict:<52} {stop}")


def assert_reads(read: dict):
    assert read["ok"], f"the server did not read the model:\n{read['log']}"
    assert read["files"] == SAMPLE, f"the server read other bytes:\n{read['log']}"


def modelcar_of(images, which: str) -> str:
    return {"ours": images.modelcar, "busybox": images.busybox_modelcar}[which]


@pytest.mark.parametrize("which,exit_code", [("ours", 0), ("busybox", 143)])
def test_kserve_default_both_root(containerd, cri_images, which, exit_code):
    """KServe's default: no securityContext, both root. modelcar-init says OK, the server
    reads through /proc/<pid>/root/models. On StopContainer ours exits 0 at once, busybox's
    `sleep` dies of SIGTERM (143): it is not PID 1 in the pod's PID namespace, the sandbox's
    pause is."""
    pod = KubeletPod(containerd, kserve_pod(modelcar_of(cri_images, which), cri_images.serving))
    with pod:
        assert pod.result.failed_init is None
        assert pod.result.init_status["modelcar-init"].exit_code == 0
        assert helpers.OK_MESSAGE in pod.logs("modelcar-init")
        read = read_model(pod)
    record(f"KServe default (both root), {which}", read, pod.result.stops)
    assert_reads(read)
    assert read["link"].startswith("/proc/") and read["link"].endswith("/root/models")
    sc = pod.result.stops["modelcar"]
    assert sc.exit_code == exit_code, f"{which} sidecar exit code {sc.exit_code} ({sc.reason})"
    assert sc.seconds < 5, f"{which} sidecar took {sc.seconds:.1f}s to stop"


@pytest.mark.parametrize("which", ["ours", "busybox"])
@pytest.mark.parametrize("server_drops_all", [False, True], ids=["plain", "server-drops-all"])
def test_uid_modelcar_1010(containerd, cri_images, which, server_drops_all):
    """KServe's uidModelcar: runAsUser 1010 on the sidecar and the server (no runAsGroup: both
    get the image's group, 0); the sidecar writes its link into the kubelet's 0777 emptyDir.
    A non-root process loses its permitted capabilities when it executes its program
    (containerd 1.6 sets no ambient ones), so busybox holds none either, and both are read,
    also next to a server that drops ALL."""
    pod = KubeletPod(containerd, kserve_pod(modelcar_of(cri_images, which), cri_images.serving,
                                            uid_modelcar=1010, serving_drop_all=server_drops_all))
    with pod:
        read = read_model(pod)
        side = host_proc_status(pod.status("modelcar").pid)
        server = proc_status(pod, "kserve-container")
    extra = " + server drops ALL" if server_drops_all else ""
    record(f"uidModelcar 1010{extra}, {which}", read, pod.result.stops)
    assert side["Uid"].split()[0] == "1010" and side["Gid"].split()[0] == "0", side
    assert server["Uid"].split()[0] == "1010" and server["Gid"].split()[0] == "0", server
    assert int(side["CapPrm"], 16) == 0, f"{which} sidecar as 1010 holds {side['CapPrm']}"
    assert_reads(read)


@pytest.mark.parametrize("how", ["server-runAsGroup", "server-image-passwd"])
def test_uids_match_gids_differ_is_refused(containerd, cri_images, how):
    """UIDs match (1000), GIDs differ: the kernel refuses. Two ways users get there: the
    server's own runAsUser 1000 + runAsGroup 1000 next to a sidecar with runAsUser 1000 only;
    or uidModelcar 1000 alone, with a server image whose /etc/passwd gives UID 1000 the
    group 1000 (containerd takes the primary group from the image; the modelcar has no
    /etc/passwd, so 0)."""
    if how == "server-runAsGroup":
        manifest = kserve_pod(cri_images.modelcar, cri_images.serving, serving_run_as_user=1000,
                              serving_run_as_group=1000,
                              container_security={"modelcar": {"runAsUser": 1000}})
    else:
        manifest = kserve_pod(cri_images.modelcar, cri_images.serving_passwd, uid_modelcar=1000)
    pod = KubeletPod(containerd, manifest)
    with pod:
        read = read_model(pod)
        side = host_proc_status(pod.status("modelcar").pid)
        server = proc_status(pod, "kserve-container")
    record(f"UIDs 1000, GIDs 1000/0 ({how})", read, pod.result.stops)
    assert side["Uid"].split()[0] == "1000" and side["Gid"].split()[0] == "0", side
    assert server["Uid"].split()[0] == "1000" and server["Gid"].split()[0] == "1000", server
    assert not read["ok"], f"the server read the model although the GIDs differ:\n{read['log']}"
    assert "Permission denied" in (read["fail"] or ""), read["log"]
    assert pod.result.stops["modelcar"].exit_code == 0


def test_pod_run_as_group_alone_fails_the_sandbox(containerd, cri_images):
    """The fix people try first, pod-level runAsGroup 1000 alone: the kubelet puts it on the
    sandbox as well, and containerd refuses a group without a user there (CRI: run_as_group
    only with run_as_user), so the pod never starts."""
    pod = KubeletPod(containerd, kserve_pod(
        cri_images.modelcar, cri_images.serving, serving_run_as_user=1000,
        serving_run_as_group=1000, container_security={"modelcar": {"runAsUser": 1000}},
        pod_security_context={"runAsGroup": 1000}))
    with pytest.raises(grpc.RpcError) as err:
        with pod:
            pass
    assert 'user group "1000" is specified without user' in err.value.details(), err.value
    assert pod.runs == [], "containers were created without a sandbox"
    REPORT.append(f"{'GIDs differ + pod runAsGroup 1000 alone':<48} "
                  f"{'no pod: RunPodSandbox refused':<52} ({err.value.details()[-45:]})")


def test_uids_match_gids_differ_fixed_by_pod_run_as_user_and_group(containerd, cri_images):
    """The fix: pod-level runAsUser 1000 and runAsGroup 1000. The sidecar (uidModelcar gives it
    runAsUser only) takes the pod's group."""
    pod = KubeletPod(containerd, kserve_pod(
        cri_images.modelcar, cri_images.serving, serving_run_as_user=1000,
        serving_run_as_group=1000, container_security={"modelcar": {"runAsUser": 1000}},
        pod_security_context={"runAsUser": 1000, "runAsGroup": 1000}))
    with pod:
        read = read_model(pod)
        side = host_proc_status(pod.status("modelcar").pid)
    record("GIDs differ + pod runAsUser/runAsGroup 1000", read, pod.result.stops)
    assert side["Uid"].split()[0] == "1000" and side["Gid"].split()[0] == "1000", side
    assert_reads(read)
    assert pod.result.stops["modelcar"].exit_code == 0


@pytest.mark.parametrize("which", ["ours", "busybox"])
def test_server_drops_all_root_sidecar(containerd, cri_images, which):
    """Both root, the server with capabilities.drop [ALL]: the kernel wants the sidecar's
    permitted capabilities to be a subset of the server's (none). Ours drops all of its own
    after linking and is read; busybox keeps containerd's default set and is refused."""
    pod = KubeletPod(containerd, kserve_pod(modelcar_of(cri_images, which), cri_images.serving,
                                            serving_drop_all=True))
    with pod:
        read = read_model(pod)
        side = host_proc_status(pod.status("modelcar").pid)
        server = proc_status(pod, "kserve-container")
    record(f"server drops ALL, root {which} sidecar", read, pod.result.stops)
    REPORT.append(f"  {which} sidecar's permitted capabilities while it waits: {side['CapPrm']}")
    assert int(server["CapPrm"], 16) == 0, server["CapPrm"]
    if which == "ours":
        assert int(side["CapPrm"], 16) == 0, f"our sidecar kept capabilities {side['CapPrm']}"
        assert_reads(read)
        assert pod.result.stops["modelcar"].exit_code == 0
    else:
        assert int(side["CapPrm"], 16) != 0, "busybox holds containerd's default capabilities"
        assert not read["ok"], f"read past a sidecar with more capabilities:\n{read['log']}"
        assert "Permission denied" in (read["fail"] or ""), read["log"]


def test_pod_security_restricted(containerd, cri_images):
    """PodSecurity `restricted` on every container (init, server, sidecar): runAsNonRoot,
    allowPrivilegeEscalation false, drop ALL, seccomp RuntimeDefault, read-only root file
    system; the pod sets runAsUser and runAsGroup 1000 (the images' user is root, which
    runAsNonRoot refuses)."""
    restricted = {n: RESTRICTED for n in ("modelcar-init", "kserve-container", "modelcar")}
    pod = KubeletPod(containerd, kserve_pod(
        cri_images.modelcar, cri_images.serving, container_security=restricted,
        pod_security_context={"runAsUser": 1000, "runAsGroup": 1000}))
    with pod:
        assert pod.result.init_status["modelcar-init"].exit_code == 0, pod.logs("modelcar-init")
        read = read_model(pod)
        side = host_proc_status(pod.status("modelcar").pid)
        server = proc_status(pod, "kserve-container")
        ro = pod.exec("kserve-container", ["/bin/busybox", "touch", "/x"])
    record("PodSecurity restricted, every container", read, pod.result.stops)
    for who, st in (("sidecar", side), ("server", server)):
        assert st["Uid"].split()[0] == "1000" and st["Gid"].split()[0] == "1000", (who, st)
        assert st["Seccomp"] == "2", f"{who}: seccomp mode {st['Seccomp']}, wanted 2 (filter)"
        assert st["NoNewPrivs"] == "1", f"{who}: no_new_privs not set"
        assert int(st["CapPrm"], 16) == 0 and int(st["CapBnd"], 16) == 0, (who, st)
    assert ro.exit_code != 0 and "Read-only file system" in ro.stderr, ro
    assert_reads(read)
    assert pod.result.stops["modelcar"].exit_code == 0


def test_run_as_non_root_alone_is_refused(containerd, cri_images):
    """runAsNonRoot without a runAsUser: the images run as root, so the kubelet refuses to
    create the containers (CreateContainerConfigError)."""
    pod = KubeletPod(containerd, kserve_pod(cri_images.modelcar, cri_images.serving,
                                            pod_security_context={"runAsNonRoot": True}))
    with pytest.raises(PodConfigError, match="runAsNonRoot and image will run as root"):
        with pod:
            pass


def test_kubeflow_pipelines_script(containerd, cri_images):
    """Kubeflow Pipelines' modelcar: `command: [sh, -c]`, a link under /oci/IMAGE_DIR and a
    wait for the launcher's `launcher-complete`, then exit 0 by itself."""
    d = "/oci/IMAGE_DIR"
    pod_dict = kserve_pod(cri_images.modelcar, cri_images.serving, init_container=False)
    spec = pod_dict["spec"]
    server, sidecar = spec["containers"]
    sidecar.pop("args")
    sidecar["command"] = ["sh", "-c", (
        f'ln -s /proc/$$$$/root/models "{d}/models" && echo "Running Modelcar container..." '
        f'&& until [ -f "{d}/launcher-complete" ]; do sleep 1; done')]
    for c in (server, sidecar):
        c["volumeMounts"][0]["mountPath"] = d
    server["env"] = [{"name": "MODEL_PATH", "value": f"{d}/models"}]
    pod = KubeletPod(containerd, pod_dict)
    with pod:
        read = read_model(pod)
        assert pod.status("modelcar").state == "CONTAINER_RUNNING", "left before launcher-complete"
        done = pod.exec("kserve-container", ["/bin/busybox", "touch", f"{d}/launcher-complete"])
        assert done.exit_code == 0, done
        st = containerd.cri.wait_exit(pod.current("modelcar").id, timeout=10)
        log = pod.logs("modelcar")
    REPORT.append(f"{'Kubeflow Pipelines script (command)':<48} "
                  f"{'reads' if read['ok'] else 'refused':<52} sidecar exit {st.exit_code} by itself")
    assert_reads(read)
    assert "Running Modelcar container..." in log, log
    assert st.exit_code == 0, f"exit code {st.exit_code}: {log}"


def test_modelcar_init_on_empty_modelcar(containerd, cri_images):
    """An image with an empty /models: modelcar-init says NOK and exits 1, and the server and
    sidecar are never created."""
    pod = KubeletPod(containerd, kserve_pod(cri_images.empty_modelcar, cri_images.serving))
    with pod:
        st = pod.result.init_status["modelcar-init"]
        log = pod.logs("modelcar-init")
        created = [r.name for r in pod.runs]
    REPORT.append(f"{'modelcar-init on an empty modelcar':<48} NOK, exit {st.exit_code}")
    assert pod.result.failed_init == "modelcar-init"
    assert st.exit_code == 1, f"exit code {st.exit_code}: {log}"
    assert helpers.NOK_MESSAGE in log, log
    assert created == ["modelcar-init"], created


def _ns_pid(host_pid: int) -> str:
    """The pid of a host process in its innermost PID namespace (the pod's)."""
    return host_proc_status(host_pid)["NSpid"].split()[-1]


@pytest.mark.parametrize("form", ["ln-sf", "ln-s"])
def test_sidecar_restart(containerd, cri_images, form):
    """The sidecar stopped and started again in the same sandbox (attempt 1), as the kubelet
    restarts it. KServe v0.15+'s `ln -sf` moves the link to the new pid and the server reads
    again; v0.12-v0.14's `ln -s` fails on the existing link (exit 1) and it dangles."""
    pod = KubeletPod(containerd, kserve_pod(cri_images.modelcar, cri_images.serving,
                                            sidecar_form=form))
    with pod:
        first = read_model(pod)
        old = pod.status("modelcar")
        assert first["link"] == f"/proc/{_ns_pid(old.pid)}/root/models", first["link"]
        stopped = pod.stop("modelcar")
        run = pod.restart("modelcar")
        assert run.attempt == 1
        if form == "ln-sf":
            again = read_model(pod)
            new_link = f"/proc/{_ns_pid(pod.status('modelcar').pid)}/root/models"
        else:
            new = containerd.cri.wait_exit(run.id, timeout=10)
            log = pod.logs("modelcar")
    assert_reads(first)
    assert stopped.exit_code == 0
    if form == "ln-sf":
        record("sidecar restart (ln -sf): link follows", again, pod.result.stops)
        assert again["link"] == new_link != first["link"], (again["link"], new_link, first["link"])
        assert_reads(again)
    else:
        REPORT.append(f"{'sidecar restart (ln -s, KServe <= v0.14)':<48} "
                      f"new sidecar exit {new.exit_code}: {log.strip()}")
        assert new.exit_code == 1 and "File exists" in log, (new, log)


def test_four_arch_index_containerd_picks_amd64(containerd, cri_images, cri_dist):
    """modelcar-pack's 4-arch index: containerd pulls the linux/amd64 image (its config is the
    image id) and the sidecar that runs is the amd64 binary, read by the server through
    /proc/PID/root. Then a cold pull: the image and its content removed, pulled again."""
    ref = cri_images.modelcar
    index, _ = registry_manifest(ref, MEDIA_INDEX)
    plats = {m["platform"]["architecture"]: m for m in index["manifests"]}
    assert sorted(plats) == sorted(helpers.ARCHES), plats
    amd64, _ = registry_manifest(ref.rsplit(":", 1)[0] + "@" + plats["amd64"]["digest"],
                                 MEDIA_MANIFEST)
    containerd.cri.remove_image(ref)
    _, cold = containerd.cri.pull_image(ref)
    assert containerd.cri.image_status(ref).id == amd64["config"]["digest"]
    pod = KubeletPod(containerd, kserve_pod(ref, cri_images.serving))
    with pod:
        read = read_model(pod)
        sh = pod.exec("kserve-container",
                      ["/bin/busybox", "sha256sum", read["link"].rsplit("/", 1)[0] + "/bin/sh"])
    want = helpers.sha256_file(cri_dist / "amd64" / "rootfs" / "bin" / "sh")
    record("4-arch index: containerd runs amd64", read, pod.result.stops)
    REPORT.append(f"  cold PullImage of the sample modelcar: {cold:.2f}s")
    assert_reads(read)
    assert sh.exit_code == 0 and sh.stdout.split()[0] == want, sh
