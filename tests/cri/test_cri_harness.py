"""The harness itself: a clear error without the CRI definition, and a teardown that leaves
no process, mount or folder behind, even with a pod still running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness
from cri_session import start_containerd
from kserve_pod import kserve_pod
from kubelet import KubeletPod


def test_missing_proto_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "REPO", tmp_path / "repo")
    (tmp_path / "repo").mkdir()
    with pytest.raises(FileNotFoundError, match=r"\.\./shared/cri/api\.proto is missing"):
        harness.find_cri_proto()


def _shims_of(sock: Path) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(sock).encode() in argv:
                pids.append(int(d.name))
    return pids


def test_teardown_leaves_nothing(cri_dist, cri_registry, cri_images, tmp_path_factory):
    work = Path(os.path.realpath(tmp_path_factory.mktemp("ctd2", numbered=True)))
    # A unix socket path must stay short: use a folder under /tmp when pytest's is long.
    if len(str(work)) > 60:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="mcb-cri2-", dir="/tmp"))
    ctd = start_containerd(work, cri_dist, [cri_registry])
    pid = ctd.proc.pid
    pod = KubeletPod(ctd, kserve_pod(cri_images.modelcar, cri_images.serving))
    pod.start()  # left running on purpose: stop() must remove it
    assert _shims_of(ctd.sock), "no shim for the running pod"
    ctd.stop()
    assert not Path(f"/proc/{pid}").exists(), "containerd still running"
    assert _shims_of(ctd.sock) == [], "shims left behind"
    mounts = [ln.split()[4] for ln in Path("/proc/self/mountinfo").read_text().splitlines()
              if ln.split()[4].startswith(str(work) + "/")]
    assert mounts == [], f"mounts left behind: {mounts}"
    harness.rmtree(work)
    assert not work.exists()
