"""ModelKits and ModelPacks: modelcar-pack writes them from a Kitfile (--format), independent
readers accept them (skopeo, the ModelPack JSON schema, PyPI's modelpack-client), and each is
converted to a modelcar, from an OCI layout and from the loopback registry, that the
KServe-shaped pod serves byte for byte. A ModelPack written by modelpack-client converts too,
and on a reflink XFS a conversion from a local layout copies no data."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import jsonschema
import pytest

import helpers
from helpers import run
from test_pack import pack, pack_bin, platform_images, to_storage, xfs_mount  # noqa: F401 (fixtures)

SESSION = uuid.uuid4().hex[:8]
KIT_LAYER = re.compile(r"^application/vnd\.kitops\.modelkit\.(\w+)\.v1\.tar(?:\+(\w+))?$")  # kit's mediaType.go

KITFILE = """\
manifestVersion: 1.0.0
package:
  name: sample
  version: 1.0.0
  description: The sample model, as a Kit project
  authors: [modelcar-base tests]
  license: Apache-2.0
model:
  name: sample
  path: weights
  format: bin
  parts:
    - name: tokenizer
      path: tokenizer/
    - name: config
      path: config.json
    - name: labels
      path: label map.txt
datasets:
  - name: eval
    path: data
docs:
  - path: README.md
"""


@pytest.fixture(scope="module")
def kit_ctx(repo, tmp_path_factory) -> Path:
    """The sample model as a Kitfile context, plus a dataset the default filter leaves out."""
    d = tmp_path_factory.mktemp("kit") / "ctx"
    shutil.copytree(repo / "sample-model", d)
    (d / "data").mkdir()
    (d / "data" / "eval.csv").write_text("x,y\n1,2\n")
    (d / "Kitfile").write_text(KITFILE)
    return d


@pytest.fixture(scope="module")
def kits(pack_bin, kit_ctx, tmp_path_factory) -> Path:  # noqa: F811
    """A layout with the ModelKit (tag kit) and the ModelPack (tag mp) of kit_ctx."""
    out = tmp_path_factory.mktemp("kits") / "layout"
    pack(pack_bin, kit_ctx, "--format", "modelkit", "-o", f"oci:{out}:kit", "-q")
    pack(pack_bin, kit_ctx, "--format", "modelpack", "-o", f"oci:{out}:mp", "-q")
    return out


def manifest_of(layout: Path, tag: str) -> dict:
    idx = json.loads((layout / "index.json").read_text())
    d = [m for m in idx["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag][0]
    return json.loads((layout / "blobs" / "sha256" / d["digest"].split(":")[1]).read_bytes())


def blob_json(layout: Path, digest: str) -> dict:
    return json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())


def skopeo_push(env, layout: Path, tag: str, ref: str) -> None:
    run(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
         f"docker://{ref}"], env=env, timeout=300)


@pytest.fixture(scope="module")
def pushed(kits, registry, podman_env) -> dict:
    """The ModelKit and ModelPack copied to the loopback registry by skopeo."""
    refs = {t: f"{registry}/kit-{SESSION}/{t}:v1" for t in ("kit", "mp")}
    for t, ref in refs.items():
        skopeo_push(podman_env, kits, t, ref)
    return refs


def test_modelkit_follows_kits_spec(kits):
    m = manifest_of(kits, "kit")
    assert m["config"]["mediaType"] == "application/vnd.kitops.modelkit.config.v1+json"
    bases = [KIT_LAYER.match(x["mediaType"]).group(1) for x in m["layers"]]
    assert bases == ["model", "modelpart", "modelpart", "modelpart", "dataset", "docs"]
    kf = blob_json(kits, m["config"]["digest"])
    # kit unpack pairs the n-th layer of a type with the n-th entry and checks these digests.
    assert kf["model"]["digest"] == m["layers"][0]["digest"]
    assert [p["digest"] for p in kf["model"]["parts"]] == [x["digest"] for x in m["layers"][1:4]]
    assert kf["datasets"][0]["digest"] == m["layers"][4]["digest"]
    assert kf["docs"][0]["digest"] == m["layers"][5]["digest"]
    assert kf["package"]["name"] == "sample"


def test_modelpack_passes_the_schema_and_modelpack_client(kits, pushed, kit_ctx, tmp_path):
    from modelpack_client import ModelPackClient
    from modelpack_client.schema import CONFIG_SCHEMA  # model-spec's schema/config-schema.json

    m = manifest_of(kits, "mp")
    assert m["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    cfg = blob_json(kits, m["config"]["digest"])
    jsonschema.Draft202012Validator(CONFIG_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(cfg)
    # modelpack-client checks manifest, config (schema, diffIds) and every digest, then unpacks.
    dest = tmp_path / "pulled"
    res = ModelPackClient(insecure=True).pull(pushed["mp"], dest)
    assert res.config["descriptor"]["name"] == "sample"
    want = helpers.sha256_tree(kit_ctx)
    del want["./Kitfile"]
    assert helpers.sha256_tree(dest) == want


@pytest.mark.parametrize("tag", ["kit", "mp"])
def test_converted_model_serves_in_the_kserve_pod(tag, pack_bin, kits, pushed, podman_env, images,  # noqa: F811
                                                  serving_image, tmp_path):
    out = tmp_path / "modelcar"
    from_layout = pack(pack_bin, f"oci:{kits}:{tag}", "-o", f"oci:{out}:layout")
    from_registry = pack(pack_bin, f"kit://{pushed[tag]}", "--insecure", "-o", f"oci:{out}:registry")
    src = manifest_of(kits, tag)
    src_digest = "sha256:" + helpers.sha256_file(kits / "blobs" / "sha256" / tagged_digest(kits, tag))
    for t, proc in (("layout", from_layout), ("registry", from_registry)):
        assert f"wrote oci:{out}:{t}" in proc.stderr
        _, man, _ = platform_images(out, t)[0]
        assert man["annotations"]["io.github.modelcar-base.source.digest"] == src_digest
        assert man["annotations"]["org.opencontainers.image.version"] == "1.0.0"
        assert man["annotations"]["org.opencontainers.image.title"] == "sample"
    # Same source bytes, same model layers, wherever they were read from.
    layers = {t: [x["digest"] for x in platform_images(out, t)[0][1]["layers"]] for t in ("layout", "registry")}
    assert layers["layout"] == layers["registry"]
    # The default filter (model, docs) leaves the dataset out: 5 model/docs layers on the base.
    assert len(layers["layout"]) == 1 + len([x for x in src["layers"] if "dataset" not in x["mediaType"]])

    name = to_storage(podman_env, images, out, "registry" if tag == "kit" else "layout", "amd64")
    res = helpers.run_kserve_pod_retrying(podman_env, name, serving_image=serving_image)
    assert res.serving["ok"], res.serving["log"]
    assert res.serving["files"] == helpers.sample_model_hashes()
    assert res.stop.sidecar_exit_code == 0


def tagged_digest(layout: Path, tag: str) -> str:
    idx = json.loads((layout / "index.json").read_text())
    d = [m for m in idx["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag][0]
    return d["digest"].split(":")[1]


def test_kit_source_with_registry_credentials(pack_bin, kits, auth_registry, podman_env, tmp_path):  # noqa: F811
    """kit:// uses --push's auth: without credentials one clear line, with an auth file the
    conversion reads the ModelKit (and the same model layers as from the layout)."""
    host, user, password = auth_registry
    ref = f"{host}/kit-{SESSION}/auth:v1"
    run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", f"{user}:{password}",
         f"oci:{kits}:kit", f"docker://{ref}"], env=podman_env, timeout=300)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
    env["HOME"] = str(home)
    out = tmp_path / "out"
    refused = pack(pack_bin, f"kit://{ref}", "--insecure", "-o", f"oci:{out}:v1", env=env, check=False)
    assert refused.returncode == 1, refused.stderr
    assert f"registry {host} wants credentials" in refused.stderr, refused.stderr
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps(helpers.auth_config(host, user, password)))
    pack(pack_bin, f"kit://{ref}", "--insecure", "-o", f"oci:{out}:v1", "-q",
         env={**env, "REGISTRY_AUTH_FILE": str(auth)})
    pack(pack_bin, f"oci:{kits}:kit", "-o", f"oci:{out}:layout", "-q")
    layers = [[x["digest"] for x in platform_images(out, t)[0][1]["layers"]] for t in ("v1", "layout")]
    assert layers[0] == layers[1]


def test_modelpack_written_by_modelpack_client_converts(pack_bin, registry, repo, tmp_path):  # noqa: F811
    from modelpack_client import (ModelDescriptor, ModelLayer, ModelPackClient, ModelPackConfig,
                                  ModelTechnicalConfig)

    src = repo / "sample-model"
    ref = f"{registry}/kit-{SESSION}/client:v1"
    cwd = os.getcwd()
    os.chdir(src)  # layer paths are relative: that is where the files go
    try:
        ModelPackClient(insecure=True).push(
            ref,
            layers=[
                ModelLayer("weights", media_type="application/vnd.cncf.model.weight.v1.tar"),
                ModelLayer("tokenizer", media_type="application/vnd.cncf.model.weight.config.v1.tar+gzip"),
                ModelLayer("config.json", media_type="application/vnd.cncf.model.weight.config.v1.raw"),
                ModelLayer("label map.txt", media_type="application/vnd.cncf.model.weight.config.v1.raw"),
                ModelLayer("README.md", media_type="application/vnd.cncf.model.doc.v1.raw"),
            ],
            config=ModelPackConfig(descriptor=ModelDescriptor(name="sample", version="2"),
                                   config=ModelTechnicalConfig(format="bin")),
        )
    finally:
        os.chdir(cwd)
    out = tmp_path / "modelcar"
    pack(pack_bin, f"kit://{ref}", "--insecure", "-o", f"oci:{out}:v1", "-q")
    tree = tmp_path / "tree"
    tree.mkdir()
    _, man, _ = platform_images(out, "v1")[0]
    for x in man["layers"][1:]:
        run(["tar", "-xf", out / "blobs" / "sha256" / x["digest"].split(":")[1], "-C", tree])
    assert helpers.sha256_tree(tree / "models") == helpers.sample_model_hashes()


def test_conversion_on_xfs_reflinks_instead_of_copying(pack_bin, xfs_mount):  # noqa: F811
    ctx = xfs_mount / "ctx"
    (ctx / "weights").mkdir(parents=True)
    data = os.urandom(1 << 20)
    with open(ctx / "weights" / "model.bin", "wb") as f:
        for _ in range(300):
            f.write(data)
        f.write(data[:1234])
    (ctx / "README.md").write_text("# card\n")
    (ctx / "Kitfile").write_text("manifestVersion: 1.0.0\nmodel:\n  path: weights\ndocs:\n  - path: README.md\n")
    kits = xfs_mount / "kits"
    pack(pack_bin, ctx, "--format", "modelkit", "-o", f"oci:{kits}:k", "-q")
    used0 = shutil.disk_usage(xfs_mount).used
    p = pack(pack_bin, f"oci:{kits}:k", "-o", f"oci:{xfs_mount}/out:v1")
    reflinked = int(re.search(r"(\d+) reflinked", p.stderr).group(1))
    assert reflinked == (300 << 20) // 4096 * 4096, p.stderr
    grew = shutil.disk_usage(xfs_mount).used - used0
    assert grew < (32 << 20), f"the modelcar layer shares the ModelKit's blocks (disk use grew {grew} bytes)"
    tree = xfs_mount / "tree"
    tree.mkdir()
    _, man, _ = platform_images(xfs_mount / "out", "v1")[0]
    for x in man["layers"][1:]:
        run(["tar", "-xf", xfs_mount / "out" / "blobs" / "sha256" / x["digest"].split(":")[1], "-C", tree])
    assert helpers.sha256_tree(tree / "models") == {
        k: v for k, v in helpers.sha256_tree(ctx).items() if k != "./Kitfile"}


def kit_style_modelkit(layout: Path, src: Path) -> None:
    """A ModelKit whose layer is an ordinary tar (Python's tarfile, like kit's Go archive/tar:
    file data at 512-byte offsets, not 4 KiB-aligned), with the Kitfile as config; tag k."""
    import hashlib
    import tarfile

    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    tmp = layout / "layer.tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        t.add(src / "weights", arcname="weights")

    def put(path_or_bytes) -> dict:
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else None
        if data is None:
            h = "sha256:" + helpers.sha256_file(path_or_bytes)
            size = path_or_bytes.stat().st_size
            path_or_bytes.rename(blobs / h[7:])
        else:
            h = "sha256:" + hashlib.sha256(data).hexdigest()
            size = len(data)
            (blobs / h[7:]).write_bytes(data)
        return {"digest": h, "size": size}

    layer = put(tmp)
    cfg = json.dumps({"manifestVersion": "1.0.0", "package": {"name": "kit-style"},
                      "model": {"path": "weights", "digest": layer["digest"], "diffId": layer["digest"]}}).encode()
    c = put(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.kitops.modelkit.config.v1+json", **c},
                      "layers": [{"mediaType": "application/vnd.kitops.modelkit.model.v1.tar", **layer}],
                      }).encode()
    m = put(man)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **m,
         "annotations": {"org.opencontainers.image.ref.name": "k"}}]}))


def test_unaligned_modelkit_reflinks_on_xfs_too(pack_bin, xfs_mount):  # noqa: F811
    """Kit's own tars put file data at 512-byte offsets; the converted layer puts it at the
    same offsets modulo 4 KiB, so its whole blocks are still cloned."""
    ctx = xfs_mount / "ctx"
    (ctx / "weights").mkdir(parents=True)
    data = os.urandom(1 << 20)
    with open(ctx / "weights" / "model.bin", "wb") as f:
        for _ in range(200):
            f.write(data)
        f.write(data[:777])
    kits = xfs_mount / "kits"
    kit_style_modelkit(kits, ctx)
    blob = next(p for p in (kits / "blobs" / "sha256").iterdir() if p.stat().st_size > (100 << 20))
    at = blob.read_bytes().find(data[:4096])
    assert at % 512 == 0 and at % 4096 != 0, f"data at {at}: not the unaligned case this tests"
    used0 = shutil.disk_usage(xfs_mount).used
    p = pack(pack_bin, f"oci:{kits}:k", "-o", f"oci:{xfs_mount}/out:v1")
    reflinked = int(re.search(r"(\d+) reflinked", p.stderr).group(1))
    size = (200 << 20) + 777
    head = (4096 - at % 4096) % 4096
    assert reflinked == (size - head) // 4096 * 4096, p.stderr
    grew = shutil.disk_usage(xfs_mount).used - used0
    assert grew < (32 << 20), f"disk use grew {grew} bytes"
    tree = xfs_mount / "tree"
    tree.mkdir()
    _, man, _ = platform_images(xfs_mount / "out", "v1")[0]
    for x in man["layers"][1:]:
        run(["tar", "-xf", xfs_mount / "out" / "blobs" / "sha256" / x["digest"].split(":")[1], "-C", tree])
    assert helpers.sha256_file(tree / "models" / "weights" / "model.bin") == helpers.sha256_file(ctx / "weights" / "model.bin")
