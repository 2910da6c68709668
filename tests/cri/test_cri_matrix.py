"""The KServe modelcar pod on containerd over CRI, in every security setting users meet.

Each test runs the pod the way a kubelet does (kubelet.py), reads the model in the server with
ExecSync and compares every file's sha256 with sample-model/, then deletes the pod with
StopContainer(30 s, KServe's grace period) and records the sidecar's exit code and stop time.
"""

from __future__ import annotations

import pytest

import helpers
from conftest import REPORT
from kserve_pod import kserve_pod, read_model
from kubelet import KubeletPod

SAMPLE = helpers.sample_model_hashes()


def record(case: str, read: dict, stops: dict):
    sc = stops.get("modelcar")
    stop = f"sidecar exit {sc.exit_code} in {sc.seconds:.2f}s" if sc else "sidecar not running"
    verdict = "reads" if read.get("ok") else f"refused: {read.get('fail')}"
    REPORT.append(f"{case:<48} {verdict:<40} {stop}")


def assert_reads(read: dict):
    assert read["ok"], f"the server did not read the model:\n{read['log']}"
    assert read["files"] == SAMPLE, f"the server read other bytes:\n{read['log']}"


def test_kserve_default_both_root(containerd, cri_images):
    pod = KubeletPod(containerd, kserve_pod(cri_images.modelcar, cri_images.serving))
    with pod:
        assert pod.result.failed_init is None
        init = pod.result.init_status["modelcar-init"]
        assert init.exit_code == 0
        assert helpers.OK_MESSAGE in pod.logs("modelcar-init")
        read = read_model(pod)
    record("KServe default (both root)", read, pod.result.stops)
    assert_reads(read)
    assert read["link"].startswith("/proc/") and read["link"].endswith("/root/models")
    sc = pod.result.stops["modelcar"]
    assert sc.exit_code == 0, f"sidecar exit code {sc.exit_code} ({sc.reason})"
    assert sc.seconds < 5, f"sidecar took {sc.seconds:.1f}s to stop"
