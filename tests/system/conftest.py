"""Session fixtures for the system tests: podman environment, registries, images.

Every image, manifest list, pod and registry is unique to the session (helpers run test
sessions in parallel on one machine) and removed at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

import helpers
from helpers import ARCHES, REPO, podman, run

SESSION = uuid.uuid4().hex[:8]


def _name(what: str) -> str:
    return f"localhost/mcb-test-{SESSION}/{what}:latest"


def pytest_terminal_summary(terminalreporter):
    """Prints what the tests measured (sizes, shutdown times), pass or fail."""
    if helpers.REPORT:
        terminalreporter.section("modelcar-base measurements")
        for line in helpers.REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def podman_env(repo) -> dict:
    conf = repo / "tests" / "containers.conf"
    assert conf.is_file(), f"{conf} is missing"
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(conf)
    return env


# ---------------------------------------------------------------------------------------------
# Registries.


_Registry = helpers.Registry


@pytest.fixture(scope="session")
def registry():
    """host:port of a plain-HTTP docker-registry on 127.0.0.1 for this session."""
    reg = _Registry()
    yield reg.hostport
    reg.stop()


@pytest.fixture(scope="session")
def auth_registry():
    """(host:port, user, password) of a registry with htpasswd basic auth."""
    user, password = "mcb", uuid.uuid4().hex
    reg = _Registry(auth=(user, password))
    yield reg.hostport, user, password
    reg.stop()


# ---------------------------------------------------------------------------------------------
# Binaries and images.


@pytest.fixture(scope="session")
def dist(repo) -> Path:
    """dist/ with the four static sidecar binaries (built by scripts/build-sidecar.sh if any
    is missing)."""
    d = repo / "dist"
    wanted = [d / a / "rootfs" / "bin" / "sh" for a in ARCHES] + [d / a / "modelcar-base" for a in ARCHES]
    if not all(p.is_file() for p in wanted):
        run([repo / "scripts" / "build-sidecar.sh"], timeout=1800)
    missing = [str(p) for p in wanted if not p.is_file()]
    assert not missing, f"scripts/build-sidecar.sh did not produce {missing}"
    return d


class _Images:
    """Removes this session's images and manifest lists at the end."""

    def __init__(self, env):
        self.env = env
        self.names: list[str] = []
        self.lists: list[str] = []

    def image(self, name):
        self.names.append(name)
        return name

    def manifest_list(self, name):
        self.lists.append(name)
        self.names += [f"{name}-{a}" for a in ARCHES]
        return name

    def drop_list(self, name):
        """Removes a manifest list now: while one exists, `podman images` fails in podman 4.3
        (containers/podman#19757), which would hurt other sessions on this machine."""
        podman(self.env, "manifest", "rm", name, check=False, timeout=60)

    def cleanup(self):
        for name in self.lists:
            self.drop_list(name)
        for name in reversed(self.names):
            podman(self.env, "rmi", name, check=False, timeout=60)


@pytest.fixture(scope="session")
def images(podman_env):
    reg = _Images(podman_env)
    yield reg
    reg.cleanup()


def _build_base(repo, podman_env, dist, *target, timeout=600):
    """scripts/build-image.sh from a builder folder; target: --tag NAME or --manifest NAME."""
    run([repo / "scripts" / "build-image.sh", "--no-build", "--dist", dist, *target],
        env=podman_env, timeout=timeout)


def _build_sample_modelcar(repo, podman_env, base, *target, timeout=600):
    """scripts/build-modelcar.sh of sample-model/ on `base`; target: --tag or --manifest NAME."""
    run([repo / "scripts" / "build-modelcar.sh", "--model", repo / "sample-model",
         "--base", base, *target], env=podman_env, timeout=timeout)


@pytest.fixture(scope="session")
def base_image(repo, dist, podman_env, images) -> str:
    """The single-arch (host) base image, from Containerfile with --build-context builder=dist."""
    name = images.image(_name("base"))
    _build_base(repo, podman_env, dist, "--tag", name)
    return name


@pytest.fixture(scope="session")
def sample_modelcar(repo, base_image, podman_env, images) -> str:
    """The sample modelcar (Containerfile-modelcar FROM base_image, sample-model/ in /models)."""
    name = images.image(_name("modelcar-sample"))
    _build_sample_modelcar(repo, podman_env, base_image, "--tag", name)
    return name


@pytest.fixture(scope="session")
def serving_image(podman_env, images) -> str:
    """The stand-in model server: FROM scratch, Debian's busybox and tests/system/serving/serve.sh."""
    return helpers.build_serving_image(podman_env, images.image(_name("serving")))


@pytest.fixture(scope="session")
def busybox_dist(tmp_path_factory) -> Path:
    """A builder folder holding busybox where our binary would be (for comparisons)."""
    return helpers.make_busybox_rootfs(tmp_path_factory.mktemp("busybox-dist"))


@pytest.fixture(scope="session")
def busybox_base(repo, busybox_dist, podman_env, images) -> str:
    """The base image built from the same Containerfile with busybox as the binary."""
    name = images.image(_name("busybox-base"))
    _build_base(repo, podman_env, busybox_dist, "--tag", name)
    return name


@pytest.fixture(scope="session")
def busybox_modelcar(repo, busybox_base, podman_env, images) -> str:
    """The same sample modelcar, built from the same Containerfiles, on busybox instead."""
    name = images.image(_name("busybox-modelcar"))
    _build_sample_modelcar(repo, podman_env, busybox_base, "--tag", name)
    return name


@pytest.fixture(scope="session")
def base_manifest(repo, dist, podman_env, images) -> str:
    """The 4-arch base image manifest list, built once per session (for pushed_base and
    pushed_modelcar, which removes it again: see _Images.drop_list)."""
    name = images.manifest_list(_name("base-multi"))
    _build_base(repo, podman_env, dist, "--manifest", name, timeout=900)
    return name


@pytest.fixture(scope="session")
def pushed_base(repo, base_manifest, registry, podman_env, images) -> str:
    """registry/modelcar-base:test: the 4-arch base pushed (by digest: ref@sha256:...)."""
    dest = f"{registry}/modelcar-base:test"
    out = run([repo / "scripts" / "publish-image.sh", "--insecure", base_manifest, dest],
              env=podman_env, timeout=600).stdout.strip()
    return out


@pytest.fixture(scope="session")
def pushed_modelcar(repo, base_manifest, pushed_base, registry, podman_env, images) -> str:
    """"127.0.0.1:PORT/modelcar-sample:test": the 4-arch sample modelcar pushed to `registry`."""
    name = images.manifest_list(_name("modelcar-sample-multi"))
    _build_sample_modelcar(repo, podman_env, base_manifest, "--manifest", name, timeout=900)
    dest = f"{registry}/modelcar-sample:test"
    run([repo / "scripts" / "publish-image.sh", "--insecure", name, dest],
        env=podman_env, timeout=600)
    images.drop_list(name)
    # The base list has served both pushes; its per-arch images stay until the end.
    images.drop_list(base_manifest)
    return dest
