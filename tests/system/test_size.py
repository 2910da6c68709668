"""The size guard and the pinned toolchain: scripts/check-size.sh passes on the built binaries
and fails when one is over its limit (sidecar-size-limits.tsv) or a limit is over the 20 KiB
ceiling; the toolchain is named in rust-toolchain.toml only."""

import re
import subprocess
from pathlib import Path

from helpers import ARCHES

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-size.sh"
LIMITS = ROOT / "sidecar-size-limits.tsv"


def check_size(*args):
    return subprocess.run([CHECK, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def limits():
    rows = [line.split("\t") for line in LIMITS.read_text().splitlines() if not line.startswith("#")]
    return {arch: int(limit) for arch, limit in rows[1:]}


def test_every_architecture_has_a_limit_within_the_ceiling():
    assert sorted(limits()) == sorted(ARCHES)
    assert all(limit <= 20480 for limit in limits().values())


def test_the_built_binaries_are_within_their_limits():
    out = check_size()
    assert out.returncode == 0, out.stderr
    for arch in ARCHES:
        size = (ROOT / "dist" / arch / "modelcar-base").stat().st_size
        assert f"{size} B  (limit {limits()[arch]})" in out.stdout


def test_a_binary_over_its_limit_fails(tmp_path):
    size = (ROOT / "dist" / "arm64" / "modelcar-base").stat().st_size
    lowered = tmp_path / "limits.tsv"
    lowered.write_text(re.sub(r"(?m)^arm64\t\d+$", f"arm64\t{size - 1}", LIMITS.read_text()))
    out = check_size("--limits", lowered)
    assert out.returncode == 1
    assert f"arm64 is {size} bytes, over its limit of {size - 1}" in out.stderr
    # The others still pass and are listed.
    assert "amd64" in out.stdout and "arm64" not in out.stdout


def test_a_limit_over_the_ceiling_fails(tmp_path):
    raised = tmp_path / "limits.tsv"
    raised.write_text(re.sub(r"(?m)^s390x\t\d+$", "s390x\t20481", LIMITS.read_text()))
    out = check_size("--limits", raised)
    assert out.returncode == 1
    assert "s390x's limit 20481 is above the ceiling of 20480 bytes" in out.stderr


def test_the_toolchain_is_named_in_one_place():
    pinned = re.search(r'(?m)^channel = "([^"]+)"$', (ROOT / "rust-toolchain.toml").read_text())[1]
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert rustc.stdout.startswith(f"rustc {pinned} ")
    # The Containerfile's builder installs what rust-toolchain.toml names, from any Rust image.
    containerfile = (ROOT / "Containerfile").read_text()
    assert pinned not in containerfile
    assert "COPY rust-toolchain.toml ." in containerfile and "RUN rustup toolchain install" in containerfile
