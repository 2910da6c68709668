"""The base image and the sample modelcar: contents, runs, registry round trip, reproducibility,
size, and the image scripts' answers to bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import APPLETS as BUILTINS
from helpers import (
    ARCHES,
    ELF_MACHINE,
    KSERVE_INIT_SCRIPT_K8S,
    OK_MESSAGE,
    REPORT,
    elf_machine,
    k8s_expand,
    podman,
    run,
    sample_model_hashes,
    sha256_tree,
    unique,
)

# The image's applet links: modelcar-base and every builtin.
APPLETS = ("modelcar-base", *BUILTINS)


def init_script(image: str) -> str:
    return k8s_expand(KSERVE_INIT_SCRIPT_K8S.format(image=image))


def saved_image(env, image: str, dest: Path) -> tuple[dict, dict, list[bytes]]:
    """(manifest, config, [uncompressed layer tars]) of a local image via `podman save`."""
    podman(env, "save", "--format", "oci-dir", "-o", dest, image, timeout=300)
    blobs = dest / "blobs" / "sha256"
    index = json.loads((dest / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    layers = [(blobs / l["digest"].split(":")[1]).read_bytes() for l in manifest["layers"]]
    return manifest, config, [maybe_gunzip(b) for b in layers]


def maybe_gunzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name.lstrip("./").rstrip("/"): m for m in tf.getmembers()}


def tar_read(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            if m.name.lstrip("./") == name:
                return tf.extractfile(m).read()
    raise KeyError(name)


def skopeo_raw(ref: str, *, config=False) -> dict:
    args = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
    if config:
        args.insert(2, "--config")
        args.remove("--raw")
    return json.loads(run(args + [f"docker://{ref}"], timeout=60).stdout)


def registry_blob(registry: str, repo: str, digest: str) -> bytes:
    with urllib.request.urlopen(f"http://{registry}/v2/{repo}/blobs/{digest}", timeout=30) as r:
        data = r.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


# ---------------------------------------------------------------------------------------------
# The base image.


def test_base_image_contents(repo, dist, base_image, podman_env, tmp_path):
    manifest, config, layers = saved_image(podman_env, base_image, tmp_path / "oci")
    assert len(layers) == 1, "the base image is one layer"
    members = tar_members(layers[0])
    expected = {"bin", "bin/sh", "models"} | {f"bin/{a}" for a in APPLETS}
    assert set(members) == expected
    created = config["created"]
    for name, m in members.items():
        assert (m.uid, m.gid) == (0, 0), name
    for a in APPLETS:
        m = members[f"bin/{a}"]
        assert m.issym() and m.linkname == "sh", a
    assert members["models"].isdir() and members["bin"].isdir()
    sh = tar_read(layers[0], "bin/sh")
    assert sh == (dist / "amd64" / "rootfs" / "bin" / "sh").read_bytes()
    assert elf_machine(sh) == ELF_MACHINE["amd64"]
    # Every mtime is the fixed build time (reproducible), the config's `created` too.
    mtimes = {m.mtime for m in members.values()}
    assert len(mtimes) == 1
    assert time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mtimes.pop())) == created[:19]

    cfg = config["config"]
    assert "Entrypoint" not in cfg or not cfg["Entrypoint"], "no ENTRYPOINT: it would swallow KServe's args"
    assert cfg["Cmd"] == ["modelcar-base", "--help"]
    assert cfg["WorkingDir"] == "/models"
    assert cfg["Env"] == ["PATH=/bin"]
    assert cfg["User"] == "0"
    labels = cfg["Labels"]
    version = re.search(r'^version = "(.*)"', (repo / "Cargo.toml").read_text(), re.M).group(1)
    head = run(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.strip()
    assert labels["org.opencontainers.image.title"] == "modelcar-base"
    assert labels["org.opencontainers.image.version"] == version
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert labels["org.opencontainers.image.description"]
    assert labels["org.opencontainers.image.created"] == created[:19] + "Z"


def test_base_image_runs(base_image, podman_env):
    out = podman(podman_env, "run", "--rm", base_image, timeout=60)
    assert "modelcar-base" in out.stdout and "Usage: sh [-e] -c SCRIPT" in out.stdout
    # KServe's form, on a read-only root, as an arbitrary UID (OpenShift), into a tmpfs.
    script = ("mkdir -p '/mnt/my models' && ln -sf /proc/$$/root/models '/mnt/my models/base' "
              "&& test -L '/mnt/my models/base' && echo linked")
    out = podman(podman_env, "run", "--rm", "--read-only", "--user", "1000740000",
                 "--tmpfs", "/mnt", base_image, "sh", "-c", script, timeout=60)
    assert out.stdout == "linked\n"
    # An unknown command is refused, not executed.
    out = podman(podman_env, "run", "--rm", base_image, "sh", "-c", "cat /etc/passwd",
                 timeout=60, check=False)
    assert out.returncode == 127 and "cat: not found" in out.stderr


def test_base_image_sigterm_as_pid1(base_image, podman_env):
    """`sleep infinity` as PID 1 (no default signal handlers there) exits 0 on SIGTERM."""
    name = unique("mcb-pid1")
    podman(podman_env, "run", "-d", "--name", name, base_image, "sh", "-c",
           "ln -sf /proc/$$/root/models /models-link && sleep infinity", timeout=60)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        podman(podman_env, "stop", "-t", "10", name, timeout=60)
        seconds = time.monotonic() - t0
        state = json.loads(podman(podman_env, "inspect", name).stdout)[0]["State"]
        assert state["ExitCode"] == 0
        assert seconds < 5
        REPORT.append(f"PID 1 sleep infinity: podman stop {seconds:.2f} s, exit code 0")
    finally:
        podman(podman_env, "rm", "-f", "-t", "0", name, check=False)


def test_sample_modelcar_runs(repo, sample_modelcar, podman_env):
    out = podman(podman_env, "run", "--rm", sample_modelcar, "sh", "-c",
                 init_script(sample_modelcar), timeout=60)
    assert out.stdout == f"Pre-fetching modelcar {sample_modelcar}: \n{OK_MESSAGE}\n"
    out = podman(podman_env, "run", "--rm", sample_modelcar, "ls", "-A", "/models", timeout=60)
    assert sorted(out.stdout.split("\n")[:-1]) == sorted(p.name for p in (repo / "sample-model").iterdir())


def test_sample_modelcar_layers(sample_modelcar, podman_env, tmp_path):
    """The model layer holds exactly sample-model/ under models/, byte for byte."""
    _, _, layers = saved_image(podman_env, sample_modelcar, tmp_path / "oci")
    assert len(layers) == 2
    got = {}
    with tarfile.open(fileobj=io.BytesIO(layers[1])) as tf:
        for m in tf.getmembers():
            if m.isfile():
                name = m.name.lstrip("./")
                assert name.startswith("models/"), name
                got["./" + name[len("models/"):]] = hashlib.sha256(tf.extractfile(m).read()).hexdigest()
    assert got == sample_model_hashes()


# ---------------------------------------------------------------------------------------------
# Reproducibility.


def test_two_builds_same_digest(repo, dist, podman_env, registry, images):
    args = ["--no-build", "--dist", dist, "--timestamp", "1700000000", "--revision", "test"]
    ids = []
    for i in range(2):
        name = images.image(f"localhost/{unique('mcb-repro')}/base:{i}")
        ids.append(run([repo / "scripts" / "build-image.sh", *args, "--tag", name],
                       env=podman_env, timeout=600).stdout.strip())
    assert ids[0] == ids[1]
    # The 4-arch manifest list, twice, pushed: the same index digest.
    digests = []
    for i in range(2):
        name = images.manifest_list(f"localhost/{unique('mcb-repro')}/multi:{i}")
        run([repo / "scripts" / "build-image.sh", *args, "--manifest", name],
            env=podman_env, timeout=900)
        out = run([repo / "scripts" / "publish-image.sh", "--insecure", name,
                   f"{registry}/repro:{i}"], env=podman_env, timeout=600).stdout.strip()
        images.drop_list(name)
        digests.append(out.split("@")[1])
    assert digests[0] == digests[1]
    REPORT.append(f"reproducible: image ID {ids[0][:12]} twice; 4-arch index {digests[0]} twice")


# ---------------------------------------------------------------------------------------------
# Registry round trip.


def check_index(registry: str, ref: str) -> dict:
    """Checks a pushed 4-arch index; returns {arch: (manifest digest, [layer blobs])}."""
    repo_name = ref.split("/", 1)[1].split(":")[0].split("@")[0]
    index = skopeo_raw(ref)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    plats = {m["platform"]["architecture"]: m for m in index["manifests"]}
    assert sorted(plats) == sorted(ARCHES)
    assert all(m["platform"]["os"] == "linux" for m in index["manifests"])
    out = {}
    for arch, desc in plats.items():
        manifest = skopeo_raw(f"{registry}/{repo_name}@{desc['digest']}")
        config = json.loads(registry_blob(registry, repo_name, manifest["config"]["digest"]))
        assert config["architecture"] == arch and config["os"] == "linux"
        layers = [maybe_gunzip(registry_blob(registry, repo_name, l["digest"]))
                  for l in manifest["layers"]]
        sh = tar_read(layers[0], "bin/sh")
        assert elf_machine(sh) == ELF_MACHINE[arch], f"{arch} image holds a binary for ELF machine {elf_machine(sh)}"
        out[arch] = (desc["digest"], layers, sum(l["size"] for l in manifest["layers"]))
    return out


def test_registry_base_is_multiarch(pushed_base, registry):
    ref = pushed_base.split("@")[0]
    per_arch = check_index(registry, ref)
    REPORT.append("base image layer (gzip) per platform: " + ", ".join(
        f"{arch} {per_arch[arch][2]} B" for arch in ARCHES))


def test_registry_modelcar_is_multiarch(pushed_modelcar, registry):
    per_arch = check_index(registry, pushed_modelcar)
    for arch, (_, layers, _) in per_arch.items():
        files = {}
        with tarfile.open(fileobj=io.BytesIO(layers[-1])) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    files["./" + m.name.lstrip("./")[len("models/"):]] = hashlib.sha256(
                        tf.extractfile(m).read()).hexdigest()
        assert files == sample_model_hashes(), arch


def test_skopeo_copy_to_oci_layout(pushed_modelcar, tmp_path):
    layout = tmp_path / "layout"
    run(["skopeo", "copy", "--all", "--src-tls-verify=false", f"docker://{pushed_modelcar}",
         f"oci:{layout}:sample"], timeout=300)
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "sample"
    blobs = layout / "blobs" / "sha256"
    for blob in blobs.iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    inner = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_text())
    assert sorted(m["platform"]["architecture"] for m in inner["manifests"]) == sorted(ARCHES)
    run(["skopeo", "inspect", f"oci:{layout}:sample"], timeout=60)


@pytest.mark.parametrize("arch", [a for a in ARCHES if a != "amd64"])
def test_foreign_arch_runs_under_qemu(pushed_modelcar, registry, podman_env, arch):
    """Pull one platform of the pushed modelcar and run KServe's scripts in it through qemu
    binfmt (the host is x86-64)."""
    index = skopeo_raw(pushed_modelcar)
    digest = [m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == arch][0]
    ref = f"{pushed_modelcar.rsplit(':', 1)[0]}@{digest}"
    podman(podman_env, "pull", "-q", "--tls-verify=false", ref, timeout=300)
    try:
        info = json.loads(podman(podman_env, "image", "inspect", ref).stdout)[0]
        assert info["Architecture"] == arch
        out = podman(podman_env, "run", "--rm", "--platform", f"linux/{arch}", ref, "sh", "-c",
                     init_script(ref), timeout=120)
        assert out.stdout.endswith(OK_MESSAGE + "\n")
        name = unique(f"mcb-{arch}")
        podman(podman_env, "run", "-d", "--name", name, "--platform", f"linux/{arch}", ref,
               "sh", "-c", "ln -sf /proc/$$/root/models /models-link && sleep infinity", timeout=120)
        try:
            time.sleep(1)
            podman(podman_env, "stop", "-t", "10", name, timeout=60)
            state = json.loads(podman(podman_env, "inspect", name).stdout)[0]["State"]
            assert state["ExitCode"] == 0
        finally:
            podman(podman_env, "rm", "-f", "-t", "0", name, check=False)
    finally:
        podman(podman_env, "rmi", ref, check=False)


# ---------------------------------------------------------------------------------------------
# Size.


def pushed_size(env, registry, image, repo_name) -> tuple[int, int, int]:
    """(compressed layer bytes, layer + config + manifest bytes, uncompressed size) after a push."""
    podman(env, "push", "-q", "--tls-verify=false", "--format", "oci", image,
           f"docker://{registry}/{repo_name}:size", timeout=300)
    raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false",
               f"docker://{registry}/{repo_name}:size"], timeout=60).stdout
    manifest = json.loads(raw)
    layers = sum(l["size"] for l in manifest["layers"])
    total = layers + manifest["config"]["size"] + len(raw.encode())
    size = json.loads(podman(env, "image", "inspect", image).stdout)[0]["Size"]
    return layers, total, size


def test_size_vs_busybox(podman_env, registry, base_image, sample_modelcar, busybox_base,
                         busybox_modelcar):
    rows = {
        "base (modelcar-base)": pushed_size(podman_env, registry, base_image, "size-base"),
        "base (busybox)": pushed_size(podman_env, registry, busybox_base, "size-busybox-base"),
        "sample modelcar (modelcar-base)": pushed_size(podman_env, registry, sample_modelcar, "size-mc"),
        "sample modelcar (busybox)": pushed_size(podman_env, registry, busybox_modelcar, "size-busybox-mc"),
    }
    REPORT.append(f"{'image (linux/amd64)':34} {'layers gz':>10} {'pushed total':>13} {'unpacked':>10}")
    for name, (layers, total, size) in rows.items():
        REPORT.append(f"{name:34} {layers:>10} {total:>13} {size:>10}")
    assert rows["base (modelcar-base)"][0] < rows["base (busybox)"][0]


# ---------------------------------------------------------------------------------------------
# Bad input.


def script(repo, name):
    return repo / "scripts" / name


def test_help_everywhere(repo):
    for name in ("build-image.sh", "build-modelcar.sh", "publish-image.sh",
                 "verify-signature.sh", "demo.sh"):
        out = run([script(repo, name), "--help"], timeout=30)
        assert out.stdout.startswith("Usage:"), name


def test_missing_model(repo, base_image, podman_env):
    out = run([script(repo, "build-modelcar.sh"), "--model", "/nonexistent/model",
               "--base", base_image], env=podman_env, check=False, timeout=60)
    assert out.returncode == 1
    assert "model folder '/nonexistent/model' does not exist" in out.stderr
    empty = tempfile.mkdtemp()
    out = run([script(repo, "build-modelcar.sh"), "--model", empty, "--base", base_image],
              env=podman_env, check=False, timeout=60)
    assert out.returncode == 1 and "is empty" in out.stderr
    os.rmdir(empty)


def test_wrong_platform(repo, podman_env):
    for s in ("build-image.sh", "build-modelcar.sh"):
        args = ["--platform", "linux/riscv64"] + (["--model", str(repo / "sample-model")] if "modelcar" in s else [])
        out = run([script(repo, s), *args], env=podman_env, check=False, timeout=60)
        assert out.returncode == 2
        assert "unknown platform 'linux/riscv64'" in out.stderr


def test_unreachable_registry(repo, base_image, podman_env):
    listname = f"localhost/{unique('mcb-unreach')}/list:latest"
    podman(podman_env, "manifest", "create", listname)
    try:
        podman(podman_env, "manifest", "add", listname, f"containers-storage:{base_image}")
        with socket_closed_port() as port:
            t0 = time.monotonic()
            out = run([script(repo, "publish-image.sh"), "--insecure", listname,
                       f"127.0.0.1:{port}/x:y"], env=podman_env, check=False, timeout=60)
        assert out.returncode == 1
        assert f"registry 127.0.0.1:{port} is unreachable" in out.stderr
        assert time.monotonic() - t0 < 10
    finally:
        podman(podman_env, "manifest", "rm", listname, check=False)


class socket_closed_port:
    """A port on 127.0.0.1 that nothing listens on (bound, never listening)."""

    def __enter__(self):
        import socket
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc):
        self.s.close()


def test_missing_tool(repo, tmp_path):
    """PATH without podman: the scripts name the missing tool."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for d in ("/usr/bin", "/bin"):
        for p in Path(d).iterdir():
            if p.name not in ("podman", "cosign") and not (bindir / p.name).exists():
                (bindir / p.name).symlink_to(p)
    env = {"PATH": str(bindir), "HOME": os.environ.get("HOME", "/root")}
    out = run([script(repo, "build-image.sh"), "--no-build"], env=env, check=False, timeout=60)
    assert out.returncode == 1
    assert "required tool 'podman' not found" in out.stderr
    out = run([script(repo, "verify-signature.sh"), "--certificate-identity", "x", "img"],
              env=env, check=False, timeout=60)
    assert out.returncode == 1 and "cosign not found" in out.stderr


def test_no_half_built_manifest_list(repo, dist, podman_env, tmp_path):
    """The s390x build fails after three platforms were built: nothing may stay behind."""
    bad = tmp_path / "dist"
    for arch in ARCHES:
        (bad / arch).mkdir(parents=True)
        src = dist / arch / "rootfs"
        if arch == "s390x":
            # A rootfs link leaving the build context: the host sees the binary, the build not.
            (bad / arch / "rootfs").symlink_to(src.resolve())
        else:
            run(["cp", "-a", src, bad / arch / "rootfs"])
    name = f"localhost/{unique('mcb-half')}/base:latest"
    out = run([script(repo, "build-image.sh"), "--no-build", "--dist", bad, "--manifest", name],
              env=podman_env, check=False, timeout=600)
    assert out.returncode != 0
    assert "removing the half-built manifest list" in out.stderr
    assert podman(podman_env, "manifest", "exists", name, check=False).returncode != 0
    for arch in ARCHES:
        assert podman(podman_env, "image", "exists", f"{name}-{arch}", check=False).returncode != 0


def test_wrong_arch_binary_refused(repo, dist, podman_env, tmp_path):
    """An x86-64 binary in the arm64 slot is refused before anything is built."""
    bad = tmp_path / "dist"
    bad.mkdir()
    run(["cp", "-a", dist / "amd64", bad / "arm64"])
    out = run([script(repo, "build-image.sh"), "--no-build", "--dist", bad, "--platform",
               "linux/arm64", "--tag", f"localhost/{unique('mcb-wrong')}/x:y"],
              env=podman_env, check=False, timeout=60)
    assert out.returncode == 1
    assert "is not a arm64 binary (ELF machine 62, want 183)" in out.stderr
