"""Each architecture's sidecar on that architecture's own Linux kernel (qemu-system, Debian's
kernels): scripts/kernel-boot.sh boots it once with tests/kernels/guest/ as the initramfs's
checks, and this reads the console.

- checks.sh prints "MCBK PASS name" / "MCBK FAIL name: why": every name in CHECKS must pass.
- cases.sh prints "MCBK CASE name status stdout stderr after": every case must come out as it
  does with the amd64 binary on this machine's kernel (and that reference must show the errno
  each case is named after).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "system"))
from helpers import NOK_MESSAGE, OK_MESSAGE, REPORT  # noqa: E402

GUEST = REPO / "tests" / "kernels" / "guest"
BOOT = REPO / "scripts" / "kernel-boot.sh"
# Where scripts/kernel-boot.sh keeps the kernels and busybox (MODELCAR_KERNEL_CACHE).
CACHE = Path(os.environ.get("MODELCAR_KERNEL_CACHE", "/var/cache/modelcar-base/kernels"))
MARK = "MCBK "
# The sidecar as the guest runs it (the image filesystem at /sc): its messages name it.
GUEST_SH = "/sc/bin/sh"
# One boot takes 15-60 s; kernel-boot.sh bounds qemu itself at 240 s.
BOOT_TIMEOUT = 300


def architectures() -> list[str]:
    rows = (REPO / "architectures.tsv").read_text().splitlines()
    header = rows[0].split("\t")
    return [dict(zip(header, r.split("\t")))["arch"] for r in rows[1:] if r]


ARCHS = architectures()

# What checks.sh must report as passed, on every kernel.
KSERVE = ["kserve-v0.12", "kserve-v0.15", "kserve-mkdir", "kserve-space"]
CHECKS = [f"{k}-{c}" for k in KSERVE for c in ("link", "model-read", "caps-dropped", "sigterm-exit-0", "quiet")] + [
    "control-init-keeps-caps",
    "restart-replaces-link",
    "restart-ln-s-fails",
    "pid1-link",
    "pid1-is-pid-1",
    "pid1-caps-dropped",
    "pid1-sigterm-exit-0",
    "control-busybox-pid1-ignores-sigterm",
    "capless-root-reads-model",
    "control-capless-root-denied",
    "uid-sidecar-runs-as-1010",
    "uid-sidecar-has-no-caps",
    "uid-second-process-reads-model",
    "uid-reads-proc-pid-root",
    "control-other-uid-denied",
    "uid-sigterm-exit-0",
    "uid-quiet",
]

# A case named after an errno must fail with its text (checked on the host's reference).
ERRNO_TEXT = {
    "enoent": "No such file or directory",
    "eexist": "File exists",
    "eacces": "Permission denied",
    "enotdir": "Not a directory",
    "enospc": "No space left on device",
    "ebadf": "Bad file descriptor",
}


def marked(console: str) -> list[list[str]]:
    """The check lines of a console log, split into words (the marker may follow escape codes
    the firmware left on the line)."""
    return [line[line.index(MARK) + len(MARK):].split(" ") for line in console.splitlines() if MARK in line]


def decode(field: str) -> str:
    assert field.startswith("b:"), field
    return base64.b64decode(field[2:]).decode(errors="replace")


def cases(lines: list[list[str]], sh: str) -> dict[str, tuple[int, str, str, str]]:
    """name -> (status, stdout, stderr, after), the sidecar's path in messages made "sh"."""
    out = {}
    for words in lines:
        if words[0] == "CASE":
            name, status, *fields = words[1:]
            out[name] = (int(status), *(decode(f).replace(sh, "sh") for f in fields))
    return out


@pytest.fixture(scope="session")
def dist() -> Path:
    d = REPO / "dist"
    if not all((d / a / "rootfs" / "bin" / "sh").is_file() for a in ARCHS):
        subprocess.run([REPO / "scripts" / "build-sidecar.sh"], check=True, timeout=1800)
    return d


@pytest.fixture(scope="session")
def boots(dist, tmp_path_factory, request):
    """The selected architectures' boots, started at once: a guest mostly waits (for links,
    signals, sleeps), so they overlap well even on two cores.
    arch -> (process, console file, start time)."""
    selected = {i.callspec.params.get("arch") for i in request.session.items if hasattr(i, "callspec")}
    logs = tmp_path_factory.mktemp("consoles")
    started = {}
    for arch in (a for a in ARCHS if a in selected):
        console = open(logs / f"{arch}.log", "w+")
        proc = subprocess.Popen([BOOT, "boot", arch, "--dist", dist], stdout=console,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        started[arch] = (proc, console, time.monotonic())
    yield started
    for proc, console, _ in started.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        console.close()


@pytest.fixture(scope="session")
def host_cases(dist, tmp_path_factory) -> dict:
    """cases.sh with the amd64 binary on this machine's kernel: the reference."""
    busybox = CACHE / "amd64" / "busybox"
    assert busybox.is_file(), f"{busybox} missing: run scripts/kernel-boot.sh fetch"
    sh = dist / "amd64" / "rootfs" / "bin" / "sh"
    work = tmp_path_factory.mktemp("kernel-cases") / "work"
    proc = subprocess.run(
        [busybox, "sh", GUEST / "cases.sh", sh, work, "setpriv", busybox],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = marked(proc.stdout)
    assert ["CASES", "END"] in lines, proc.stdout + proc.stderr
    return cases(lines, str(sh))


def test_host_reference_shows_each_error(host_cases):
    """The reference itself: each errno case fails with its errno's text, the rest succeed or
    fail as the existing tests expect."""
    assert len(host_cases) >= 40
    for name, (status, _out, err, _after) in host_cases.items():
        errno = name.rsplit("-", 1)[-1]
        if errno in ERRNO_TEXT:
            assert status == 1 and ERRNO_TEXT[errno] in err, (name, status, err)
    assert host_cases["ln-s-eexist"][1:3] == ("", "ln: existing-link: File exists\n")
    assert host_cases["ls-eacces"][2] == "ls: can't open 'private': Permission denied\n"
    assert host_cases["prefetch-ok"][:3] == (0, f"Pre-fetching modelcar quay.io/x/model:1: \n{OK_MESSAGE}\n", "")
    for name in ("prefetch-empty", "prefetch-none"):
        assert host_cases[name][:3] == (1, f"Pre-fetching modelcar quay.io/x/model:1: \n{NOK_MESSAGE}\n", ""), name
    assert host_cases["sleep"] == (0, "slept\n", "", "")
    # A path under a directory the UID cannot search: stat fails (EACCES), so the file is not.
    assert host_cases["test-denied"] == (0, "hidden\ndir\n", "", "")
    assert host_cases["mkdir-m"][3] == "700 m700\n1777 sticky\n"
    assert len(host_cases["ls-many"][1].splitlines()) == 300


@pytest.mark.parametrize("arch", ARCHS)
def test_own_kernel(arch, boots, host_cases):
    proc, console, start = boots[arch]
    try:
        proc.wait(timeout=max(1, BOOT_TIMEOUT - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    console.seek(0)
    log = console.read()
    lines = marked(log)
    uname = next((w[1:] for w in lines if w[0] == "UNAME"), None)
    passed = {w[1] for w in lines if w[0] == "PASS"}
    failed = [" ".join(w[1:]) for w in lines if w[0] == "FAIL"]
    guest = cases(lines, GUEST_SH)
    uptime = next((w[1] for w in lines if w[0] == "UPTIME"), "?")
    REPORT.append(f"{arch}: kernel {' '.join(uname or ['?'])}: {len(passed)} checks passed, "
                  f"{len(failed)} failed, {len(guest)} cases; {uptime} s from boot to the end")
    tail = log[-4000:]
    assert proc.returncode == 0, f"kernel-boot.sh exited {proc.returncode}:\n{tail}"
    assert uname, f"no uname line:\n{tail}"
    assert ["DONE"] in lines, f"the guest did not finish:\n{tail}"
    assert not failed, "\n".join(failed)
    assert not set(CHECKS) - passed, f"checks not reported: {sorted(set(CHECKS) - passed)}"
    assert sorted(guest) == sorted(host_cases)
    differ = {n: (guest[n], host_cases[n]) for n in guest if guest[n] != host_cases[n]}
    assert not differ, "\n".join(f"{n}: {arch} {g!r}\n    amd64 on the host {h!r}" for n, (g, h) in differ.items())
