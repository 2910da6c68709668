"""Session fixtures of the CRI tests: a loopback registry, a private containerd and the
images it pulls (cri_session.py does the work)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

import harness
import helpers
from cri_session import REPORT, Images, build_images, ensure_dist, ensure_pack_bin, start_containerd
# Re-exported for scripts/lib/bench_pod.py, which imports them from here.
from cri_session import SESSION, busybox_path  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    """Prints what the tests measured, pass or fail."""
    if REPORT:
        terminalreporter.section("modelcar-base on containerd (CRI)")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def cri_workdir():
    # Short: containerd's socket path must fit a unix socket address.
    d = Path(tempfile.mkdtemp(prefix="mcb-cri-", dir="/tmp"))
    yield d
    harness.rmtree(d)


@pytest.fixture(scope="session")
def cri_registry():
    reg = helpers.Registry()
    yield reg.hostport
    reg.stop()


@pytest.fixture(scope="session")
def cri_dist() -> Path:
    return ensure_dist()


@pytest.fixture(scope="session")
def cri_pack_bin(cri_dist) -> Path:
    return ensure_pack_bin(cri_dist)


@pytest.fixture(scope="session")
def cri_images(cri_registry, cri_dist, cri_pack_bin, cri_workdir) -> Images:
    return build_images(cri_registry, cri_dist, cri_pack_bin, cri_workdir / "images")


@pytest.fixture(scope="session")
def containerd(cri_workdir, cri_dist, cri_registry):
    ctd = start_containerd(cri_workdir, cri_dist, [cri_registry])
    REPORT.append(f"containerd {harness.containerd_version()} "
                  f"(CRI {ctd.cri.version.runtime_api_version})")
    yield ctd
    ctd.stop()
