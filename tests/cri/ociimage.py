"""A small OCI image writer for the CRI tests' helper images (pause, stand-in server, busybox
base, empty modelcar): one layer from a dict of entries, one platform, reproducible bytes.

The model-carrying images come from modelcar-pack; these are the images around them, written
here so the CRI tests need no container engine (and no pull from the internet).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass
class Image:
    """Entries of the one layer: {path: bytes (file) | None (directory) | "->target" (symlink)}.
    `modes` overrides a file's mode (0o755 by default: most entries here are programs)."""

    entries: dict[str, bytes | str | None]
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    user: str = ""
    workdir: str = ""
    env: list[str] = field(default_factory=lambda: ["PATH=/bin"])
    modes: dict[str, int] = field(default_factory=dict)
    arch: str = "amd64"


def _layer(img: Image) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(img.entries):
            val = img.entries[path]
            info = tarfile.TarInfo(path.strip("/"))
            info.mtime = 0
            if val is None:
                info.type = tarfile.DIRTYPE
                info.mode = img.modes.get(path, 0o755)
                tar.addfile(info)
            elif isinstance(val, str):
                assert val.startswith("->"), f"{path}: a str entry is a symlink '->target'"
                info.type = tarfile.SYMTYPE
                info.linkname = val[2:]
                info.mode = 0o777
                tar.addfile(info)
            else:
                info.size = len(val)
                info.mode = img.modes.get(path, 0o755)
                tar.addfile(info, io.BytesIO(val))
    return buf.getvalue()


def _put(blobs: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / digest.split(":")[1]).write_bytes(data)
    return digest


def write_layout(img: Image, layout: Path, tag: str = "latest",
                 annotations: dict[str, str] | None = None) -> str:
    """Writes an OCI image layout holding img at `tag`; returns the manifest digest."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layer = _layer(img)
    layer_digest = _put(blobs, layer)
    config = {
        "architecture": img.arch,
        "os": "linux",
        "config": {k: v for k, v in (("Entrypoint", img.entrypoint), ("Cmd", img.cmd),
                                     ("User", img.user), ("WorkingDir", img.workdir),
                                     ("Env", img.env)) if v},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": _put(blobs, cfg), "size": len(cfg)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": layer_digest, "size": len(layer)}],
    }
    man = json.dumps(manifest, sort_keys=True).encode()
    man_digest = _put(blobs, man)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": man_digest, "size": len(man),
            "platform": {"architecture": img.arch, "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": tag, **(annotations or {})},
        }],
    }
    (layout / "index.json").write_text(json.dumps(index, sort_keys=True))
    return man_digest


def write_archive(img: Image, archive: Path, name: str) -> None:
    """An OCI archive (a tar of the layout) that `ctr images import` names `name`."""
    layout = archive.with_suffix(".layout")
    write_layout(img, layout, annotations={"io.containerd.image.name": name})
    with tarfile.open(archive, "w") as tar:
        for p in sorted(layout.rglob("*")):
            tar.add(p, arcname=p.relative_to(layout).as_posix(), recursive=False)


# ---------------------------------------------------------------------------------------------
# The images the CRI tests use.

BUSYBOX_APPLETS = ("ln", "mkdir", "sleep", "echo", "ls", "test", "[", "true", "false", "cat")


def sidecar_rootfs_image(rootfs: Path) -> Image:
    """An image of scripts/build-sidecar.sh's rootfs/ (what Containerfile copies), as is:
    `bin/sh` the binary, applet symlinks, `models/` empty."""
    entries: dict[str, bytes | str | None] = {}
    for p in sorted(rootfs.rglob("*")):
        rel = p.relative_to(rootfs).as_posix()
        if p.is_symlink():
            entries[rel] = "->" + str(p.readlink())
        elif p.is_dir():
            entries[rel] = None
        else:
            entries[rel] = p.read_bytes()
    return Image(entries=entries)


def rootfs_image(rootfs: Path, **config) -> Image:
    """An image of a whole filesystem tree with its files' and folders' modes kept (sticky,
    world-writable folders included), owned by root as `COPY` in a Containerfile makes it;
    `config`: Image fields (entrypoint, user, env...)."""
    img = sidecar_rootfs_image(rootfs)
    for p in sorted(rootfs.rglob("*")):
        if not p.is_symlink():
            img.modes[p.relative_to(rootfs).as_posix()] = p.stat().st_mode & 0o7777
    for k, v in config.items():
        setattr(img, k, v)
    return img


def pause_image(rootfs: Path) -> Image:
    """The sandbox image: the sidecar binary run as `sleep infinity` (it exits 0 on SIGTERM)."""
    img = sidecar_rootfs_image(rootfs)
    img.entrypoint = ["/bin/sleep", "infinity"]
    return img


def busybox_base_image(busybox: Path) -> Image:
    """What people build modelcars on today: busybox as /bin/sh, applet links, empty /models."""
    entries: dict[str, bytes | str | None] = {"bin": None, "models": None,
                                              "bin/sh": busybox.read_bytes()}
    for n in BUSYBOX_APPLETS:
        entries[f"bin/{n}"] = "->sh"
    return Image(entries=entries)


def serving_image(busybox: Path, serve_sh: Path, passwd: str | None = None) -> Image:
    """The stand-in model server of tests/system/serving (busybox and serve.sh); `passwd`:
    an /etc/passwd for it, as server images made from distributions have."""
    entries: dict[str, bytes | str | None] = {
        "bin": None, "bin/busybox": busybox.read_bytes(), "serve.sh": serve_sh.read_bytes()}
    modes = {}
    if passwd is not None:
        entries.update({"etc": None, "etc/passwd": passwd.encode()})
        modes["etc/passwd"] = 0o644
    return Image(entries=entries, cmd=["/bin/busybox", "sh", "/serve.sh"], modes=modes)
