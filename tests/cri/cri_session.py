"""What the CRI tests' session sets up, as plain functions (conftest.py makes fixtures of
them; a benchmark can call them directly): the sidecar binaries and modelcar-pack, the images
(built from this repository, pushed to a loopback registry, pulled by containerd over CRI),
a started private containerd, and the measurements printed at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import harness
import helpers
import ociimage
from harness import REPO, Containerd

SESSION = uuid.uuid4().hex[:8]
# Measurements printed at the end (pass or fail).
REPORT: list[str] = []


@dataclass
class Images:
    """References in the loopback registry (host:port/repo:tag)."""

    modelcar: str  # modelcar-pack of sample-model/: the 4-arch index
    busybox_modelcar: str  # modelcar-pack of sample-model/ on a busybox base (amd64)
    empty_modelcar: str  # the sidecar's rootfs with an empty /models (amd64)
    serving: str  # the stand-in server: busybox and serve.sh (amd64)
    serving_passwd: str  # the same with an /etc/passwd: UID 1000 `app`, primary group 1000


def ensure_dist() -> Path:
    """dist/ with the sidecar binaries and rootfs (scripts/build-sidecar.sh if missing)."""
    d = REPO / "dist"
    wanted = [d / a / "rootfs" / "bin" / "sh" for a in helpers.ARCHES]
    if not all(p.is_file() for p in wanted):
        helpers.run([REPO / "scripts" / "build-sidecar.sh"], timeout=1800)
    assert all(p.is_file() for p in wanted), "scripts/build-sidecar.sh did not produce dist/"
    return d


def ensure_pack_bin(dist: Path) -> Path:
    """The release modelcar-pack, embedding dist/."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    helpers.run(["cargo", "build", "--release", "-q", "-p", "modelcar-pack"], cwd=REPO,
                timeout=1200, env={**os.environ, "MODELCAR_DIST": str(dist)})
    b = target / "release" / "modelcar-pack"
    assert b.is_file(), f"{b} was not built"
    return b


def ensure_unpack_rootfs() -> Path:
    """dist-unpack/amd64/rootfs, the unpack image's filesystem (scripts/build-unpack.sh, run
    every session as tests/system/test_unpack.py does: cargo rebuilds only what changed;
    it needs dist/, see ensure_dist)."""
    helpers.run([REPO / "scripts" / "build-unpack.sh", "--arch", "amd64"], timeout=3600)
    root = REPO / "dist-unpack" / "amd64" / "rootfs"
    assert (root / "modelcar-pack").is_file(), "scripts/build-unpack.sh did not produce dist-unpack/"
    return root


def busybox_path() -> Path:
    p = Path(shutil.which("busybox") or "/bin/busybox")
    assert p.is_file(), "busybox (Debian's busybox-static) is missing: run scripts/install-deps.sh"
    return p


def build_images(registry: str, dist: Path, pack_bin: Path, work: Path) -> Images:
    """Builds and pushes every image of the matrix; nothing comes from outside."""
    tag = f"cri-{SESSION}"
    work.mkdir(parents=True, exist_ok=True)
    model = REPO / "sample-model"
    modelcar = f"{registry}/modelcar-sample:{tag}"
    helpers.run([pack_bin, "-q", model, "--push", modelcar, "--insecure"], timeout=300)

    busybox_base = work / "busybox-base"
    ociimage.write_layout(ociimage.busybox_base_image(busybox_path()), busybox_base)
    busybox_modelcar = f"{registry}/busybox-modelcar:{tag}"
    helpers.run([pack_bin, "-q", model, "--base", f"oci:{busybox_base}:latest",
                 "--push", busybox_modelcar, "--insecure"], timeout=300)

    empty = work / "empty"
    ociimage.write_layout(ociimage.sidecar_rootfs_image(dist / "amd64" / "rootfs"), empty)
    empty_modelcar = f"{registry}/empty-modelcar:{tag}"
    harness.oci_push(empty, empty_modelcar)

    serving_layout = work / "serving"
    ociimage.write_layout(ociimage.serving_image(busybox_path(), helpers.SERVING_DIR / "serve.sh"),
                          serving_layout)
    serving = f"{registry}/serving:{tag}"
    harness.oci_push(serving_layout, serving)

    passwd_layout = work / "serving-passwd"
    ociimage.write_layout(ociimage.serving_image(
        busybox_path(), helpers.SERVING_DIR / "serve.sh",
        passwd="root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n"), passwd_layout)
    serving_passwd = f"{registry}/serving-passwd:{tag}"
    harness.oci_push(passwd_layout, serving_passwd)
    return Images(modelcar, busybox_modelcar, empty_modelcar, serving, serving_passwd)


def start_containerd(work: Path, dist: Path, registries: list[str]) -> Containerd:
    """A started private containerd whose sandbox image is the sidecar as `sleep infinity`."""
    pause_name = f"mcb.local/pause:{SESSION}"
    archive = work / "pause.tar"
    ociimage.write_archive(ociimage.pause_image(dist / "amd64" / "rootfs"), archive, pause_name)
    return Containerd(work / "ctd", archive, pause_name, registries).start()


