#!/usr/bin/env python3
"""Runs every script of the fuzz corpora with the four shipped binaries (dist/ARCH/modelcar-base;
all but amd64 under qemu-user) and fails if any architecture's exit status, stdout, stderr or
files made differ from amd64's.

Why: each architecture is built with its own code generation settings and its own system call
code (scripts/build-sidecar.sh, src/sys/arch/), and the fuzzers run the amd64 code only. The
corpora are thousands of odd scripts that the fuzzers kept for reaching new code.

Skipped, as in fuzz/fuzz_targets/run.rs: scripts that could write outside their scratch
directory or sleep (ln, mkdir, sleep as subsequences), loops (they may never end); and here
also scripts with a NUL (they cannot be an argument) or `$$` (the pid differs from run to run).
A script whose amd64 run does not repeat itself (`ls /proc`, `ls /tmp`...) is not compared.

Usage: scripts/compare-archs.py CORPUS_DIR...   (e.g. fuzz/corpus/run fuzz/corpus/parse)
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
with open(os.path.join(REPO, "architectures.tsv")) as table:
    ARCHS = [line.split("\t")[0] for line in table.read().splitlines()[1:]]
ROOT = os.path.join(REPO, "dist")
# Fewer scripts than this and the check would say little: a fuzz run makes hundreds.
MINIMUM = 100
SHOWN = 10


def is_subsequence(haystack, needle):
    rest = iter(haystack)
    return all(b in rest for b in needle)


def wanted(script):
    return not (
        b"\0" in script
        or b"$$" in script
        or any(is_subsequence(script, name) for name in (b"ln", b"mkdir", b"sleep"))
        or b"while" in script
        or b"until" in script
    )


def run(arch, script):
    """What the script did with ARCH's binary as `sh`, in an empty scratch directory."""
    with tempfile.TemporaryDirectory(prefix="compare-archs-") as scratch:
        try:
            done = subprocess.run(
                ["sh", "-c", script],
                executable=os.path.join(ROOT, arch, "modelcar-base"),
                cwd=scratch,
                capture_output=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            return ("timed out",)
        return (done.returncode, done.stdout, done.stderr, sorted(os.listdir(scratch)))


def compare(script):
    """None if every architecture agrees, "unstable" if amd64 disagrees with itself, else the
    differing architectures and their results."""
    results = {arch: run(arch, script) for arch in ARCHS}
    differing = [arch for arch in ARCHS if results[arch] != results["amd64"]]
    if not differing:
        return None
    if run("amd64", script) != results["amd64"]:
        return "unstable"
    return differing, results


def main():
    dirs = sys.argv[1:]
    if not dirs or any(d.startswith("-") for d in dirs):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    for arch in ARCHS:
        binary = os.path.join(ROOT, arch, "modelcar-base")
        if not os.access(binary, os.X_OK):
            print(f"compare-archs: {binary} missing: run scripts/build-sidecar.sh", file=sys.stderr)
            return 2
    scripts = []
    for d in dirs:
        if not os.path.isdir(d):
            print(f"compare-archs: {d}: not a directory", file=sys.stderr)
            return 2
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                script = f.read()
            if wanted(script):
                scripts.append(script)
    if len(scripts) < MINIMUM:
        print(
            f"compare-archs: only {len(scripts)} usable scripts in {' '.join(dirs)} "
            f"(at least {MINIMUM}): run the fuzzers first",
            file=sys.stderr,
        )
        return 1
    differences, unstable = [], 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for script, outcome in zip(scripts, pool.map(compare, scripts)):
            if outcome == "unstable":
                unstable += 1
            elif outcome is not None:
                differences.append((script, outcome))
    for script, (differing, results) in differences[:SHOWN]:
        print(f"script {script[:200]!r}", file=sys.stderr)
        for arch in ["amd64", *differing]:
            print(f"  {arch}: {results[arch]!r:.400}", file=sys.stderr)
    compared = len(scripts) - unstable
    print(
        f"compare-archs: {compared} scripts compared on {', '.join(ARCHS)}"
        f" ({unstable} left out: amd64 did not repeat itself); {len(differences)} differ"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
