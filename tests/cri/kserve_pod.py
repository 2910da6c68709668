"""The pod KServe's webhook makes for `storageUri: oci://IMAGE` (tests/system's manifest, the
same builder), run on containerd by kubelet.KubeletPod, and the server's read of the model.

The server (`kserve-container`) idles; the tests read the model in it with ExecSync of
tests/system/serving/serve.sh --once, which waits for the link like a server in
MODEL_INIT_MODE=async and prints the sha256 of every file.
"""

from __future__ import annotations

import copy

import helpers
from kubelet import KubeletPod

# The server idles until SIGTERM, then exits 0 and takes its sleep along (a container's
# stray process would otherwise live on in the pod's PID namespace).
SERVER_IDLE = ["/bin/busybox", "sh", "-c",
               "trap 'kill $! 2>/dev/null; exit 0' TERM INT; /bin/busybox sleep 2147483647 & wait"]
READ_MODEL = ["/bin/busybox", "sh", "/serve.sh", "--once"]

RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
    "readOnlyRootFilesystem": True,
}


def kserve_pod(modelcar: str, serving: str, *, name: str | None = None,
               pod_security_context: dict | None = None,
               container_security: dict[str, dict] | None = None,
               **manifest_kw) -> dict:
    """The KServe Pod (Kubernetes form), from helpers.kserve_pod_manifest (uid_modelcar,
    serving_run_as_user, run_as_group, serving_run_as_group, serving_drop_all, model_path,
    init_container...), with the server idling. pod_security_context: the pod's
    securityContext; container_security: {container name: fields merged into its
    securityContext} (init containers included)."""
    pod = helpers.kserve_pod_manifest(name or helpers.unique("mcb-cri"), modelcar, serving,
                                      **manifest_kw)
    spec = pod["spec"]
    server = next(c for c in spec["containers"] if c["name"] == "kserve-container")
    server["command"] = list(SERVER_IDLE)
    if pod_security_context:
        spec["securityContext"] = copy.deepcopy(pod_security_context)
    for c in spec.get("initContainers", []) + spec["containers"]:
        extra = (container_security or {}).get(c["name"])
        if extra:
            c.setdefault("securityContext", {}).update(copy.deepcopy(extra))
    return pod


def read_model(pod: KubeletPod, container: str = "kserve-container", timeout: int = 60) -> dict:
    """ExecSync of serve.sh --once in the server: parse_serving_output() plus 'exit_code'
    and 'log'."""
    r = pod.exec(container, READ_MODEL, timeout=timeout)
    res = helpers.parse_serving_output(r.stdout)
    res["exit_code"] = r.exit_code
    res["log"] = r.stdout + r.stderr
    return res


def proc_status(pod: KubeletPod, container: str, pid: int | str = "self") -> dict:
    """/proc/PID/status seen from `container` (busybox cat), as {field: value}."""
    r = pod.exec(container, ["/bin/busybox", "cat", f"/proc/{pid}/status"])
    assert r.exit_code == 0, f"cat /proc/{pid}/status in {container}: {r.stderr}"
    return dict(line.split(":\t", 1) for line in r.stdout.splitlines() if ":\t" in line)


def host_proc_status(host_pid: int) -> dict:
    """/proc/PID/status of a container's process, read on the host."""
    text = open(f"/proc/{host_pid}/status").read()
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
