"""modelcar-pack with the real tools: skopeo and podman read its layouts, the KServe-shaped pod
serves a packed model, a registry takes its pushes (with and without auth) and KServe's storage
initializer pulls them back byte for byte; --base on a multi-arch layout; files over 8 GiB;
reflinks on a loop-mounted XFS; registries that refuse or drop the connection."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

import helpers
from helpers import ARCHES, ELF_MACHINE, run

SESSION = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pack_bin(repo, dist) -> Path:
    """The release modelcar-pack (hashing in a debug build is ~30x slower), embedding dist/."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
    run(["cargo", "build", "--release", "-q", "-p", "modelcar-pack"], cwd=repo, timeout=1200,
        env={**os.environ, "MODELCAR_DIST": str(dist)})
    b = target / "release" / "modelcar-pack"
    assert b.is_file(), f"{b} was not built"
    return b


def pack(pack_bin, *args, env=None, check=True, timeout=300):
    return run([pack_bin, *args], env=env, check=check, timeout=timeout)


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def tagged(layout: Path, tag: str) -> dict:
    idx = json.loads((layout / "index.json").read_text())
    found = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    assert len(found) == 1, idx
    return found[0]


def platform_images(layout: Path, tag: str) -> list[tuple[dict, dict, dict]]:
    index = json.loads(blob(layout, tagged(layout, tag)["digest"]))
    out = []
    for d in index["manifests"]:
        m = json.loads(blob(layout, d["digest"]))
        c = json.loads(blob(layout, m["config"]["digest"]))
        out.append((d, m, c))
    return out


@pytest.fixture(scope="session")
def packed_sample(pack_bin, repo, tmp_path_factory) -> tuple[Path, str]:
    """(layout, index digest) of the sample model packed with the embedded base."""
    out = tmp_path_factory.mktemp("pack") / "layout"
    digest = pack(pack_bin, repo / "sample-model", "-o", f"oci:{out}:sample", "-q").stdout.strip()
    return out, digest


def to_storage(podman_env, images, layout: Path, tag: str, arch: str) -> str:
    name = images.image(f"localhost/mcb-pack-{SESSION}/{arch}-{uuid.uuid4().hex[:6]}:latest")
    run(["skopeo", "copy", "--quiet", "--override-arch", arch, f"oci:{layout}:{tag}",
         f"containers-storage:{name}"], env=podman_env, timeout=300)
    return name


def test_skopeo_reads_the_layout(packed_sample, podman_env, tmp_path):
    layout, digest = packed_sample
    raw = json.loads(run(["skopeo", "inspect", "--raw", f"oci:{layout}:sample"], env=podman_env).stdout)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"]["architecture"] for m in raw["manifests"]] == list(ARCHES)
    assert "sha256:" + hashlib.sha256(blob(layout, digest)).hexdigest() == digest
    for arch in ARCHES:
        info = json.loads(run(["skopeo", "inspect", "--override-arch", arch, f"oci:{layout}:sample"],
                              env=podman_env).stdout)
        assert info["Architecture"] == arch
        assert info["Env"] == ["PATH=/bin"]
        assert len(info["Layers"]) == 3  # base, small files, README.md
    # A full multi-arch copy to another layout: skopeo verifies every digest on the way.
    run(["skopeo", "copy", "--quiet", "--all", f"oci:{layout}:sample", f"oci:{tmp_path / 'copy'}:c"],
        env=podman_env, timeout=300)
    copied = json.loads(blob(tmp_path / "copy", tagged(tmp_path / "copy", "c")["digest"]))
    assert len(copied["manifests"]) == 4


def test_podman_runs_amd64_and_arm64(packed_sample, podman_env, images, repo):
    layout, _ = packed_sample
    want = sorted(p.name for p in (repo / "sample-model").iterdir())
    for arch in ("amd64", "arm64"):  # arm64 through qemu binfmt
        name = to_storage(podman_env, images, layout, "sample", arch)
        inspect = json.loads(helpers.podman(podman_env, "image", "inspect", name).stdout)[0]
        assert inspect["Architecture"] == arch
        out = helpers.podman(podman_env, "run", "--rm", "--platform", f"linux/{arch}", name,
                             "ls", "-A", "/models", timeout=120).stdout
        assert sorted(out.split("\n")[:-1]) == want, out
        sh = helpers.podman(podman_env, "run", "--rm", "--platform", f"linux/{arch}", name,
                            "sh", "-c", "echo packed-$$ && [ -f /models/config.json ]", timeout=120)
        assert re.fullmatch(r"packed-\d+\n", sh.stdout), sh.stdout


def test_kube_play_serves_the_packed_model(packed_sample, podman_env, images, serving_image):
    layout, _ = packed_sample
    name = to_storage(podman_env, images, layout, "sample", "amd64")
    res = helpers.run_kserve_pod_retrying(podman_env, name, serving_image=serving_image)
    assert res.serving["ok"], res.serving["log"]
    assert res.serving["files"] == helpers.sample_model_hashes()
    assert res.stop.sidecar_exit_code == 0


def kserve_fetch(repo, ref: str, dest: Path) -> None:
    """KServe's storage initializer, fetch mode (oci+fetch://), as in the serving pod."""
    code = ("import sys\nfrom kserve_storage import Storage\n"
            "Storage._download_oci('oci://' + sys.argv[1], sys.argv[2])\n")
    run([sys.executable, "-c", code, ref, dest], timeout=300,
        env={**os.environ, "KSERVE_OCI_INSECURE_REGISTRY": "true"})


def big_model(tmp: Path, repo: Path) -> Path:
    m = tmp / "model"
    shutil.copytree(repo / "sample-model", m)
    (m / "weights" / "shard-1.bin").write_bytes(os.urandom(5 << 20))
    return m


def test_push_and_kserve_fetch(pack_bin, repo, registry, podman_env, tmp_path):
    m = big_model(tmp_path, repo)
    ref = f"{registry}/pack/sample:v1"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # 1 MiB chunks: the 5 MiB shard goes up in PATCHes, the rest in single PUTs.
    env = {**os.environ, "MODELCAR_PACK_CHUNK": str(1 << 20), "TMPDIR": str(scratch)}
    proc = pack(pack_bin, m, "--push", ref, "--insecure", env=env)
    digest = proc.stdout.strip()
    assert f"pushed {ref}@{digest}" in proc.stderr
    assert list(scratch.iterdir()) == [], "the push-only scratch layout is gone"
    raw = run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], env=podman_env).stdout
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
    assert [x["platform"]["architecture"] for x in json.loads(raw)["manifests"]] == list(ARCHES)
    # The same push again skips every blob and gives the same digest.
    assert pack(pack_bin, m, "--push", ref, "--insecure", "-q", env=env).stdout.strip() == digest

    dest = tmp_path / "fetched"
    dest.mkdir()
    kserve_fetch(repo, ref, dest)
    assert helpers.sha256_tree(dest) == helpers.sha256_tree(m)


def test_push_with_htpasswd_auth(pack_bin, repo, auth_registry, podman_env, tmp_path):
    host, user, password = auth_registry
    ref = f"{host}/pack/auth:v1"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
    env["HOME"] = str(home)
    refused = pack(pack_bin, repo / "sample-model", "--push", ref, "--insecure", env=env, check=False)
    assert refused.returncode == 1
    assert f"registry {host} wants credentials" in refused.stderr, refused.stderr

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(helpers.auth_config(host, user, "nope")))
    bad = pack(pack_bin, repo / "sample-model", "--push", ref, "--insecure", check=False,
               env={**env, "REGISTRY_AUTH_FILE": str(wrong)})
    assert bad.returncode == 1 and "credentials refused" in bad.stderr, bad.stderr

    # ~/.docker/config.json form, as `docker login` writes it.
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps(helpers.auth_config(host, user, password)))
    digest = pack(pack_bin, repo / "sample-model", "--push", ref, "--insecure", "-q", env=env).stdout.strip()
    raw = run(["skopeo", "inspect", "--tls-verify=false", "--creds", f"{user}:{password}", "--raw",
               f"docker://{ref}"], env=podman_env).stdout
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest


class _BadRegistry:
    """A TCP server on 127.0.0.1 that either drops every connection or answers 503."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop_flag.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                if self.mode == "ping-only":
                    # Says hello to GET /v2/, then drops every upload: a failure mid-push.
                    conn.settimeout(2)
                    try:
                        req = conn.recv(65536)
                        if req.startswith(b"GET /v2/ "):
                            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                    except OSError:
                        pass
                elif self.mode == "refuse":
                    conn.settimeout(2)
                    try:
                        conn.recv(65536)
                        body = b"maintenance"
                        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
                    except OSError:
                        pass
                # "drop": close at once, without a byte.

    def close(self):
        self.stop_flag.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.mark.parametrize("mode,needle", [("drop", "cannot reach the registry API"),
                                         ("refuse", "HTTP 503 maintenance")])
def test_push_to_a_bad_registry_fails_cleanly(pack_bin, repo, tmp_path, mode, needle):
    srv = _BadRegistry(mode)
    try:
        scratch = tmp_path / "tmp"
        scratch.mkdir()
        out = tmp_path / "layout"
        env = {**os.environ, "TMPDIR": str(scratch)}
        # Push-only: nothing may stay in TMPDIR.
        p = pack(pack_bin, repo / "sample-model", "--push", f"127.0.0.1:{srv.port}/m/x:1", "--insecure",
                 env=env, check=False)
        assert p.returncode == 1, p.stderr
        assert f"registry 127.0.0.1:{srv.port}" in p.stderr and needle in p.stderr, p.stderr
        assert p.stdout == ""
        assert list(scratch.iterdir()) == []
        # With -o too: a failed push leaves no layout behind either.
        p = pack(pack_bin, repo / "sample-model", "-o", f"oci:{out}", "--push",
                 f"127.0.0.1:{srv.port}/m/x:1", "--insecure", env=env, check=False)
        assert p.returncode == 1 and needle in p.stderr, p.stderr
        assert not out.exists()
    finally:
        srv.close()


def listing(d: Path) -> dict:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_failed_push_leaves_an_existing_layout_as_it_was(pack_bin, repo, tmp_path):
    srv = _BadRegistry("ping-only")
    try:
        out = tmp_path / "layout"
        pack(pack_bin, repo / "sample-model" / "config.json", "-o", f"oci:{out}:keep", "-q")
        before = listing(out)
        scratch = tmp_path / "tmp"
        scratch.mkdir()
        p = pack(pack_bin, repo / "sample-model", "-o", f"oci:{out}:new", "--push",
                 f"127.0.0.1:{srv.port}/m/x:1", "--insecure", env={**os.environ, "TMPDIR": str(scratch)},
                 check=False)
        assert p.returncode == 1, p.stderr
        assert f"registry 127.0.0.1:{srv.port}" in p.stderr, p.stderr
        assert listing(out) == before, "index.json, blobs: all as before; no temp files"
        assert list(scratch.iterdir()) == []
    finally:
        srv.close()


def test_base_appends_to_every_platform(pack_bin, repo, pushed_base, podman_env, images, tmp_path):
    """--base on an OCI layout that skopeo copied from the 4-arch base image in a registry."""
    base = tmp_path / "base"
    # pushed_base is repo:tag@digest; skopeo takes one of the two.
    name, _, digest = pushed_base.partition("@")
    src = f"{name.rsplit(':', 1)[0]}@{digest}" if digest else name
    run(["skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", f"docker://{src}",
         f"oci:{base}:base"], env=podman_env, timeout=300)
    out = tmp_path / "out"
    pack(pack_bin, repo / "sample-model", "--base", f"oci:{base}:base", "-o", f"oci:{out}:m", "-q")
    before = {d["platform"]["architecture"]: (d, m, c) for d, m, c in platform_images(base, "base")}
    after = platform_images(out, "m")
    assert sorted(d["platform"]["architecture"] for d, _, _ in after) == sorted(ARCHES)
    model_layers = None
    for d, m, c in after:
        arch = d["platform"]["architecture"]
        bd, bm, bc = before[arch]
        n = len(bm["layers"])
        assert [x["digest"] for x in m["layers"][:n]] == [x["digest"] for x in bm["layers"]]
        assert c["rootfs"]["diff_ids"][:n] == bc["rootfs"]["diff_ids"]
        assert c["architecture"] == arch and c["config"] == bc["config"]
        assert m["annotations"]["org.opencontainers.image.base.digest"] == bd["digest"]
        ours = [x["digest"] for x in m["layers"][n:]]
        assert len(ours) == 2
        model_layers = model_layers or ours
        assert ours == model_layers
        # The base's binary is still that architecture's.
        with tarfile.open(fileobj=__import__("io").BytesIO(blob(out, m["layers"][0]["digest"]))) as t:
            sh = t.extractfile("bin/sh").read(64)
        assert helpers.elf_machine(sh) == ELF_MACHINE[arch]
    name = to_storage(podman_env, images, out, "m", "amd64")
    ls = helpers.podman(podman_env, "run", "--rm", name, "ls", "-A", "/models/weights").stdout
    assert ls == "model.bin\n"


def test_sparse_file_over_8gib(pack_bin, tmp_path):
    m = tmp_path / "model"
    m.mkdir()
    size = (8 << 30) + 12345
    with open(m / "huge.bin", "wb") as f:
        f.truncate(size)
        f.seek(size - 7)
        f.write(b"THE-END")  # so the tail's position is checked, not just zeros
    (m / "config.json").write_text("{}")
    out = tmp_path / "out"
    pack(pack_bin, m, "-o", f"oci:{out}", "-q", timeout=300)
    (_, man, cfg), = [platform_images(out, "latest")[0]]
    huge = [x for x in man["layers"] if x.get("annotations", {}).get("org.opencontainers.image.title") == "huge.bin"]
    assert len(huge) == 1
    path = out / "blobs" / "sha256" / huge[0]["digest"].split(":", 1)[1]
    st = path.stat()
    assert st.st_size == huge[0]["size"] > size
    assert st.st_blocks * 512 < (64 << 20), "zeros stay holes: no real disk use"
    with tarfile.open(path) as t:  # Python's tarfile seeks over the data: nothing extracted
        members = t.getmembers()
        big = [x for x in members if x.name == "models/huge.bin"]
        assert len(big) == 1 and big[0].size == size
        assert big[0].offset_data % 4096 == 0
        f = t.extractfile(big[0])
        assert f.read(1 << 20) == bytes(1 << 20)
        f.seek(size - 7)
        assert f.read() == b"THE-END"
    assert [x.name for x in members] == ["models", "models/huge.bin"]
    # The layer digest is honest (hashlib streams the 8 GiB, mostly page-cache zeros).
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(16 << 20), b""):
            h.update(chunk)
    assert "sha256:" + h.hexdigest() == huge[0]["digest"]
    assert huge[0]["digest"] in cfg["rootfs"]["diff_ids"]


@pytest.fixture
def xfs_mount(tmp_path):
    """A loop-mounted XFS with reflink=1 (needs root); unmounted in every case."""
    img = tmp_path / "xfs.img"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(2 << 30)
    run(["mkfs.xfs", "-q", "-m", "reflink=1", img])
    run(["mount", "-o", "loop", img, mnt])
    try:
        yield mnt
    finally:
        if run(["umount", mnt], check=False, timeout=60).returncode != 0:
            run(["umount", "-l", mnt], check=False, timeout=60)


def test_reflink_on_xfs(pack_bin, xfs_mount):
    m = xfs_mount / "model"
    m.mkdir()
    size = (300 << 20) + 1234  # a tail that is not block-aligned: copied, the rest cloned
    data = os.urandom(1 << 20)
    with open(m / "weights.bin", "wb") as f:
        for _ in range(300):
            f.write(data)
        f.write(data[:1234])
    (m / "README.md").write_text("# card\n")
    out = xfs_mount / "out"
    used0 = shutil.disk_usage(xfs_mount).used
    p = pack(pack_bin, m, "-o", f"oci:{out}")
    reflinked = int(re.search(r"(\d+) reflinked", p.stderr).group(1))
    assert reflinked == (size // 4096) * 4096, p.stderr
    grew = shutil.disk_usage(xfs_mount).used - used0
    assert grew < (32 << 20), f"the layer shares the model's blocks (disk use grew {grew} bytes)"
    _, man, _ = platform_images(out, "latest")[0]
    layer = [x for x in man["layers"] if x.get("annotations", {}).get("org.opencontainers.image.title") == "weights.bin"][0]
    path = out / "blobs" / "sha256" / layer["digest"].split(":", 1)[1]
    assert "sha256:" + helpers.sha256_file(path) == layer["digest"]
    with tarfile.open(path) as t:
        member = t.getmember("models/weights.bin")
        got = hashlib.sha256(t.extractfile(member).read()).hexdigest()
    assert got == helpers.sha256_file(m / "weights.bin")
    # The same model on an ordinary filesystem gives the same digests (alignment is fixed).
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        digest_copy = pack(pack_bin, m, "-o", f"oci:{d}/o", "-q").stdout.strip()
    assert digest_copy == p.stdout.strip()


class _CountingProxy:
    """A TCP pass-through to a real registry that records how many connections were open at
    once; each new connection waits a little before it is forwarded, so uploads that run
    side by side overlap for sure."""

    def __init__(self, upstream: str):
        self.upstream = upstream.split(":")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _pipe(self, a, b):
        try:
            while data := a.recv(1 << 16):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _conn(self, conn):
        with self.lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
        try:
            threading.Event().wait(0.2)
            up = socket.create_connection((self.upstream[0], int(self.upstream[1])), timeout=60)
            t = threading.Thread(target=self._pipe, args=(up, conn), daemon=True)
            t.start()
            self._pipe(conn, up)
            t.join(timeout=60)
            up.close()
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop_flag.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def close(self):
        self.stop_flag.set()
        self.thread.join(timeout=5)
        self.sock.close()


def test_push_uploads_blobs_side_by_side(pack_bin, repo, registry, podman_env, tmp_path):
    """--push sends several blobs at once (a registry is CPU-bound per upload, see docs/pack.md),
    and every blob arrives whole: skopeo copies all four platforms back, digests checked."""
    m = big_model(tmp_path, repo)
    proxy = _CountingProxy(registry)
    try:
        ref = f"127.0.0.1:{proxy.port}/pack/side-by-side:v1"
        digest = pack(pack_bin, m, "--push", ref, "--insecure", "-q", "-j", "4").stdout.strip()
        assert proxy.peak >= 2, f"at most {proxy.peak} connection(s) open at once"
    finally:
        proxy.close()
    direct = f"docker://{registry}/pack/side-by-side:v1"
    raw = run(["skopeo", "inspect", "--tls-verify=false", "--raw", direct], env=podman_env).stdout
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
    run(["skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", direct,
         f"oci:{tmp_path / 'back'}:v1"], env=podman_env, timeout=300)
    assert len(platform_images(tmp_path / "back", "v1")) == len(ARCHES)
