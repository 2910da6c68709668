#!/usr/bin/env python3
"""Three-way differential: each script run by our sidecar, busybox `sh` and dash, compared.

Each shell runs in a throwaway root of its own (chroot, so absolute paths are the root's):
  ours     /bin/sh is the sidecar binary, the applet names link to it;
  busybox  /bin/sh is busybox-static (its applets are its own builtins);
  dash     /bin/sh is Debian's dash (with its libc copied in), and /bin holds busybox's
           applets for what dash has no builtin for (ln, mkdir, ls, sleep).
Every script starts in a fresh /w laid out the same way (see `FIXTURE`), with PATH=/bin, as
the user nobody (see `UID`).

An outcome is (status, stdout, file tree, whether stderr is empty), with the shell's pid written
as PID (each process has its own `$$`). Classes:
  same        all three agree (`wording` when ours also writes other stderr text than busybox)
  refused     ours refuses (a syntax error, or a run-time "not supported") what both run alike
  documented  ours refuses what the README documents as refused (globs in an unquoted $(...),
              ls with several operands)
  differs     ours differs from both busybox and dash
  disagree    busybox and dash disagree, ours is busybox (`like-dash`: ours is dash)
  timeout     a shell did not finish in time
CI fails on `differs`, `refused` and `timeout`.

Usage: differential.py [--count N] [--seed S] [--binary PATH] [--jobs J] [--corpus FILE]
                       [--show CLASS] [--minimise]
"""

import argparse
import collections
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shgen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPLETS = ["ln", "mkdir", "sleep", "echo", "ls", "test", "[", "true", "false"]
SHELLS = ("ours", "busybox", "dash")
FAILING = ("differs", "refused", "timeout")
TIMEOUT = 10

# The work directory every script starts in: regular files, a directory, links.
FIXTURE = {
    "f": b"data\n",
    "e": b"",
    "d/g": b"g\n",
}
FIXTURE_LINKS = {"s": "f", "dl": "d", "bad": "nowhere"}

# The user the shells run as (nobody), owner of the work directory. Not root: ours gives up its
# capabilities before it first sleeps, and a root without them is refused what busybox's root
# is allowed (a mode 000 directory, say), a documented difference the comparison would trip on.
UID = GID = 65534


def busybox_path():
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(p):
            return p
    raise SystemExit("differential: busybox missing (apt-get install busybox-static)")


def libraries(binary):
    """The shared libraries `binary` needs (from ldd), with the loader."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"(/\S+)", out)


def copy_into(root, path):
    dest = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(path, dest)


class Roots:
    """The three roots of one worker."""

    def __init__(self, ours_binary, base):
        self.base = base
        self.roots = {s: os.path.join(base, s) for s in SHELLS}
        bb = busybox_path()
        for shell, root in self.roots.items():
            os.makedirs(os.path.join(root, "bin"))
        # ours
        shutil.copy2(ours_binary, os.path.join(self.roots["ours"], "bin/modelcar-base"))
        for a in ["sh"] + APPLETS:
            os.symlink("modelcar-base", os.path.join(self.roots["ours"], "bin", a))
        # busybox
        shutil.copy2(bb, os.path.join(self.roots["busybox"], "bin/busybox"))
        for a in ["sh"] + APPLETS:
            os.symlink("busybox", os.path.join(self.roots["busybox"], "bin", a))
        # dash, with busybox's applets
        dash = shutil.which("dash") or "/bin/dash"
        shutil.copy2(dash, os.path.join(self.roots["dash"], "bin/sh"))
        for lib in libraries(dash):
            copy_into(self.roots["dash"], lib)
        shutil.copy2(bb, os.path.join(self.roots["dash"], "bin/busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(self.roots["dash"], "bin", a))
        self.fixed = {s: set(os.listdir(r)) for s, r in self.roots.items()}

    def reset(self, shell):
        root = self.roots[shell]
        for name in os.listdir(root):
            if name not in self.fixed[shell] or name == "w":
                p = os.path.join(root, name)
                if os.path.isdir(p) and not os.path.islink(p):
                    make_writable(p)
                    shutil.rmtree(p)
                else:
                    os.unlink(p)
        w = os.path.join(root, "w")
        os.mkdir(w)
        for name, data in FIXTURE.items():
            p = os.path.join(w, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as fh:
                fh.write(data)
        for name, target in FIXTURE_LINKS.items():
            os.symlink(target, os.path.join(w, name))
        for dirpath, dirnames, filenames in os.walk(w):
            os.lchown(dirpath, UID, GID)
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), UID, GID)

    def run(self, shell, argv):
        """Runs `sh ARGV...` in the shell's root: (status, stdout, stderr, tree), the pid
        written as PID."""
        self.reset(shell)
        root = self.roots[shell]

        def enter():
            os.chroot(root)
            os.chdir("/w")
            os.setgroups([])
            os.setgid(GID)
            os.setuid(UID)

        proc = subprocess.Popen(
            ["/bin/sh"] + argv, preexec_fn=enter, env={"PATH": "/bin"}, cwd="/",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            status = "timeout"
        pid = str(proc.pid).encode()
        norm = lambda b: re.sub(rb"(?<![0-9])" + pid + rb"(?![0-9])", b"PID", b)  # noqa: E731
        tree = []
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d not in self.fixed[shell] or d == "w"]
                filenames = [f for f in filenames if f not in self.fixed[shell]]
            for name in sorted(dirnames) + sorted(filenames):
                p = os.path.join(dirpath, name)
                rel = norm(os.fsencode(os.path.relpath(p, root)))
                st = os.lstat(p)
                if os.path.islink(p):
                    tree.append((rel, "link", norm(os.fsencode(os.readlink(p)))))
                elif os.path.isdir(p):
                    tree.append((rel, "dir", oct(st.st_mode & 0o7777)))
                else:
                    with open(p, "rb") as fh:
                        tree.append((rel, "file", fh.read(64), st.st_nlink))
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        tree.sort()
        return (status, norm(out), norm(err), tree)


def make_writable(path):
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    os.chmod(path, 0o700)


def key(outcome):
    status, out, err, tree = outcome
    return (status, out, tree, err != b"")


# What the README documents as refused by ours and run by busybox: a difference after one of
# these messages is expected.
DOCUMENTED = (
    b"globs in an unquoted $(...) are not supported",
    b"ls: only one operand is supported",
)


def classify(results):
    o, b, d = (results[s] for s in SHELLS)
    ko, kb, kd = key(o), key(b), key(d)
    if "timeout" in (o[0], b[0], d[0]):
        return "timeout"
    if ko == kb == kd:
        return "wording" if o[2] != b[2] else "same"
    if any(m in o[2] for m in DOCUMENTED):
        return "documented"
    if o[0] == 2 and b"not supported" in o[2] and kb == kd:
        return "refused"
    if ko != kb and ko != kd:
        return "differs"
    return "disagree" if ko == kb else "like-dash"


_roots = None


def _init(binary, base):
    global _roots
    _roots = Roots(binary, tempfile.mkdtemp(prefix="w", dir=base))


def run_case(case):
    argv = case.get("argv") or ["-c", case["script"]]
    results = {s: _roots.run(s, argv) for s in SHELLS}
    return case, classify(results), results


def cases_from(seed, count):
    """The generated cases: every tenth runs with `sh -e`."""
    for k in range(count):
        case = {"seed": seed + k, "script": shgen.generate(seed + k)}
        if (seed + k) % 10 == 0:
            case["argv"] = ["-e", "-c", case["script"]]
        yield case


def load_corpus(path):
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("//"):
                yield json.loads(line)


def run_all(cases, binary, jobs):
    """Runs the cases, `jobs` workers each with its own roots: yields (case, class, results)."""
    if os.geteuid() != 0:
        raise SystemExit("differential: needs root (chroot)")
    base = tempfile.mkdtemp(prefix="mcb-differential-")
    try:
        if jobs <= 1:
            _init(binary, base)
            for c in cases:
                yield run_case(c)
        else:
            with multiprocessing.Pool(jobs, _init, (binary, base)) as pool:
                yield from pool.imap_unordered(run_case, cases, chunksize=8)
    finally:
        make_writable(base)
        shutil.rmtree(base, ignore_errors=True)


def describe(case, cls, results):
    lines = [f"[{cls}] {json.dumps({k: v for k, v in case.items() if k != 'expect'})}"]
    for s in SHELLS:
        st, out, err, tree = results[s]
        lines.append(f"  {s:8} status={st} stdout={out!r} stderr={err!r}")
    if not (results["ours"][3] == results["busybox"][3] == results["dash"][3]):
        for s in SHELLS:
            lines.append(f"  {s:8} tree={results[s][3]!r}")
    return "\n".join(lines)


def minimise(case, cls, binary):
    """Shortens a failing script while it stays in the same class: deletes pieces (lines, then
    words, then single characters) as long as the class holds."""
    _init(binary, tempfile.mkdtemp(prefix="mcb-min-"))
    base = _roots.base
    script = case["script"]

    def still(s):
        # The same class, on a script busybox and dash both parse (cutting pieces out easily
        # makes a syntax error, which they only meet after running the lines before it).
        try:
            _, c, results = run_case({"script": s})
        except Exception:
            return False
        return c == cls and all(b"yntax error" not in results[sh][2] for sh in ("busybox", "dash"))

    try:
        for pattern in (r"(?<=\n)", r"(?<=[ \t;])", r""):
            changed = True
            while changed:
                changed = False
                pieces = [p for p in re.split(pattern, script) if p] if pattern else list(script)
                for i in range(len(pieces)):
                    cand = "".join(pieces[:i] + pieces[i + 1:])
                    if cand != script and still(cand):
                        script, changed = cand, True
                        break
    finally:
        make_writable(base)
        shutil.rmtree(base, ignore_errors=True)
    return script


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--binary", default=os.path.join(ROOT, "dist/amd64/modelcar-base"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--corpus", help="replay this corpus (JSON lines) instead of generating")
    p.add_argument("--show", action="append", default=[],
                   help="print the cases of this class (default: the failing ones)")
    p.add_argument("--minimise", action="store_true", help="minimise each failing script")
    p.add_argument("--limit", type=int, default=20, help="print at most this many per class")
    a = p.parse_args(argv)
    if not os.path.exists(a.binary):
        raise SystemExit(f"differential: {a.binary} missing: run scripts/build-sidecar.sh")
    cases = list(load_corpus(a.corpus)) if a.corpus else cases_from(a.seed, a.count)
    counts = collections.Counter()
    shown = collections.Counter()
    show = set(a.show or FAILING)
    failing = []
    start = time.time()
    for case, cls, results in run_all(cases, a.binary, a.jobs):
        counts[cls] += 1
        if cls in FAILING:
            failing.append((case, cls))
        if cls in show and shown[cls] < a.limit:
            shown[cls] += 1
            print(describe(case, cls, results), flush=True)
    total = sum(counts.values())
    print(f"differential: {total} scripts in {time.time() - start:.0f}s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if a.minimise:
        for case, cls in failing[: a.limit]:
            if "script" in case and "argv" not in case:
                print(f"minimised [{cls}]: {json.dumps(minimise(case, cls, a.binary))}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
