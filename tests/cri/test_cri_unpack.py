"""The unpack image (Containerfile-unpack) as KServe's storage initializer and as kit-init, on
containerd over CRI.

containerd pulls the unpack image from the loopback registry itself (PullImage); the pod is
the one KServe makes for a ClusterStorageContainer (unpack_pod.py): `storage-initializer` run
to completion, as OpenShift's restricted-v2 runs it (UID 1000740000, fsGroup, seccomp
RuntimeDefault, no capabilities, no privilege escalation) on a read-only root, then the server,
which reads every file of the emptyDir through ExecSync; the sha256 of each is compared with
the source model. Refusals: the init container's exit code from ContainerStatus, the server
never created, the emptyDir left empty.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

import harness
import helpers
import ociimage
from cri_session import REPORT, SESSION, ensure_unpack_rootfs
from kserve_pod import proc_status, read_model
from kubelet import KubeletPod
from unpack_pod import RANDOM_UID, VOLUME, storage_pod, tree, unpack_image

INSECURE = {"KSERVE_OCI_INSECURE_REGISTRY": "true"}
SUMMARY = re.compile(r"unpacked (\d+) bytes, (\d+) files to (\S+) in (\S+)")

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
def unpack_ref(cri_registry, cri_dist, tmp_path_factory) -> str:
    """The amd64 unpack image in the loopback registry, written from dist-unpack/."""
    layout = tmp_path_factory.mktemp("unpack-image") / "layout"
    ociimage.write_layout(unpack_image(ensure_unpack_rootfs()), layout)
    ref = f"{cri_registry}/modelcar-unpack:cri-{SESSION}"
    harness.oci_push(layout, ref)
    return ref


@pytest.fixture(scope="module")
def kit_context(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kit-ctx")
    (d / "weights").mkdir()
    (d / "weights" / "model.safetensors").write_bytes(os.urandom(256 << 10))
    (d / "weights" / "config.json").write_text('{"x": 1}\n')
    (d / "weights" / "tokenizer").mkdir()
    (d / "weights" / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    (d / "data").mkdir()
    (d / "data" / "train.csv").write_text("a,b\n1,2\n")
    (d / "README.md").write_text("# tiny\n")
    (d / "Kitfile").write_text(KITFILE)
    return d


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """{name: (private key, public key)}: P-256 pairs from openssl; the public keys in a
    folder any UID can read (it is mounted into the init container, as a Secret would be)."""
    d = tmp_path_factory.mktemp("keys")
    os.chmod(d, 0o755)
    out = {}
    for n in ("good", "other"):
        k, p = d / f"{n}.key", d / f"{n}.pub"
        helpers.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", k])
        helpers.run(["openssl", "ec", "-in", k, "-pubout", "-out", p])
        os.chmod(p, 0o644)
        out[n] = (k, p)
    return out


@pytest.fixture(scope="module")
def sources(cri_registry, cri_images, cri_pack_bin, kit_context, keys, tmp_path_factory) -> dict:
    """{format: (SRC_URI, sha256 of the source files)}, plus 'signed' and 'unsigned': the
    same ModelKit in two repositories, signed with the good key in the first only."""
    work = tmp_path_factory.mktemp("kit-layouts")
    kit_files = {k: v for k, v in helpers.sha256_tree(kit_context).items() if k != "./Kitfile"}
    out = {"modelcar": (f"oci://{cri_images.modelcar}", helpers.sample_model_hashes())}
    for fmt in ("modelkit", "modelpack"):
        layout = work / fmt
        helpers.run([cri_pack_bin, kit_context, "--format", fmt, "-o", f"oci:{layout}:v1", "-q"],
                    timeout=300)
        ref = f"{cri_registry}/unpack-{fmt}:cri-{SESSION}"
        harness.oci_push(layout, ref, "v1")
        out[fmt] = (f"kit://{ref}", kit_files)
    signed = f"{cri_registry}/unpack-signed:cri-{SESSION}"
    unsigned = f"{cri_registry}/unpack-unsigned:cri-{SESSION}"
    harness.oci_push(work / "modelkit", signed, "v1")
    harness.oci_push(work / "modelkit", unsigned, "v1")
    helpers.run([cri_pack_bin, "sign", "--insecure", "--key", keys["good"][0], signed], timeout=60)
    out["signed"], out["unsigned"] = f"kit://{signed}", f"kit://{unsigned}"
    return out


def _run(containerd, manifest: dict, case: str) -> dict:
    """Runs the pod; returns what the tests assert on: init ContainerStatus and log, its OCI
    spec as containerd made it, the server's read and /proc status (if it started), the tree
    the init container left in the emptyDir, the containers created."""
    pod = KubeletPod(containerd, manifest)
    with pod:
        init = pod.result.init_status["storage-initializer"]
        init_id = pod.current("storage-initializer").id
        spec = json.loads(containerd.ctr("containers", "info", init_id).stdout)["Spec"]
        got = {"init": init, "init_log": pod.logs("storage-initializer"), "spec": spec,
               "created": [r.name for r in pod.runs], "pulls": dict(pod.result.pulls)}
        if pod.result.failed_init is None:
            got["read"] = read_model(pod)
            got["server"] = proc_status(pod, "kserve-container")
        got["tree"] = tree(pod.volumes[VOLUME])
        got["files"] = helpers.sha256_tree(pod.volumes[VOLUME])
        got["bytes"] = sum(p.stat().st_size for p in pod.volumes[VOLUME].rglob("*")
                           if p.is_file() and not p.is_symlink())
    took = init.finished_at - init.started_at
    last = (got["init_log"].strip().splitlines() or ["(no log)"])[-1]
    REPORT.append(f"unpack image, {case:<34} init exit {init.exit_code} in {took:.2f}s: {last}")
    return got


def _assert_restricted(got: dict):
    """The init container's OCI spec (containerd's own, from the CRI request) and the
    server's process: restricted-v2 as asked for."""
    spec = got["spec"]
    proc = spec["process"]
    assert proc["user"]["uid"] == RANDOM_UID, proc["user"]
    assert RANDOM_UID in proc["user"].get("additionalGids", []), proc["user"]
    assert spec["root"].get("readonly") is True, spec["root"]
    assert proc.get("noNewPrivileges") is True, proc
    assert all(not proc["capabilities"].get(k) for k in ("bounding", "effective", "permitted")), \
        proc["capabilities"]
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO", "not RuntimeDefault"
    server = got["server"]
    assert server["Uid"].split()[0] == str(RANDOM_UID), server
    assert str(RANDOM_UID) in server["Groups"].split(), server
    assert server["Seccomp"] == "2" and server["NoNewPrivs"] == "1", server
    assert int(server["CapPrm"], 16) == 0 and int(server["CapBnd"], 16) == 0, server


def _assert_unpacked(got: dict, want: dict, dest: str, kitfile: bool):
    """Init exit 0 with its summary line; the emptyDir holds exactly the model (plus the
    Kitfile for a ModelKit or ModelPack), every entry owned by the init container's UID,
    nothing staged left; the server read the same bytes."""
    init = got["init"]
    assert init.exit_code == 0 and init.reason == "Completed", (init, got["init_log"])
    files = dict(got["files"])
    if kitfile:
        assert "./Kitfile" in files, got["tree"]
        del files["./Kitfile"]
    assert files == want, got["tree"]
    # Every folder leading to a file, and nothing else (no staging folder left behind).
    dirs = {"./" + "/".join(p[2:].split("/")[:i]) for p in got["files"]
            for i in range(1, p[2:].count("/") + 1)}
    assert set(got["tree"]) == set(got["files"]) | dirs, got["tree"]
    assert all(got["tree"][d][0] == "dir" for d in dirs), got["tree"]
    assert {uid for _, uid, _ in got["tree"].values()} == {RANDOM_UID}, got["tree"]
    m = SUMMARY.search(got["init_log"].strip().splitlines()[-1])
    assert m, got["init_log"]
    assert int(m.group(2)) == len(got["files"]) and m.group(3) == dest, m.group(0)
    assert int(m.group(1)) == got["bytes"], m.group(0)
    read = got["read"]
    assert read["ok"], read["log"]
    assert read["files"] == got["files"], read["log"]


def _assert_refused(got: dict, message: str):
    """Exit 1 (ContainerStatus: Error) with one line naming the problem, no panic; the server
    never created; nothing in the emptyDir."""
    init = got["init"]
    assert init.exit_code == 1 and init.reason == "Error", (init, got["init_log"])
    assert message in got["init_log"], got["init_log"]
    assert "panicked" not in got["init_log"], got["init_log"]
    assert got["created"] == ["storage-initializer"], got["created"]
    assert got["tree"] == {}, got["tree"]


@pytest.mark.parametrize("fmt", ["modelcar", "modelkit", "modelpack"])
def test_cluster_storage_container(containerd, cri_images, unpack_ref, sources, fmt):
    """KServe's ClusterStorageContainer contract: args [SRC_URI, /mnt/models], restricted-v2."""
    uri, want = sources[fmt]
    got = _run(containerd, storage_pod(unpack_ref, cri_images.serving, args=[uri, "/mnt/models"],
                                       env=INSECURE), f"{fmt}, args [{uri.split(':')[0]}://..]")
    _assert_unpacked(got, want, "/mnt/models", kitfile=fmt != "modelcar")
    _assert_restricted(got)
    if unpack_ref in got["pulls"]:
        REPORT.append(f"  PullImage of the unpack image (amd64): {got['pulls'][unpack_ref]:.2f}s")


def test_image_user_under_run_as_non_root(containerd, cri_images, unpack_ref, sources):
    """Restricted without a runAsUser for the init container (plain Kubernetes, no OpenShift
    range): the kubelet takes the image's USER (65532) and its runAsNonRoot check passes;
    containerd gives the process group 0 (the image has no /etc/passwd, and a CRI user ID
    carries no group), which still writes into the kubelet's 0777 emptyDir."""
    manifest = storage_pod(unpack_ref, cri_images.serving,
                           args=[sources["modelcar"][0], "/mnt/models"], env=INSECURE)
    init = manifest["spec"]["initContainers"][0]
    del init["securityContext"]["runAsUser"]
    got = _run(containerd, manifest, "image's USER, runAsNonRoot")
    user = got["spec"]["process"]["user"]
    assert (user["uid"], user["gid"]) == (65532, 0), user
    assert got["init"].exit_code == 0, got["init_log"]
    assert got["files"] == helpers.sample_model_hashes(), got["tree"]
    assert {uid for _, uid, _ in got["tree"].values()} == {65532}, got["tree"]
    assert got["read"]["ok"] and got["read"]["files"] == got["files"], got["read"]["log"]


def _kit_init_pod(unpack_ref, serving, keys_dir: Path, ref: str, key: str, **kw) -> dict:
    """kit-init's contract: no args, only the environment; the public key mounted read-only
    from a folder (a Secret in a cluster)."""
    return storage_pod(
        unpack_ref, serving, mount="/home/user/modelkit",
        env={"MODELKIT_REF": ref, "UNPACK_PATH": "/home/user/modelkit",
             "UNPACK_FILTER": "model,docs", "COSIGN_KEY": f"/var/run/cosign/{key}",
             "KIT_UNPACK_FLAGS": "--plain-http"},
        volumes=[{"name": "cosign", "hostPath": {"path": str(keys_dir), "type": "Directory"}}],
        init_mounts=[{"name": "cosign", "mountPath": "/var/run/cosign", "readOnly": True}], **kw)


def test_kit_init_env_filter_and_signature(containerd, cri_images, unpack_ref, sources, keys,
                                           kit_context):
    """MODELKIT_REF, UNPACK_PATH, UNPACK_FILTER=model,docs and COSIGN_KEY: the signature made
    by `modelcar-pack sign --key` checks out, and only the model and the docs are written
    (no datasets, no Kitfile)."""
    keys_dir = keys["good"][1].parent
    got = _run(containerd, _kit_init_pod(unpack_ref, cri_images.serving, keys_dir,
                                         sources["signed"], "good.pub"),
               "kit-init env + COSIGN_KEY")
    want = {k: v for k, v in helpers.sha256_tree(kit_context).items()
            if k.startswith("./weights/") or k == "./README.md"}
    _assert_unpacked(got, want, "/home/user/modelkit", kitfile=False)
    _assert_restricted(got)
    _, digest = harness.registry_manifest(sources["signed"].removeprefix("kit://"),
                                          ociimage.MEDIA_MANIFEST)
    assert f"signature of {digest} verified" in got["init_log"], got["init_log"]


@pytest.mark.parametrize("case,which,key,message", [
    ("unsigned", "unsigned", "good.pub", "no cosign signature for sha256:"),
    ("foreign key", "signed", "other.pub", "signature does not match the public key"),
])
def test_kit_init_signature_refused(containerd, cri_images, unpack_ref, sources, keys,
                                    case, which, key, message):
    """A missing signature, or one by another key: the init container exits 1 with one line
    naming the problem, the server is never created, the emptyDir stays empty."""
    keys_dir = keys["good"][1].parent
    got = _run(containerd, _kit_init_pod(unpack_ref, cri_images.serving, keys_dir,
                                         sources[which], key), f"kit-init, {case}")
    _assert_refused(got, message)


@pytest.fixture(scope="module")
def private_modelcar(cri_pack_bin, tmp_path_factory):
    """The sample modelcar in a registry with htpasswd auth, and the pull secret's
    .dockerconfigjson as a folder holding config.json (what KServe mounts)."""
    user, password = "mcb", helpers.unique("pw")
    reg = helpers.Registry(auth=(user, password))
    try:
        secret = tmp_path_factory.mktemp("oci-fetch-auth")
        cfg = {"auths": {reg.hostport: {"auth": base64.b64encode(f"{user}:{password}".encode())
                                        .decode()}}}
        (secret / "config.json").write_text(json.dumps(cfg))
        os.chmod(secret, 0o755)
        os.chmod(secret / "config.json", 0o644)
        ref = f"{reg.hostport}/private-modelcar:cri-{SESSION}"
        helpers.run([cri_pack_bin, "-q", helpers.REPO / "sample-model", "--push", ref,
                     "--insecure"],
                    env={**os.environ, "REGISTRY_AUTH_FILE": str(secret / "config.json")},
                    timeout=300)
        yield ref, secret
    finally:
        reg.stop()


@pytest.mark.parametrize("with_secret", [True, False], ids=["pull-secret", "no-secret"])
def test_pull_secret_as_kserve_mounts_it(containerd, cri_images, unpack_ref, private_modelcar,
                                         with_secret):
    """oci+fetch:// from a registry that wants credentials: KServe mounts the pod's
    imagePullSecret at /mnt/oci-fetch-auth (config.json) and sets KSERVE_OCI_DOCKER_CONFIG.
    Without it, exit 1 with one line, the server never created."""
    ref, secret = private_modelcar
    env, volumes, mounts = dict(INSECURE), [], []
    if with_secret:
        env["KSERVE_OCI_DOCKER_CONFIG"] = "/mnt/oci-fetch-auth/config.json"
        volumes = [{"name": "oci-fetch-auth",
                    "hostPath": {"path": str(secret), "type": "Directory"}}]
        mounts = [{"name": "oci-fetch-auth", "mountPath": "/mnt/oci-fetch-auth", "readOnly": True}]
    got = _run(containerd, storage_pod(unpack_ref, cri_images.serving,
                                       args=[f"oci+fetch://{ref}", "/mnt/models"], env=env,
                                       volumes=volumes, init_mounts=mounts),
               f"oci+fetch, private, {'pull secret' if with_secret else 'no secret'}")
    if with_secret:
        _assert_unpacked(got, helpers.sample_model_hashes(), "/mnt/models", kitfile=False)
    else:
        _assert_refused(got, f"registry {ref.split('/')[0]} wants credentials")
