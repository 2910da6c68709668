"""Docker credential helpers: modelcar-pack pushes to and unpacks from an htpasswd registry
with the login kept only by the real docker-credential-pass (Debian's
golang-docker-credential-helpers, a throwaway gpg key and password store), named by credsStore
or credHelpers in a docker config.json; a missing helper and a helper without the login give
one clear line each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import auth_config, run, sample_model_hashes, sha256_tree, unique
from test_pack import pack, pack_bin  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pass_store(tmp_path):
    """An environment whose docker-credential-pass works: a passphrase-less gpg key in a temp
    GNUPGHOME and a password store initialised for it. Yields the environment."""
    for tool in ("docker-credential-pass", "pass", "gpg", "gpgconf"):
        assert shutil.which(tool), f"{tool} missing: run scripts/install-deps.sh"
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG", "KSERVE_OCI_DOCKER_CONFIG")}
    env.update(HOME=str(home), GNUPGHOME=str(gnupg), PASSWORD_STORE_DIR=str(tmp_path / "store"))
    key = f"{unique('mcb-cred')}@example.invalid"
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", key, "default", "default", "never"],
        env=env, timeout=60)
    run(["pass", "init", key], env=env, timeout=60)
    try:
        yield env
    finally:
        # gpg started an agent for this GNUPGHOME; end it with the folder.
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, timeout=30, check=False)


def store(env, server_url, user, secret):
    run(["docker-credential-pass", "store"], env=env, timeout=60,
        input=json.dumps({"ServerURL": server_url, "Username": user, "Secret": secret}))


def docker_config(env, cfg: dict) -> dict:
    d = Path(env["HOME"]) / ".docker"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg))
    return env


def test_push_and_unpack_with_creds_store_and_cred_helpers(pack_bin, pass_store, auth_registry, tmp_path):  # noqa: F811
    host, user, password = auth_registry
    env = pass_store
    store(env, host, user, password)
    ref = f"{host}/{unique('credhelper')}:v1"

    # credsStore alone, as `docker login` leaves it: the auths entry is an empty placeholder.
    docker_config(env, {"auths": {host: {}}, "credsStore": "pass"})
    digest = pack(pack_bin, REPO / "sample-model", "--push", ref, "--insecure", "-q", env=env).stdout.strip()
    assert digest.startswith("sha256:"), digest
    dest = tmp_path / "out-store"
    pack(pack_bin, "unpack", "-q", "--insecure", ref, dest, env=env, timeout=120)
    assert sha256_tree(dest) == sample_model_hashes()

    # credHelpers for this registry wins over a credsStore that does not exist, and over a
    # wrong password in auths.
    docker_config(env, {**auth_config(host, user, "nope"), "credsStore": "nosuch-mcb",
                        "credHelpers": {host: "pass"}})
    dest = tmp_path / "out-helpers"
    pack(pack_bin, "unpack", "-q", "--insecure", f"oci://{ref}", dest, env=env, timeout=120)
    assert sha256_tree(dest) == sample_model_hashes()
    out = pack(pack_bin, "inspect", "--insecure", ref, env=env, timeout=120).stdout
    assert digest in out.splitlines()[1], out


def test_missing_helper_and_helper_without_the_login(pack_bin, pass_store, auth_registry, tmp_path):  # noqa: F811
    host, user, password = auth_registry
    env = pass_store
    ref = f"{host}/{unique('credhelper')}:v1"
    cfg = docker_config(env, {"credsStore": "nosuch-mcb"})
    cfg_file = Path(env["HOME"]) / ".docker" / "config.json"
    p = pack(pack_bin, "unpack", "-q", "--insecure", ref, tmp_path / "a", env=cfg, check=False, timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines() == [
        f"modelcar-pack: credential helper docker-credential-nosuch-mcb (credsStore in {cfg_file}): "
        "not found in PATH"], p.stderr
    assert not (tmp_path / "a").exists()

    # The helper has logins, but not this registry's: anonymous, and the registry's 401 as one
    # line naming the helper that was asked.
    store(env, "127.0.0.1:1", user, password)
    docker_config(env, {"credHelpers": {host: "pass"}})
    p = pack(pack_bin, REPO / "sample-model", "--push", ref, "--insecure", env=env, check=False)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"registry {host} wants credentials, and none were found for it in" in lines[0], p.stderr
    assert lines[0].endswith("(nor in docker-credential-pass)"), p.stderr


def test_no_helper_configured_runs_nothing(pack_bin, auth_registry, tmp_path):  # noqa: F811
    """The init image's case: no docker config, an empty PATH; the error is about credentials,
    not about a program."""
    host, _, _ = auth_registry
    env = {"HOME": str(tmp_path), "PATH": ""}
    p = pack(pack_bin, "unpack", "--insecure", f"{host}/{unique('none')}:v1", tmp_path / "d", env=env,
             check=False, timeout=120)
    assert p.returncode == 1
    assert f"registry {host} wants credentials, and none were found" in p.stderr, p.stderr
    assert "credential helper" not in p.stderr and "nor in" not in p.stderr
