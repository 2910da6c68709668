"""The unpack image (Containerfile-unpack) as an init container, for real.

- A ClusterStorageContainer-shaped pod (`podman kube play`): the init container
  `storage-initializer` gets [SRC_URI, /mnt/models] as KServe passes them, runs as UID
  1000740000 on a read-only root with no capabilities, and unpacks the modelcar from the local
  registry into the emptyDir; the server then reads every file, compared byte for byte (sha256)
  with sample-model/.
- kit-init's contract in the same pod shape: no args, MODELKIT_REF, UNPACK_PATH, COSIGN_KEY.
- Signatures: missing, foreign and bad ones stop the init container before anything is written.
- A registry killed in the middle of a layer, then a rerun once it is back.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from helpers import (
    REPO,
    REPORT,
    KUBE_PLAY_FLAKE,
    Registry,
    auth_config,
    free_port,
    parse_serving_output,
    podman,
    podman_form,
    run,
    sample_model_hashes,
    sha256_tree,
    unique,
)

RANDOM_UID = 1000740000


@pytest.fixture(scope="module")
def unpack_bin() -> Path:
    """The static amd64 modelcar-pack of the image (scripts/build-unpack.sh: cargo rebuilds
    only when the sources changed)."""
    b = REPO / "dist-unpack" / "amd64" / "rootfs" / "modelcar-pack"
    run([REPO / "scripts" / "build-unpack.sh", "--arch", "amd64"], timeout=3600)
    assert b.is_file()
    return b


@pytest.fixture(scope="module")
def unpack_image(unpack_bin, podman_env, images) -> str:
    name = images.image(f"localhost/{unique('mcb-unpack')}:test")
    run([REPO / "scripts" / "build-image.sh", "--variant", "unpack", "--no-build",
         "--platform", "linux/amd64", "--tag", name], env=podman_env, timeout=600)
    return name


@pytest.fixture(scope="module")
def pushed_sample(unpack_bin, registry) -> str:
    """registry/unpack-sample:v1, the 4-arch sample modelcar pushed by modelcar-pack."""
    ref = f"{registry}/{unique('unpack-sample')}:v1"
    run([unpack_bin, REPO / "sample-model", "--push", ref, "--insecure", "-q"], timeout=300)
    return ref


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for n in ("good", "other"):
        k, p = d / f"{n}.key", d / f"{n}.pub"
        run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", k])
        run(["openssl", "ec", "-in", k, "-pubout", "-out", p])
        os.chmod(p, 0o644)
        out[n] = (k, p)
    os.chmod(d, 0o755)
    return out


def storage_pod(name, unpack_image, serving_image, init: dict, mount: str, extra_volumes=()) -> dict:
    """The Pod KServe makes for a ClusterStorageContainer (storage-initializer init container,
    emptyDir `kserve-provision-location` at the model path, read-only in the server), with the
    init container's security context of OpenShift's restricted SCC and a random UID.
    hostNetwork only because the test registry listens on the host's 127.0.0.1."""
    init_c = {
        "name": "storage-initializer",
        "image": unpack_image,
        "securityContext": {
            "runAsUser": RANDOM_UID,
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "kserve-provision-location", "mountPath": mount}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    init_c.update({k: v for k, v in init.items() if k != "extraMounts"})
    init_c["volumeMounts"] += init.get("extraMounts", [])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "hostNetwork": True,
            "restartPolicy": "Never",
            "initContainers": [init_c],
            "containers": [{
                "name": "kserve-container",
                "image": serving_image,
                "command": ["/bin/busybox", "sh", "/serve.sh", "--once"],
                "env": [{"name": "MODEL_PATH", "value": mount}, {"name": "WAIT_STEPS", "value": "20"}],
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": mount,
                                  "readOnly": True}],
            }],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}, *extra_volumes],
        },
    }
    return podman_form(pod)


def play(podman_env, pod: dict, timeout=120):
    """kube play, wait for the server to exit, return (init state, server log)."""
    d = Path(tempfile.mkdtemp(prefix="mcb-unpack-pod-"))
    y = d / "pod.yaml"
    y.write_text(yaml.safe_dump(pod, sort_keys=False))
    name = pod["metadata"]["name"]
    try:
        for attempt in range(3):
            p = podman(podman_env, "kube", "play", y, timeout=timeout, check=False)
            if p.returncode != 0 and KUBE_PLAY_FLAKE in p.stderr and attempt < 2:
                podman(podman_env, "kube", "down", y, timeout=60, check=False)
                continue
            break
        played = p
        server = f"{name}-kserve-container"
        deadline = time.monotonic() + timeout
        log = ""
        while time.monotonic() < deadline:
            st = podman(podman_env, "container", "inspect", server, check=False, timeout=30)
            if st.returncode != 0:
                break  # never created: the init container failed
            state = json.loads(st.stdout)[0]["State"]
            # A failed play (an init container failed) leaves the server created, never to
            # start: its log, empty unless it ran, is read at once instead of at the deadline.
            if (not state["Running"] and state["Status"] in ("exited", "stopped")) or (
                    p.returncode != 0 and state["Status"] == "created"):
                log = podman(podman_env, "logs", server, timeout=30).stdout
                break
            time.sleep(0.3)
        init_log = podman(podman_env, "logs", f"{name}-storage-initializer", check=False, timeout=30)
        return played, log, init_log.stdout + init_log.stderr
    finally:
        podman(podman_env, "kube", "down", y, timeout=120, check=False)
        podman(podman_env, "pod", "rm", "-f", "-t", "0", name, timeout=60, check=False)
        for v in pod["spec"]["volumes"]:
            if "emptyDir" in v:
                podman(podman_env, "volume", "rm", "-f", v["name"], timeout=60, check=False)
        shutil.rmtree(d, ignore_errors=True)


KITFILE = """manifestVersion: "1.0.0"
package:
  name: tiny
model:
  name: tiny-model
  path: ./weights
datasets:
  - name: train
    path: data/
docs:
  - path: README.md
"""


@pytest.fixture(scope="module")
def kit_context(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kit-ctx")
    (d / "weights").mkdir()
    (d / "weights" / "model.safetensors").write_bytes(os.urandom(3 << 20))
    (d / "weights" / "config.json").write_text('{"x": 1}\n')
    (d / "data").mkdir()
    (d / "data" / "train.csv").write_text("a,b\n1,2\n")
    (d / "README.md").write_text("# tiny\n")
    (d / "Kitfile").write_text(KITFILE)
    return d


@pytest.mark.parametrize("fmt", ["modelcar", "modelkit", "modelpack"])
def test_cluster_storage_container_pod(podman_env, unpack_image, serving_image, pushed_sample,
                                       unpack_bin, kit_context, registry, fmt):
    """KServe's storage-initializer contract: args [SRC_URI, /mnt/models]; a modelcar's
    /models, or a ModelKit's / ModelPack's files plus the Kitfile, as kit unpack writes them."""
    if fmt == "modelcar":
        uri, want = f"oci://{pushed_sample}", sample_model_hashes()
    else:
        ref = f"{registry}/{unique('unpack-' + fmt)}:v1"
        lay = kit_context.parent / f"{fmt}-layout"
        run([unpack_bin, kit_context, "--format", fmt, "-o", f"oci:{lay}:v1", "-q"], timeout=300)
        run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{lay}:v1", f"docker://{ref}"],
            timeout=300)
        uri = f"kit://{ref}"
        want = {k: v for k, v in sha256_tree(kit_context).items() if k != "./Kitfile"}
    pod = storage_pod(
        unique("mcb-csc"), unpack_image, serving_image,
        {"args": [uri, "/mnt/models"],
         "env": [{"name": "KSERVE_OCI_INSECURE_REGISTRY", "value": "true"}]},
        "/mnt/models",
    )
    played, log, _ = play(podman_env, pod)
    assert played.returncode == 0, played.stderr
    res = parse_serving_output(log)
    assert res["fail"] is None and res["ok"], log
    if fmt != "modelcar":
        assert "./Kitfile" in res["files"], log
        del res["files"]["./Kitfile"]
    assert res["files"] == want


def test_kit_init_contract_with_signature(podman_env, unpack_image, serving_image, pushed_sample,
                                           unpack_bin, keys, tmp_path):
    """kit-init's environment (no args), the signature checked with COSIGN_KEY from a mounted
    file; then a foreign key and a missing signature, where the server never starts."""
    # A modelcar of its own (another title, another digest): signatures go by digest.
    src = pushed_sample.replace(":v1", ":signed")
    run([unpack_bin, REPO / "sample-model", "--title", "signed", "--push", src, "--insecure", "-q"],
        timeout=300)
    good_key, good_pub = keys["good"]
    run([unpack_bin, "sign", "--insecure", "--key", good_key, src], timeout=60)
    keydir = {"name": "cosign", "hostPath": {"path": str(good_pub.parent), "type": "Directory"}}
    mount = "/home/user/modelkit"

    def kit_pod(pub: Path, ref: str):
        return storage_pod(
            unique("mcb-kit"), unpack_image, serving_image,
            {"env": [{"name": "MODELKIT_REF", "value": f"kit://{ref}"},
                     {"name": "UNPACK_PATH", "value": mount},
                     {"name": "COSIGN_KEY", "value": f"/keys/{pub.name}"},
                     {"name": "KIT_UNPACK_FLAGS", "value": "--plain-http"}],
             "extraMounts": [{"name": "cosign", "mountPath": "/keys", "readOnly": True}]},
            mount, extra_volumes=[keydir],
        )

    played, log, _ = play(podman_env, kit_pod(good_pub, src))
    assert played.returncode == 0, played.stderr
    res = parse_serving_output(log)
    assert res["ok"] and res["files"] == sample_model_hashes(), log

    for pub, ref, want in (
        (keys["other"][1], src, "signature does not match the public key"),
        (good_pub, pushed_sample, "no cosign signature for sha256:"),
    ):
        played, log, init_log = play(podman_env, kit_pod(pub, ref))
        assert log == "", f"the server ran although the init container should fail: {log}"
        assert want in played.stderr + init_log, played.stderr + init_log


def test_read_only_root_random_uid_and_refusals(podman_env, unpack_image, pushed_sample, keys, tmp_path):
    """podman run as UID 1000740000 with a read-only root; DEST is a mount point (rename onto
    it is impossible), so the staging folder goes inside it and is gone afterwards."""
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    base = ["run", "--rm", "--network", "host", "--read-only", "--user", f"{RANDOM_UID}:0",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{out}:/mnt/models", "-v", f"{keys['good'][1].parent}:/keys:ro",
            "-e", "KSERVE_OCI_INSECURE_REGISTRY=true"]
    p = podman(podman_env, *base, unpack_image, f"oci://{pushed_sample}", "/mnt/models",
               timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert sha256_tree(out) == sample_model_hashes()
    last = p.stderr.strip().splitlines()[-1]
    assert "unpacked 8866 bytes, 5 files to /mnt/models in" in last, p.stderr
    REPORT.append(f"unpack image, UID {RANDOM_UID}, read-only root: {last}")
    # Unsigned image with a key required: refused, the finished model from before untouched.
    before = sha256_tree(out)
    p = podman(podman_env, *base, "-e", "COSIGN_KEY=/keys/good.pub", unpack_image,
               f"oci+fetch://{pushed_sample}", "/mnt/models", timeout=120, check=False)
    assert p.returncode == 1 and "no cosign signature" in p.stderr, p.stderr
    assert sha256_tree(out) == before
    assert sorted(os.listdir(out)) == sorted(os.listdir(REPO / "sample-model"))


# ---------------------------------------------------------------------------------------------
# A registry killed mid-download.


class _Proxy:
    """TCP proxy to the registry at RATE bytes/s (so a layer takes seconds); counts bytes."""

    def __init__(self, upstream_port: int, rate: int):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.up = upstream_port
        self.rate = rate
        self.sent = 0
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.up), timeout=5)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def _pipe(self, a, b, throttle):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
                if throttle:
                    self.sent += len(data)
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stop = True
        self.sock.close()


def test_registry_killed_mid_download_then_rerun(unpack_bin, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(48 << 20))
    (model / "config.json").write_text('{"a": 1}\n')
    port = free_port()
    data = tmp_path / "registry"
    reg = Registry(data=data, port=port)
    proxy = None
    try:
        ref = f"127.0.0.1:{port}/killed:v1"
        run([unpack_bin, model, "--push", ref, "--insecure", "-q"], timeout=300)
        proxy = _Proxy(port, rate=8 << 20)
        dest = tmp_path / "dest"
        dest.mkdir()
        (dest / "previous").write_text("kept\n")
        p = subprocess.Popen([unpack_bin, "unpack", "--insecure",
                              f"127.0.0.1:{proxy.port}/killed:v1", dest],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while proxy.sent < (12 << 20) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert p.poll() is None, "unpack finished before the registry was killed"
        reg.kill()
        _, err = p.communicate(timeout=120)
        assert p.returncode == 1, err
        assert "panicked" not in err
        # DEST as it was, nothing staged beside it.
        assert sorted(os.listdir(dest)) == ["previous"]
        assert sorted(os.listdir(tmp_path)) == sorted(["model", "registry", "dest"])
        reg.stop()
        reg = Registry(data=data, port=port)
        r = run([unpack_bin, "unpack", "--insecure", ref, dest],
                timeout=300)
        assert sha256_tree(dest) == sha256_tree(model)
        REPORT.append(f"unpack after a killed registry: first run failed with {err.strip().splitlines()[-1]!r}; "
                      f"rerun: {r.stderr.strip().splitlines()[-1]}")
    finally:
        if proxy:
            proxy.close()
        reg.stop()


def test_pull_secret_as_kserve_mounts_it(unpack_bin, auth_registry, tmp_path):
    """KServe's oci+fetch hands the pod's imagePullSecret over as a docker config.json at
    KSERVE_OCI_DOCKER_CONFIG; DOCKER_CONFIG and REGISTRY_AUTH_FILE work too; without any,
    one clear line."""
    host, user, password = auth_registry
    cfg = auth_config(host, user, password)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "config.json").write_text(json.dumps(cfg))
    ref = f"{host}/{unique('private')}:v1"
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "secret" / "config.json")}
    run([unpack_bin, REPO / "sample-model", "--push", ref, "--insecure", "-q"], env=env, timeout=300)
    clean = {k: v for k, v in os.environ.items()
             if k not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "KSERVE_OCI_DOCKER_CONFIG")}
    clean["HOME"] = str(tmp_path / "home")
    for i, extra in enumerate((
        {"KSERVE_OCI_DOCKER_CONFIG": str(tmp_path / "secret" / "config.json")},
        {"DOCKER_CONFIG": str(tmp_path / "secret")},
        {"REGISTRY_AUTH_FILE": str(tmp_path / "secret" / "config.json")},
    )):
        dest = tmp_path / f"out{i}"
        run([unpack_bin, "unpack", "-q", f"oci://{ref}", dest],
            env={**clean, **extra, "KSERVE_OCI_INSECURE_REGISTRY": "true"}, timeout=120)
        assert sha256_tree(dest) == sample_model_hashes(), extra
    p = subprocess.run([unpack_bin, "unpack", "--insecure", ref, tmp_path / "none"], env=clean,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert f"registry {host} wants credentials, and none were found for it in" in p.stderr, p.stderr
    assert not (tmp_path / "none").exists()
