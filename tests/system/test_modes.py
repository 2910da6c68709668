"""KServe's OCI modes other than the modelcar sidecar, with the real components.

- fetch (`oci+fetch://`): KServe's own storage initializer (PyPI kserve-storage, the code
  of the storage-initializer init container) pulls the multi-arch sample modelcar from a
  registry on 127.0.0.1 and must write exactly sample-model/, picking the host's platform
  from the manifest list.
- native (`oci+native://`): the image mounted as a volume (what a Kubernetes ImageVolume
  with subPath "models" gives the server): `podman run --mount type=image` and
  `podman image mount` must show exactly sample-model/ under /models, read-only.
The modelcar mode itself is covered by the pod tests (tests/system/test_pod*.py).
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from helpers import ARCHES, host_arch, parse_serving_output, podman, sample_model_hashes, sha256_tree

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-model"
GOARCH = host_arch()

# Runs the storage initializer's download in a separate interpreter, as the init container
# does, and records which manifests it asked the registry for (observation only).
FETCH = r"""
import json, sys
import oras.client
from kserve_storage import Storage

asked = []
real_get_manifest = oras.client.OrasClient.get_manifest
def get_manifest(self, container, *args, **kwargs):
    asked.append(str(container))
    return real_get_manifest(self, container, *args, **kwargs)
oras.client.OrasClient.get_manifest = get_manifest

out = Storage.download(sys.argv[1], sys.argv[2])
print(json.dumps({"out": out, "asked": asked}))
"""


def tree(root):
    """Every entry under root: {'dir/': 'dir', 'file': 'file'}; symlinks and others named as such."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        mode = p.lstat().st_mode
        out[rel] = "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else f"other:{oct(mode)}"
    return out


def fetch(uri, out_dir, extra_env=None):
    env = dict(os.environ, KSERVE_OCI_INSECURE_REGISTRY="true")
    # By default no docker config: an anonymous pull, as for a public image.
    env["KSERVE_OCI_DOCKER_CONFIG"] = str(Path(out_dir).parent / "no-such-config.json")
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", FETCH, uri, str(out_dir)], capture_output=True, text=True, timeout=300, env=env
    )


def raw_index(podman_env, ref):
    res = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True, text=True, timeout=60, env=podman_env,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


# --- fetch mode -------------------------------------------------------------


def test_fetch_mode_gets_the_model_byte_for_byte(pushed_modelcar, podman_env, tmp_path):
    index = raw_index(podman_env, pushed_modelcar)
    platforms = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"] if "platform" in m}
    assert set(ARCHES) <= set(platforms), index
    out = tmp_path / "mnt-models"
    res = fetch(f"oci://{pushed_modelcar}", out)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert Path(result["out"]) == out
    # It resolved the manifest list to this machine's platform, by digest.
    assert result["asked"][0] == pushed_modelcar
    assert result["asked"][-1].endswith("@" + platforms[GOARCH]), (result["asked"], platforms)
    # Exactly sample-model/: same entries (nothing more, nothing less), same bytes.
    assert tree(out) == tree(SAMPLE)
    assert sha256_tree(out) == sample_model_hashes()
    assert len(sha256_tree(out)) == 5


def test_fetch_mode_reports_a_missing_image(registry, tmp_path):
    res = fetch(f"oci://{registry}/modelcar-sample:no-such-tag", tmp_path / "out")
    assert res.returncode != 0
    assert "no-such-tag" in res.stderr or "404" in res.stderr or "not found" in res.stderr.lower(), res.stderr[-2000:]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- native mode (ImageVolume) ---------------------------------------------------


def test_native_mode_image_volume_gives_the_model(sample_modelcar, serving_image, podman_env):
    # Like KServe's ImageVolume: the modelcar image mounted read-only into the serving
    # container; the server reads <mount>/models (KServe mounts subPath "models").
    res = podman(
        podman_env, "run", "--rm", "--network", "none",
        "--mount", f"type=image,source={sample_modelcar},destination=/mnt/image",
        "-e", "MODEL_PATH=/mnt/image/models", "-e", "WAIT_STEPS=1",
        serving_image, "/bin/busybox", "sh", "/serve.sh", "--once",
        timeout=120, check=False,
    )
    out = parse_serving_output(res.stdout)
    assert res.returncode == 0 and out["ok"], res.stdout + res.stderr
    assert out["link"] == "none"  # a real directory, no /proc link involved
    assert out["files"] == sample_model_hashes()


def test_native_mode_image_volume_is_read_only(sample_modelcar, serving_image, podman_env):
    res = podman(
        podman_env, "run", "--rm", "--network", "none",
        "--mount", f"type=image,source={sample_modelcar},destination=/mnt/image",
        serving_image, "/bin/busybox", "sh", "-c",
        "/bin/busybox touch /mnt/image/models/new 2>&1; echo status=$?",
        timeout=120, check=False,
    )
    assert "Read-only file system" in res.stdout, res.stdout + res.stderr
    assert "status=1" in res.stdout


def test_native_mode_image_tree_is_exactly_the_model(sample_modelcar, podman_env):
    mnt = podman(podman_env, "image", "mount", sample_modelcar, timeout=60).stdout.strip()
    try:
        models = Path(mnt) / "models"
        assert tree(models) == tree(SAMPLE)
        assert sha256_tree(models) == sample_model_hashes()
        # World-readable: the server may run as any UID (the UID rule is the modelcar's, not this).
        for p in models.rglob("*"):
            assert p.lstat().st_mode & 0o004, f"{p} is not world-readable"
    finally:
        podman(podman_env, "image", "unmount", sample_modelcar, timeout=60, check=False)


def test_native_mode_subpath_models_at_mnt_models(sample_modelcar, serving_image, podman_env):
    # KServe's exact native layout: the image's /models (subPath "models") read-only at
    # /mnt/models, the server's default model path. podman 4.3 has no subpath for
    # type=image mounts, so mount the image on the host and bind its models/ folder.
    mnt = podman(podman_env, "image", "mount", sample_modelcar, timeout=60).stdout.strip()
    try:
        res = podman(
            podman_env, "run", "--rm", "--network", "none",
            "-v", f"{mnt}/models:/mnt/models:ro", "-e", "WAIT_STEPS=1",
            serving_image, "/bin/busybox", "sh", "/serve.sh", "--once",
            timeout=120, check=False,
        )
    finally:
        podman(podman_env, "image", "unmount", sample_modelcar, timeout=60, check=False)
    out = parse_serving_output(res.stdout)
    assert res.returncode == 0 and out["ok"], res.stdout + res.stderr
    assert out["files"] == sample_model_hashes()
