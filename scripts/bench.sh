#!/usr/bin/env bash
# Benchmarks the sidecar against busybox sh on KServe's sidecar script and prints one table:
# binary size per architecture, resident memory while sleeping, time from exec until the link
# exists, and time from SIGTERM to exit (medians over several runs, both as non-PID-1 processes).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/bench.sh [--runs N]

Needs the binaries from scripts/build-sidecar.sh and /bin/busybox (busybox-static);
runs as root (chroot). Prints a Markdown table.
USAGE
}

runs=30
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --runs) [ $# -ge 2 ] || { echo "bench.sh: --runs needs a value" >&2; exit 2; }; runs=$2; shift 2 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "bench.sh: --runs must be a number" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/architectures.sh source-path=SCRIPTDIR
. "$root/scripts/lib/architectures.sh"
for a in "${MCB_ALL_ARCHS[@]}"; do
  [ -x "$root/dist/$a/modelcar-base" ] || { echo "bench.sh: dist/$a/modelcar-base missing (run scripts/build-sidecar.sh)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "bench.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench.sh: must run as root (it uses chroot)" >&2; exit 1; }

python3 - "$root" "$runs" <<'PY'
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, time

root, runs = sys.argv[1], int(sys.argv[2])
SCRIPT = "ln -sf /proc/$$/root/models /mnt/models && sleep infinity"
with open(f"{root}/applets.txt") as f:
    APPLETS = ["sh"] + [l for l in f.read().splitlines() if not l.startswith("#")]

def make_root(binary):
    d = tempfile.mkdtemp(prefix="mcb-bench-")
    os.makedirs(f"{d}/bin"); os.makedirs(f"{d}/mnt"); os.makedirs(f"{d}/models")
    shutil.copy(binary, f"{d}/bin/modelcar-base")
    for a in APPLETS:
        os.symlink("modelcar-base", f"{d}/bin/{a}")
    return d

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def one_run(binary):
    d = make_root(binary)
    link = f"{d}/mnt/models"
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/sbin/chroot", d, "/bin/sh", "-c", SCRIPT],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"PATH": "/bin"})
    deadline = t0 + 10
    while not os.path.islink(link):
        if time.perf_counter() > deadline:
            p.kill(); raise SystemExit("bench: the link never appeared")
    t_link = time.perf_counter() - t0
    time.sleep(0.05)  # settle into the sleep
    # busybox's sh has exec'd `sleep`: the process that sleeps is still p.pid.
    rss = rss_kib(p.pid)
    t1 = time.perf_counter()
    os.kill(p.pid, signal.SIGTERM)
    os.waitpid(p.pid, 0)
    t_term = time.perf_counter() - t1
    p.returncode = 0
    shutil.rmtree(d)
    return t_link, rss, t_term

def hyperfine_median(d, script, warmup, runs, prepare=None):
    """Median wall time of `chroot D /bin/sh -c SCRIPT`, by hyperfine: a polling loop in this
    script would measure its own scheduling more than the shell."""
    out = f"{d}/hyperfine.json"
    cmd = ["hyperfine", "-N", "-w", str(warmup), "-r", str(runs), "--export-json", out]
    if prepare:
        cmd += ["--prepare", prepare]
    subprocess.run(cmd + [f"/usr/sbin/chroot {d} /bin/sh -c '{script}'"],
                   capture_output=True, text=True).check_returncode()
    with open(out) as f:
        return json.load(f)["results"][0]["median"]

def exec_to_link(binary):
    """`sh -c 'ln -sf ...'`: exec, link, exit."""
    d = make_root(binary)
    median = hyperfine_median(d, "ln -sf /proc/$$/root/models /mnt/models", 5, max(runs, 10),
                              prepare=f"rm -f {d}/mnt/models")
    shutil.rmtree(d)
    return median

def prefetch_check(binary, files=10_000):
    """KServe's prefetch test, `[ "$(ls -A /models)" ]`, on a /models of `files` files: the
    modelcar init container runs it on the real model (at 10m CPU)."""
    d = make_root(binary)
    for i in range(files):
        open(f"{d}/models/model-{i:05}.safetensors", "w").close()
    median = hyperfine_median(d, '[ "$(ls -A /models)" ]', 2, 10)
    shutil.rmtree(d)
    return median

def bench(binary):
    results = [one_run(binary) for _ in range(runs)]
    med = lambda i: statistics.median(r[i] for r in results)
    return exec_to_link(binary), med(1), med(2), prefetch_check(binary)

ours = bench(f"{root}/dist/amd64/modelcar-base")
bb = bench("/bin/busybox")
size = {a: os.path.getsize(f"{root}/dist/{a}/modelcar-base") for a in ["amd64", "arm64", "ppc64le", "s390x"]}

def fmt_size(n): return f"{n:,} B ({n/1024:.1f} KiB)"
print(f"| measure (median of {runs} runs, amd64) | modelcar-base | busybox sh |")
print("|---|---|---|")
print(f"| binary size amd64 | {fmt_size(size['amd64'])} | {fmt_size(os.path.getsize('/bin/busybox'))} |")
for a in ["arm64", "ppc64le", "s390x"]:
    print(f"| binary size {a} | {fmt_size(size[a])} | - |")
print(f"| resident memory while sleeping | {ours[1]} KiB | {bb[1]} KiB |")
print(f"| exec -> link made -> exit (chroot + sh -c 'ln -sf ...', hyperfine median) | {ours[0]*1e3:.2f} ms | {bb[0]*1e3:.2f} ms |")
print(f"| SIGTERM -> exit (seen by the parent) | {ours[2]*1e6:.0f} us | {bb[2]*1e6:.0f} us |")
print(f"| prefetch check on 10,000 files (sh -c '[ \"$(ls -A /models)\" ]', hyperfine median) | {ours[3]*1e3:.1f} ms | {bb[3]*1e3:.1f} ms |")
PY
