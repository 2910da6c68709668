"""Pod start time for a big model on containerd over CRI (scripts/bench-pod.sh runs this).

For each way of building the modelcar: the image and its content are removed from containerd,
the page cache dropped, then the clock runs from CRI PullImage, through the KServe-shaped pod
(sandbox, modelcar-init, server and sidecar, as tests/cri/kubelet.py runs them) to the server
having read every byte of the model through /mnt/models (ExecSync: cat of every file). The
bytes are then checked, untimed, against the source. Next to them the limit: the same layer
blobs fetched from the registry in parallel (curl) and written to disk, then read once.

containerd runs with debug logs; its "diff applied" lines give each layer's unpack time, and
its CPU time during the pull is recorded, to show where the time goes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "cri"))
sys.path.insert(0, str(HERE))

import cri_session as cri_setup  # noqa: E402  (tests/cri: dist, busybox, session id)
import genmodel  # noqa: E402
import harness  # noqa: E402
import helpers  # noqa: E402
import ociimage  # noqa: E402
from kserve_pod import kserve_pod  # noqa: E402
from kubelet import KubeletPod  # noqa: E402

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
# The server's read: wait for the sidecar's link (like a server in MODEL_INIT_MODE=async),
# then every byte of every file once.
READ_ALL = ("m=/mnt/models; n=0; until [ -e $m/config.json ]; do n=$((n+1)); "
            "[ $n -gt 600 ] && exit 3; sleep 0.05; done; "
            "find $m/ -type f -exec cat {} + >/dev/null && echo MCB-READ-OK")


def log(msg: str):
    print(f"[bench-pod] {msg}", file=sys.stderr, flush=True)


def drop_caches():
    subprocess.run(["sync"], check=True, timeout=300)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


@dataclass
class Variant:
    name: str
    ref: str
    note: str = ""
    mcd: int = 3  # max_concurrent_downloads (containerd's CRI default)
    snapshotter: str = "overlayfs"
    pigz: bool = False  # containerd may use unpigz (off: Go's gzip, as on a node without pigz)


@dataclass
class Apply:
    size: int
    start: float  # seconds after containerd logged the PullImage
    seconds: float


@dataclass
class Run:
    total: float
    pull: float
    start: float
    read: float
    ctd_cpu: float
    applies: list[Apply] = field(default_factory=list)

    def big(self) -> list[Apply]:
        """The model's layers (over 1 MiB), in the order containerd applied them."""
        return [a for a in self.applies if a.size > 1 << 20]

    def first_wait(self) -> float:
        """From PullImage to the first big layer's unpack: fetching it, nothing to overlap."""
        b = self.big()
        return b[0].start if b else 0.0

    def unpack(self) -> float:
        return sum(a.seconds for a in self.big())


@dataclass
class Row:
    v: Variant
    layers: int
    reg_mib: float
    runs: list[Run]
    kind: str = ""  # media type ending of the big layers: tar, tar+gzip, ...


# ---------------------------------------------------------------------------------------------
# containerd with the operator's settings the benchmark varies.


class BenchContainerd(harness.Containerd):
    def __init__(self, *a, mcd: int, snapshotter: str, **kw):
        super().__init__(*a, **kw)
        self.mcd = mcd
        self.snapshotter = snapshotter

    def write_config(self):
        super().write_config()
        cfg = self.dir / "config.toml"
        text = cfg.read_text()
        for old, new in (
            ('level = "info"', 'level = "debug"'),
            ("  disable_cgroup = true\n",
             f"  disable_cgroup = true\n  max_concurrent_downloads = {self.mcd}\n"),
            ('snapshotter = "overlayfs"', f'snapshotter = "{self.snapshotter}"'),
        ):
            assert old in text, f"harness.CONFIG changed: {old!r} not found"
            text = text.replace(old, new, 1)
        cfg.write_text(text)

    def cpu_seconds(self) -> float:
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def start_containerd(work: Path, dist: Path, registry: str, mcd: int, snap: str,
                     pigz: bool) -> BenchContainerd:
    pause_name = f"mcb.local/pause:{cri_setup.SESSION}"
    archive = work / "pause.tar"
    if not archive.exists():
        ociimage.write_archive(ociimage.pause_image(dist / "amd64" / "rootfs"), archive, pause_name)
    d = work / f"ctd-{snap}-{mcd}{'-pigz' if pigz else ''}"
    # containerd 1.6 decompresses gzip with unpigz when it finds one on its PATH, unless
    # CONTAINERD_DISABLE_PIGZ is set (archive/compression).
    saved = os.environ.pop("CONTAINERD_DISABLE_PIGZ", None)
    if not pigz:
        os.environ["CONTAINERD_DISABLE_PIGZ"] = "1"
    try:
        return BenchContainerd(d, archive, pause_name, [registry], mcd=mcd, snapshotter=snap).start()
    finally:
        os.environ.pop("CONTAINERD_DISABLE_PIGZ", None)
        if saved is not None:
            os.environ["CONTAINERD_DISABLE_PIGZ"] = saved


# ---------------------------------------------------------------------------------------------
# The images.


def registry_blobs(reg: str, repo: str, ref: str) -> list[dict]:
    """Layer descriptors of the linux/amd64 image of repo:ref."""
    doc, _ = harness.registry_manifest(f"{reg}/{repo}:{ref}" if "sha256:" not in ref
                                       else f"{reg}/{repo}@{ref}", ACCEPT)
    if "manifests" in doc:
        m = next(d for d in doc["manifests"]
                 if d.get("platform", {}).get("architecture") == "amd64")
        doc, _ = harness.registry_manifest(f"{reg}/{repo}@{m['digest']}", ACCEPT)
    return doc["layers"]


def _link_or_copy(src: str, dst: str):
    """podman build wants the model in its context: a hard link, a copy across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_variants(args, reg: str, pack: Path, model: Path, work: Path) -> list[Variant]:
    tag = "v1"
    out = []
    want = set(args.variants)

    def pack_push(name: str, repo: str, *extra: str, note: str = ""):
        ref = f"{reg}/bench/{repo}:{tag}"
        log(f"building {name}")
        helpers.run([pack, "-q", model, *extra, "--push", ref, "--insecure"], timeout=1800)
        out.append(Variant(name, ref, note))

    if "pack" in want or "settings" in want:
        pack_push("modelcar-pack (default: uncompressed)", "pack")
    if "pack-gzip" in want:
        pack_push("modelcar-pack --compress gzip", "pack-gzip", "--compress", "gzip")
    if "pack-zstd" in want:
        pack_push("modelcar-pack --compress zstd", "pack-zstd", "--compress", "zstd")
    for extra in args.pack_extra:
        slug = re.sub(r"[^a-z0-9]+", "-", extra.lower()).strip("-")
        pack_push(f"modelcar-pack {extra}", f"pack-{slug}", *extra.split())
    if want & {"podman", "olot"}:
        base = f"localhost/mcb-benchpod-{cri_setup.SESSION}/base:latest"
        log("building the modelcar-base image (podman) for podman build and olot")
        helpers.run([REPO / "scripts" / "build-image.sh", "--no-build", "--tag", base], timeout=1200)
        try:
            if "podman" in want:
                ctx = work / "podman-ctx"
                ctx.mkdir()
                shutil.copy(REPO / "Containerfile-modelcar", ctx)
                shutil.copytree(model, ctx / "model", copy_function=_link_or_copy)
                img = f"localhost/mcb-benchpod-{cri_setup.SESSION}/podman:latest"
                log("building podman build -f Containerfile-modelcar, podman push")
                helpers.run(["podman", "build", "-q", "-f", ctx / "Containerfile-modelcar",
                             "--build-arg", f"BASE_IMAGE={base}", "--build-arg", "MODEL_DIR=model",
                             "-t", img, ctx], timeout=1800)
                ref = f"{reg}/bench/podman:{tag}"
                helpers.run(["podman", "push", "-q", "--tls-verify=false", img, f"docker://{ref}"],
                            timeout=1800)
                helpers.run(["podman", "rmi", "-f", img], timeout=300, check=False)
                shutil.rmtree(ctx)
                out.append(Variant("podman build -f Containerfile-modelcar + podman push", ref,
                                   "podman push gzips the layers"))
            if "olot" in want:
                lay = work / "olot-layout"
                log("building the olot modelcar (olot on the base's layout, skopeo copy)")
                helpers.run(["skopeo", "copy", "-q", f"containers-storage:{base}",
                             f"oci:{lay}:latest"], timeout=300)
                files = sorted(str(p) for p in model.rglob("*")
                               if p.is_file() and p.name != "README.md")
                helpers.run([REPO / ".venv" / "bin" / "olot", lay, "--root-dir", model,
                             "-m", model / "README.md", *files], timeout=1800)
                ref = f"{reg}/bench/olot:{tag}"
                helpers.run(["skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false",
                             f"oci:{lay}:latest", f"docker://{ref}"], timeout=1800)
                shutil.rmtree(lay)
                out.append(Variant("olot + skopeo copy --preserve-digests", ref,
                                   "olot's uncompressed layers as olot wrote them"))
        finally:
            helpers.run(["podman", "rmi", "-f", base], timeout=300, check=False)
    if "settings" in want:
        default = next(v for v in out if v.name.startswith("modelcar-pack (default"))
        for mcd in args.mcd:
            if mcd != 3:
                out.append(Variant(f"  same, max_concurrent_downloads = {mcd}", default.ref, mcd=mcd))
        if "native" in args.snapshotters:
            out.append(Variant("  same, snapshotter = native", default.ref, snapshotter="native"))
    if "settings" in want and shutil.which("unpigz"):
        for v in [v for v in out if "gzip" in v.name or v.name.startswith("podman")]:
            out.append(Variant(f"  {v.name}, unpigz on containerd's PATH", v.ref, pigz=True))
    if "pack" not in want:
        out = [v for v in out if not v.name.startswith("modelcar-pack (default")]
    return out


# ---------------------------------------------------------------------------------------------
# The measurements.


def sidecar_tree_hashes(pid: int) -> dict:
    return helpers.sha256_tree(f"/proc/{pid}/root/models")


def _log_time(line: str) -> float | None:
    m = re.match(r'time="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"', line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + float(m.group(2) or 0)


def applies_since(ctd: BenchContainerd, offset: int, ref: str) -> list[Apply]:
    """containerd's "diff applied" lines (debug level) after byte `offset` of its log: each
    layer's unpack time, and when it started relative to the PullImage of `ref`."""
    text = (ctd.dir / "containerd.log").read_bytes()[offset:].decode(errors="replace")
    t0, out = None, []
    for line in text.splitlines():
        if t0 is None and f'msg="PullImage \\"{ref}\\""' in line:
            t0 = _log_time(line)
        if "diff applied" not in line or t0 is None:
            continue
        d = re.search(r'\bd="?([0-9.]+)(ms|s|µs|us|m)', line)
        size = re.search(r"\bsize=(\d+)", line)
        end = _log_time(line)
        if d and size and end is not None:
            secs = float(d.group(1)) * {"ms": 1e-3, "s": 1.0, "µs": 1e-6, "us": 1e-6, "m": 60.0}[d.group(2)]
            out.append(Apply(int(size.group(1)), end - secs - t0, secs))
    return out


def cold_run(ctd: BenchContainerd, v: Variant, serving: str, want: dict) -> Run:
    ctd.cri.remove_image(v.ref)
    drop_caches()
    log_off = (ctd.dir / "containerd.log").stat().st_size
    cpu0 = ctd.cpu_seconds()
    t0 = time.monotonic()
    _, pull = ctd.cri.pull_image(v.ref, timeout=1800)
    cpu1 = ctd.cpu_seconds()
    t1 = time.monotonic()
    pod = KubeletPod(ctd, kserve_pod(v.ref, serving, name=helpers.unique("mcb-bench")))
    try:
        pod.start(init_timeout=300)
        assert pod.result.failed_init is None, f"{v.name}: modelcar-init failed"
        t2 = time.monotonic()
        r = pod.exec("kserve-container", ["/bin/busybox", "sh", "-c", READ_ALL], timeout=1800)
        t3 = time.monotonic()
        assert r.exit_code == 0 and "MCB-READ-OK" in r.stdout, f"{v.name}: read failed: {r}"
        got = sidecar_tree_hashes(pod.status("modelcar").pid)
        assert got == want, f"{v.name}: the model read back differs from the source"
    finally:
        pod.delete()
    applies = applies_since(ctd, log_off, v.ref)
    return Run(total=t3 - t0, pull=pull, start=t2 - t1, read=t3 - t2, ctd_cpu=cpu1 - cpu0,
               applies=applies)


def limit_run(reg: str, blobs: list[dict], dest: Path, fsync: bool) -> float:
    """The layer blobs fetched in parallel with curl and written to `dest`, then read once."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    repo_url = f"http://{reg}/v2/bench/pack/blobs/"
    drop_caches()
    t0 = time.monotonic()
    procs = [subprocess.Popen(["curl", "-sf", "-o", str(dest / b["digest"].split(":")[1]),
                               repo_url + b["digest"]]) for b in blobs]
    for p in procs:
        assert p.wait(timeout=1800) == 0, "curl of a layer blob failed"
    if fsync:
        subprocess.run(["sync", "-f", str(dest)], check=True, timeout=600)
    subprocess.run(f"cat {dest}/* >/dev/null", shell=True, check=True, timeout=1800)
    t = time.monotonic() - t0
    shutil.rmtree(dest)
    return t


# ---------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.machine())
    mem = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    return f"{os.cpu_count()} cores ({cpu}), {mem / 1048576:.0f} GiB RAM, Linux {platform.release()}"


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    ap = argparse.ArgumentParser(prog="bench-pod.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=2048, help="model size in MiB (default 2048)")
    ap.add_argument("--files", type=int, default=4, help="weight shards (default 4)")
    ap.add_argument("--runs", type=int, default=1,
                    help="cold runs per row; the fastest is shown, the others' totals too (default 1)")
    ap.add_argument("--variants", default="pack,pack-gzip,pack-zstd,podman,olot,settings",
                    help="comma list of pack, pack-gzip, pack-zstd, podman, olot, settings "
                         "(the default image again under other containerd settings)")
    ap.add_argument("--pack-extra", action="append", default=[],
                    help="another modelcar-pack row with these options, e.g. '--small-file-max 1'")
    ap.add_argument("--mcd", default="1,3,8",
                    help="max_concurrent_downloads values for the settings rows (default 1,3,8)")
    ap.add_argument("--snapshotters", default="overlayfs,native",
                    help="snapshotters for the settings rows (default overlayfs,native)")
    ap.add_argument("--workdir", help="where to work (default: a new folder under /var/tmp)")
    ap.add_argument("--model", help="use this model folder instead of generating one")
    ap.add_argument("--pack-bin", required=True, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    args.mcd = [int(x) for x in args.mcd.split(",")]
    args.snapshotters = [s.strip() for s in args.snapshotters.split(",")]
    bad = set(args.variants) - {"pack", "pack-gzip", "pack-zstd", "podman", "olot", "settings"}
    if bad:
        ap.error(f"unknown variant(s): {', '.join(sorted(bad))}")
    if os.geteuid() != 0:
        ap.error("needs root (containerd, dropping the page cache)")

    made_work = args.workdir is None
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mcb-benchpod.", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = loadavg()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    reg = None
    ctds: dict[tuple[str, int, bool], BenchContainerd] = {}
    try:
        if args.model:
            model = Path(args.model).resolve()
        else:
            model = work / "model"
            log(f"generating a {args.size_mb} MiB model in {args.files} shards")
            genmodel.generate(model, args.size_mb, args.files)
        want = helpers.sha256_tree(model)
        model_bytes = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
        dist = cri_setup.ensure_dist()
        reg = helpers.Registry()
        variants = build_variants(args, reg.hostport, Path(args.pack_bin), model, work)
        serving_layout = work / "serving"
        ociimage.write_layout(ociimage.serving_image(cri_setup.busybox_path(),
                                                     helpers.SERVING_DIR / "serve.sh"), serving_layout)
        serving = f"{reg.hostport}/bench/serving:v1"
        harness.oci_push(serving_layout, serving)

        rows: list[Row] = []
        for v in variants:
            key = (v.snapshotter, v.mcd, v.pigz)
            if key not in ctds:
                ctds[key] = start_containerd(work, dist, reg.hostport, v.mcd, v.snapshotter, v.pigz)
                ctds[key].cri.pull_image(serving)
            ctd = ctds[key]
            repo, tag = v.ref.split("/", 1)[1].rsplit(":", 1)
            blobs = registry_blobs(reg.hostport, repo, tag)
            runs = []
            for i in range(args.runs):
                r = cold_run(ctd, v, serving, want)
                log(f"{v.name}: run {i + 1}: {r.total:.1f} s (pull {r.pull:.1f}, pod {r.start:.1f}, "
                    f"read {r.read:.1f}; containerd CPU {r.ctd_cpu:.1f} s; first unpack at "
                    f"{r.first_wait():.1f} s; unpack "
                    + ", ".join(f"{a.size >> 20} MiB {a.seconds:.1f} s" for a in r.big()) + ")")
                runs.append(r)
            ctd.cri.remove_image(v.ref)
            kinds = sorted({b["mediaType"].rsplit(".", 1)[-1].replace("rootfs", "")
                            for b in blobs if b["size"] > 1 << 20})
            rows.append(Row(v, len(blobs), sum(b["size"] for b in blobs) / 1048576, runs,
                            "/".join(kinds)))
        for c in ctds.values():
            c.stop()
        ctds.clear()

        limits = []
        if any(r.v.name.startswith("modelcar-pack (default") for r in rows):
            blobs = registry_blobs(reg.hostport, "bench/pack", "v1")
            for fsync in (False, True):
                ts = [limit_run(reg.hostport, blobs, work / "limit", fsync) for _ in range(args.runs)]
                limits.append((fsync, min(ts), ts))
                log(f"limit{' + fsync' if fsync else ''}: {min(ts):.1f} s")
    finally:
        for c in ctds.values():
            c.stop()
        if reg is not None:
            reg.stop()
        if made_work:
            harness.rmtree(work)

    limit = limits[0][1] if limits else None
    print()
    print(f"Pod start on containerd {harness.containerd_version()} (CRI runtime.v1, "
          f"overlayfs unless noted), cold: image removed, page cache dropped; "
          f"{model_bytes / 1048576:.0f} MiB model in {args.files} safetensors shards "
          f"+ config, tokenizer, README; loopback docker-registry. {date}, {machine()}, "
          f"load average {load_before} before, {loadavg()} after. Fastest of {args.runs} run(s).")
    print()
    print("| modelcar | layers | big layers | MiB in registry | PullImage s | of which: 1st layer "
          "fetch s | unpack s | pod start s | read s | total s | vs limit | containerd CPU s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        best = min(row.runs, key=lambda r: r.total)
        vs = f"{best.total / limit:.1f}x" if limit else "-"
        name = row.v.name + (f" ({row.v.note})" if row.v.note else "")
        others = "" if len(row.runs) == 1 else \
            f" (runs: {', '.join(f'{r.total:.1f}' for r in row.runs)})"
        print(f"| {name} | {row.layers} | {row.kind} | {row.reg_mib:.0f} | {best.pull:.1f} "
              f"| {best.first_wait():.1f} | {best.unpack():.1f} | {best.start:.1f} "
              f"| {best.read:.1f} | {best.total:.1f}{others} | {vs} | {best.ctd_cpu:.1f} |")
    for fsync, t, ts in limits:
        what = ("limit: the same layer blobs, curl in parallel to disk, then read once"
                + (", with sync -f before the read" if fsync else ""))
        print(f"| {what} | {len(blobs)} | tar | {sum(b['size'] for b in blobs) / 1048576:.0f} "
              f"| - | - | - | - | - | {t:.1f} | {t / limit:.1f}x | - |")
    print()
    print("Each big layer's unpack (containerd's \"diff applied\"), in the fastest run: "
          "MiB, started at s after PullImage, took s:")
    for row in rows:
        best = min(row.runs, key=lambda r: r.total)
        print(f"- {row.v.name.strip()}: " + ", ".join(
            f"{a.size >> 20} MiB @{a.start:.1f} {a.seconds:.1f}" for a in best.big()))


if __name__ == "__main__":
    main()
