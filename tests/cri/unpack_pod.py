"""The unpack image (Containerfile-unpack) on containerd: the image itself, written from
scripts/build-unpack.sh's rootfs with the config the Containerfile gives it, and the Pod KServe
makes for a ClusterStorageContainer (an init container `storage-initializer` that fills the
emptyDir, then the server that reads it).

    image = unpack_image(REPO / "dist-unpack" / "amd64" / "rootfs")
    pod = storage_pod(unpack_ref, serving_ref, args=["kit://REF", "/mnt/models"])
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import stat
from pathlib import Path

import helpers
from harness import REPO
from kserve_pod import SERVER_IDLE
from ociimage import Image, rootfs_image

VOLUME = "kserve-provision-location"  # KServe's name for the emptyDir of storage containers
MODEL_MOUNT = "/mnt/models"
RANDOM_UID = 1000740000  # a UID of an OpenShift namespace's range

# OpenShift's restricted-v2 SCC: the namespace's UID on every container, its fsGroup on the
# pod, seccomp RuntimeDefault, no privilege escalation, no capabilities; and a read-only root.
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "fsGroup": RANDOM_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER = {
    "runAsUser": RANDOM_UID,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}


def containerfile_config(path: Path) -> dict:
    """ENTRYPOINT, USER and ENV of a Containerfile's last stage (ARG defaults substituted),
    so the test image is configured exactly as `podman build` configures the real one."""
    lines, cur = [], ""
    for raw in path.read_text().splitlines():
        if raw.lstrip().startswith("#") and not cur:
            continue
        cur += raw.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stage = lines[max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")) + 1:]
    args: dict[str, str] = {}
    out: dict = {"entrypoint": None, "user": "", "env": []}

    def subst(v: str) -> str:
        for k, val in args.items():
            v = v.replace("${" + k + "}", val).replace("$" + k, val)
        return v

    for ln in stage:
        word, _, rest = ln.partition(" ")
        word = word.upper()
        if word == "ARG" and "=" in rest:
            k, _, v = rest.strip().partition("=")
            args[k] = v
        elif word == "USER":
            out["user"] = subst(rest.strip())
        elif word == "ENV":
            out["env"] += [subst(kv) for kv in shlex.split(rest)]
        elif word == "ENTRYPOINT":
            out["entrypoint"] = json.loads(rest)
    assert out["entrypoint"], f"{path}: no ENTRYPOINT in the last stage"
    return out


def unpack_image(rootfs: Path) -> Image:
    """The unpack image as Containerfile-unpack builds it: rootfs/ as its one layer (modes
    kept: /tmp and /home/user are 1777), its ENTRYPOINT, USER and ENV (no PATH: FROM
    scratch, the entrypoint is absolute)."""
    cfg = containerfile_config(REPO / "Containerfile-unpack")
    return rootfs_image(rootfs, entrypoint=cfg["entrypoint"], user=cfg["user"], env=cfg["env"])


def storage_pod(unpack: str, serving: str, *, args: list[str] | None = None,
                env: dict[str, str] | None = None, mount: str = MODEL_MOUNT,
                restricted: bool = True, volumes: list[dict] = (),
                init_mounts: list[dict] = (), name: str | None = None) -> dict:
    """The Pod KServe's webhook makes for a ClusterStorageContainer (Kubernetes form): the
    init container `storage-initializer` with `args` (KServe: [SRC_URI, DEST_PATH]; kit-init:
    none, env only), the emptyDir `kserve-provision-location` at `mount` in it and read-only
    at /mnt/models in the server, which idles (the test reads the model with ExecSync).
    restricted: OpenShift's restricted-v2 settings on both containers and the pod."""
    init = {
        "name": "storage-initializer",
        "image": unpack,
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "volumeMounts": [{"name": VOLUME, "mountPath": mount}, *init_mounts],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if args is not None:
        init["args"] = list(args)
    server = {
        "name": "kserve-container",
        "image": serving,
        "command": list(SERVER_IDLE),
        "env": [{"name": "MODEL_PATH", "value": MODEL_MOUNT}],
        "volumeMounts": [{"name": VOLUME, "mountPath": MODEL_MOUNT, "readOnly": True}],
    }
    spec = {
        "initContainers": [init],
        "containers": [server],
        "volumes": [{"name": VOLUME, "emptyDir": {}}, *volumes],
        "terminationGracePeriodSeconds": 30,
    }
    if restricted:
        spec["securityContext"] = copy.deepcopy(RESTRICTED_POD)
        for c in (init, server):
            c["securityContext"] = copy.deepcopy(RESTRICTED_CONTAINER)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name or helpers.unique("mcb-cri-unpack")}, "spec": spec}


def tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under root: {'./path': (kind, uid, gid)}, kind 'dir', 'file' or 'link'
    (what the init container left in the emptyDir, staging folders included)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(dirpath) / n
            st = p.lstat()
            kind = ("link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
                    else "file" if stat.S_ISREG(st.st_mode) else oct(st.st_mode))
            out["./" + p.relative_to(root).as_posix()] = (kind, st.st_uid, st.st_gid)
    return out
