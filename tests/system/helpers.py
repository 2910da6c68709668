"""Helpers shared by the system tests: run commands, build images, run KServe-shaped pods.

Other test files may ADD functions at the end of this file; do not rewrite the ones here.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# The architectures table: arch, rust_target, elf_machine, qemu_user, debian_arch.
_ARCH_ROWS = [
    dict(zip(_head, row))
    for _lines in [(REPO / "architectures.tsv").read_text().splitlines()]
    for _head in [_lines[0].split("\t")]
    for row in (line.split("\t") for line in _lines[1:])
]
ARCHES = tuple(r["arch"] for r in _ARCH_ROWS)
# ELF e_machine of each platform's binary.
ELF_MACHINE = {r["arch"]: int(r["elf_machine"]) for r in _ARCH_ROWS}
# The builtins (applets.txt): the image links each name, and modelcar-base, to /bin/sh.
APPLETS = tuple(
    line for line in (REPO / "applets.txt").read_text().splitlines() if not line.startswith("#")
)
POD_TEMPLATE = REPO / "tests" / "system" / "pods" / "kserve-modelcar.yaml"
SERVING_DIR = REPO / "tests" / "system" / "serving"

# The scripts exactly as KServe writes them into the Pod (Kubernetes form, before `$$` -> `$`).
KSERVE_INIT_SCRIPT_K8S = (
    "echo 'Pre-fetching modelcar {image}: ' && [ -d /models ] && [ \"$$(ls -A /models)\" ] "
    "&& echo 'OK ... Prefetched and valid (/models exists)' || (echo 'NOK ... Prefetched but "
    "modelcar is invalid (/models does not exist or is empty)' && exit 1)"
)
NOK_MESSAGE = "NOK ... Prefetched but modelcar is invalid (/models does not exist or is empty)"
OK_MESSAGE = "OK ... Prefetched and valid (/models exists)"
# Measurements the tests print at the end of the session (conftest's terminal summary).
REPORT: list[str] = []
# The podman 4.3 kube play flake (ENVIRONMENT.md): retry on this message only.
KUBE_PLAY_FLAKE = "as it is running"


class CommandError(AssertionError):
    pass


def run(cmd, *, env=None, timeout=120, check=True, input=None, cwd=None):
    """Runs cmd (a list), returns CompletedProcess with text stdout/stderr; bounded by timeout."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise CommandError(
            f"command failed with status {proc.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


def podman(env, *args, timeout=120, check=True, input=None):
    return run(["podman", *args], env=env, timeout=timeout, check=check, input=input)


def unique(prefix: str) -> str:
    """A name no other test session uses (helpers run test sessions in parallel)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(root) -> dict:
    """{'./relative/path': sha256} of every regular file under root (the serving script's form)."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out["./" + p.relative_to(root).as_posix()] = sha256_file(p)
    return out


def sample_model_hashes() -> dict:
    return sha256_tree(REPO / "sample-model")


def elf_machine(data: bytes) -> int:
    """e_machine of an ELF image given its first bytes."""
    assert data[:4] == b"\x7fELF", "not an ELF file"
    order = "big" if data[5] == 2 else "little"
    return int.from_bytes(data[18:20], order)


# ---------------------------------------------------------------------------------------------
# Kubernetes rules podman kube play does not apply.


def k8s_expand(s: str, env: dict | None = None) -> str:
    """Kubernetes' expansion of command/args: `$$` -> `$`, `$(VAR)` -> its value when VAR is
    defined, anything else left as it is (k8s.io/kubernetes/third_party/forked/golang/expansion)."""
    env = env or {}
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "$" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = s.find(")", i + 2)
                if end != -1:
                    name = s[i + 2 : end]
                    if name in env:
                        out.append(env[name])
                        i = end + 1
                        continue
        out.append(c)
        i += 1
    return "".join(out)


def sh_quote(s: str) -> str:
    """POSIX single-quoting, the way recent KServe quotes paths with special characters."""
    if re.fullmatch(r"[A-Za-z0-9_./-]+", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def sidecar_script_k8s(model_path: str = "/mnt/models", form: str = "ln-sf") -> str:
    """The modelcar sidecar script in Kubernetes form for each KServe generation."""
    q = sh_quote(model_path)
    if form == "ln-s":  # v0.12 - v0.14
        return f"ln -s /proc/$$$$/root/models {q} && sleep infinity"
    if form == "ln-sf":  # v0.15+
        return f"ln -sf /proc/$$$$/root/models {q} && sleep infinity"
    if form == "mkdir":  # custom paths: create the parent, link inside it
        parent = sh_quote(os.path.dirname(model_path))
        return f"mkdir -p {parent} && ln -sf /proc/$$$$/root/models {q} && sleep infinity"
    raise ValueError(f"unknown sidecar form {form!r}")


def podman_form(pod: dict) -> dict:
    """The Kubernetes Pod adapted to what `podman kube play` (4.3) needs to run it the way a
    kubelet would:
    - Kubernetes' `$$`/`$(VAR)` expansion of command and args (podman passes them verbatim);
    - restartPolicy Never: under Always, podman 4.3 also restarts init containers, and
      kube play then waits 20 s for each init container to exit;
    - an emptyDir name unique to the pod: podman turns an emptyDir into a named volume, which
      every pod using that name would share (a stale /mnt/models link from another pod).
    """
    pod = copy.deepcopy(pod)
    spec = pod["spec"]
    spec["restartPolicy"] = "Never"
    renames = {}
    for v in spec.get("volumes", []):
        if "emptyDir" in v:
            renames[v["name"]] = f"{pod['metadata']['name']}-{v['name']}"
            v["name"] = renames[v["name"]]
    for key in ("initContainers", "containers"):
        for c in spec.get(key, []):
            env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
            for field_ in ("command", "args"):
                if field_ in c:
                    c[field_] = [k8s_expand(a, env) for a in c[field_]]
            for m in c.get("volumeMounts", []):
                m["name"] = renames.get(m["name"], m["name"])
    return pod


# ---------------------------------------------------------------------------------------------
# The KServe-shaped pod.


def kserve_pod_manifest(
    name: str,
    modelcar_image: str,
    serving_image: str,
    *,
    model_path: str = "/mnt/models",
    sidecar_form: str | None = None,
    mount_path: str | None = None,
    init_container: bool = True,
    uid_modelcar: int | None = None,
    serving_run_as_user: int | None = None,
    run_as_group: int | None = None,
    serving_run_as_group: int | None = None,
    serving_drop_all: bool = False,
) -> dict:
    """The Pod KServe's webhook makes (Kubernetes form, before `$$` expansion).

    uid_modelcar sets runAsUser on the sidecar and the serving container, as KServe's
    `uidModelcar` does; serving_run_as_user sets it on the serving container only;
    run_as_group / serving_run_as_group do the same for runAsGroup.
    The emptyDir goes at mount_path, by default the parent of model_path (KServe's rule), or
    with the `mkdir` form the parent of the folder that `mkdir -p` creates.
    """
    text = POD_TEMPLATE.read_text()
    for key, val in (
        ("@POD_NAME@", name),
        ("@MODELCAR_IMAGE@", modelcar_image),
        ("@SERVING_IMAGE@", serving_image),
    ):
        text = text.replace(key, val)
    pod = yaml.safe_load(text)
    spec = pod["spec"]
    server, sidecar = spec["containers"]
    assert server["name"] == "kserve-container" and sidecar["name"] == "modelcar"
    if not init_container:
        del spec["initContainers"]
    if sidecar_form is None:
        sidecar_form = "ln-sf" if model_path == "/mnt/models" else "mkdir"
    if mount_path is None:
        mount_path = os.path.dirname(model_path)
        if sidecar_form == "mkdir":
            mount_path = os.path.dirname(mount_path)
    for c in (server, sidecar):
        c["volumeMounts"][0]["mountPath"] = mount_path
    for e in server["env"]:
        if e["name"] == "MODEL_PATH":
            e["value"] = model_path
    sidecar["args"] = ["sh", "-c", sidecar_script_k8s(model_path, sidecar_form)]
    if uid_modelcar is not None:
        server.setdefault("securityContext", {})["runAsUser"] = uid_modelcar
        sidecar.setdefault("securityContext", {})["runAsUser"] = uid_modelcar
    if serving_run_as_user is not None:
        server.setdefault("securityContext", {})["runAsUser"] = serving_run_as_user
    if run_as_group is not None:
        server.setdefault("securityContext", {})["runAsGroup"] = run_as_group
        sidecar.setdefault("securityContext", {})["runAsGroup"] = run_as_group
    if serving_run_as_group is not None:
        server.setdefault("securityContext", {})["runAsGroup"] = serving_run_as_group
    if serving_drop_all:
        server.setdefault("securityContext", {})["capabilities"] = {"drop": ["ALL"]}
    return pod


def parse_serving_output(text: str) -> dict:
    """Reads serve.sh's lines: {'ok': bool, 'fail': str|None, 'link': str|None, 'files': {...}}."""
    res = {"ok": False, "fail": None, "link": None, "files": {}, "waited_steps": None}
    for line in text.splitlines():
        if line.startswith("MCB-WAITED "):
            res["waited_steps"] = int(line.split()[1])
        elif line.startswith("MCB-LINK "):
            res["link"] = line[len("MCB-LINK ") :]
        elif line.startswith("MCB-FILE "):
            digest, path = line[len("MCB-FILE ") :].split("  ", 1)
            res["files"][path] = digest
        elif line.startswith("MCB-OK"):
            res["ok"] = True
        elif line.startswith("MCB-FAIL "):
            res["fail"] = line[len("MCB-FAIL ") :]
    return res


def _podman_time(s: str) -> float:
    """Epoch seconds of a podman inspect time such as 2026-11-23T10:49:08.123456789Z."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", s)
    assert m, f"unexpected time format {s!r}"
    base = _dt.datetime.fromisoformat(m.group(1) + (m.group(3).replace("Z", "+00:00")))
    return base.timestamp() + (float("0" + m.group(2)) if m.group(2) else 0.0)


@dataclass
class StopResult:
    seconds: float  # wall time of `podman stop` of the sidecar (SIGTERM, wait for exit)
    sidecar_exit_code: int  # 0: it exited by itself; 143: died of SIGTERM; 137: SIGKILLed
    sidecar_seconds: float  # from just before `podman stop` to the sidecar's FinishedAt


class KServePod:
    """A KServe-shaped pod run with `podman kube play`. Use as a context manager:

        with KServePod(env, modelcar, serving) as pod:
            out = pod.wait_serving()
    """

    def __init__(self, podman_env, modelcar_image, serving_image, *, name=None, **manifest_kw):
        self.env = podman_env
        self.name = name or unique("mcb-pod")
        self.manifest_k8s = kserve_pod_manifest(
            self.name, modelcar_image, serving_image, **manifest_kw
        )
        # What podman must see: the containers receive what Kubernetes would give them.
        self.manifest = podman_form(self.manifest_k8s)
        self._dir = Path(tempfile.mkdtemp(prefix="mcb-pod-"))
        self.yaml_path = self._dir / "pod.yaml"
        self.yaml_path.write_text(yaml.safe_dump(self.manifest, sort_keys=False))
        self.play_result = None
        self.stopped = None

    def container(self, short: str) -> str:
        return f"{self.name}-{short}"

    @property
    def server(self):
        return self.container("kserve-container")

    @property
    def sidecar(self):
        return self.container("modelcar")

    def play(self, *, check=True):
        """`podman kube play`, retried only on the podman 4.3 init-container flake."""
        for attempt in range(3):
            proc = podman(self.env, "kube", "play", self.yaml_path, timeout=120, check=False)
            if proc.returncode != 0 and KUBE_PLAY_FLAKE in proc.stderr and attempt < 2:
                podman(self.env, "kube", "down", self.yaml_path, timeout=60, check=False)
                continue
            break
        self.play_result = proc
        if check and proc.returncode != 0:
            raise CommandError(f"podman kube play failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def __enter__(self):
        # __exit__ does not run when __enter__ raises: clean up a failed play here.
        try:
            self.play()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def logs(self, short: str) -> str:
        proc = podman(self.env, "logs", self.container(short), check=False, timeout=30)
        return proc.stdout + proc.stderr

    def inspect(self, short: str) -> dict:
        out = podman(self.env, "container", "inspect", self.container(short), timeout=30).stdout
        return json.loads(out)[0]

    def wait_serving(self, timeout: float = 40) -> dict:
        """Waits for serve.sh's verdict in the serving container's log and parses it."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.logs("kserve-container")
            res = parse_serving_output(text)
            if res["ok"] or res["fail"]:
                res["log"] = text
                return res
            state = self.inspect("kserve-container")["State"]
            if not state["Running"] and state["Status"] in ("exited", "stopped"):
                text = self.logs("kserve-container")
                res = parse_serving_output(text)
                res["log"] = text
                return res
            time.sleep(0.2)
        raise AssertionError(f"serving container gave no verdict within {timeout}s:\n{text}")

    def read_model_again(self) -> dict:
        """Runs serve.sh --once in the serving container (after a sidecar restart, say)."""
        proc = podman(
            self.env, "exec", self.server, "/bin/busybox", "sh", "/serve.sh", "--once",
            timeout=60, check=False,
        )
        res = parse_serving_output(proc.stdout)
        res["log"] = proc.stdout + proc.stderr
        return res

    def sidecar_pid(self) -> int:
        return int(self.inspect("modelcar")["State"]["Pid"])

    def stop_sidecar(self, timeout_s: int = 10) -> StopResult:
        """SIGTERM to the modelcar sidecar alone, as the kubelet sends it (SIGKILL after
        timeout_s), timed; then its exit code, read before removal. The sidecar is stopped by
        itself because `podman pod stop` may stop the pod's infra container (PID 1 of the
        shared PID namespace) first, and the kernel then SIGKILLs everything in it."""
        t0 = time.time()
        m0 = time.monotonic()
        podman(self.env, "stop", "-t", str(timeout_s), self.sidecar, timeout=timeout_s + 60)
        seconds = time.monotonic() - m0
        sc = self.inspect("modelcar")["State"]
        self.stopped = StopResult(
            seconds=seconds,
            sidecar_exit_code=sc["ExitCode"],
            sidecar_seconds=_podman_time(sc["FinishedAt"]) - t0,
        )
        return self.stopped

    def down(self):
        """`podman kube down` (removes the pod); returns its wall time in seconds."""
        m0 = time.monotonic()
        podman(self.env, "kube", "down", self.yaml_path, timeout=120, check=False)
        # kube down leaves a pod behind when play half-failed; make sure nothing stays.
        podman(self.env, "pod", "rm", "-f", "-t", "0", self.name, timeout=60, check=False)
        for v in self.manifest["spec"].get("volumes", []):
            if "emptyDir" in v:
                podman(self.env, "volume", "rm", "-f", v["name"], timeout=60, check=False)
        elapsed = time.monotonic() - m0
        shutil.rmtree(self._dir, ignore_errors=True)
        return elapsed


@dataclass
class PodRun:
    serving: dict  # parse_serving_output() of the serving container, plus 'log'
    stop: StopResult
    down_seconds: float
    manifest: dict  # what podman ran (after Kubernetes' `$$` expansion)


def run_kserve_pod(
    podman_env, modelcar_image, *, serving_image, model_path="/mnt/models", **manifest_kw
) -> PodRun:
    """Runs the KServe-shaped pod for modelcar_image, waits for the serving container to read
    the model through model_path, stops the pod (SIGTERM), tears it down, returns everything.

    Compare `result.serving['files']` with `sample_model_hashes()` (or your own sha256_tree)."""
    pod = KServePod(podman_env, modelcar_image, serving_image, model_path=model_path, **manifest_kw)
    try:
        pod.play()
        serving = pod.wait_serving()
        stop = pod.stop_sidecar()
    finally:
        down = pod.down()
    return PodRun(serving=serving, stop=stop, down_seconds=down, manifest=pod.manifest)


# ---------------------------------------------------------------------------------------------
# Images.


def build_serving_image(podman_env, name: str) -> str:
    """The stand-in model server: FROM scratch + Debian's static busybox + serve.sh."""
    with tempfile.TemporaryDirectory(prefix="mcb-serving-") as ctx:
        shutil.copy2(shutil.which("busybox") or "/bin/busybox", Path(ctx) / "busybox")
        shutil.copy2(SERVING_DIR / "serve.sh", Path(ctx) / "serve.sh")
        podman(
            podman_env, "build", "-q", "--layers=false", "--timestamp", "0",
            "-f", SERVING_DIR / "Containerfile", "-t", name, ctx, timeout=300,
        )
    return name


def make_busybox_rootfs(dest: Path, arch: str = "amd64") -> Path:
    """A builder folder like scripts/build-sidecar.sh writes, with busybox as the binary: the
    same Containerfile then gives the busybox-based modelcar base people use today."""
    bindir = dest / arch / "rootfs" / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    (dest / arch / "rootfs" / "models").mkdir(exist_ok=True)
    shutil.copy2("/bin/busybox", bindir / "sh")
    shutil.copy2("/bin/busybox", dest / arch / "modelcar-base")
    for n in ("modelcar-base", *APPLETS):
        link = bindir / n
        if not link.is_symlink():
            link.symlink_to("sh")
    return dest


# ---------------------------------------------------------------------------------------------
# A registry on loopback (the system tests' and the CRI tests' fixtures).


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """A plain-HTTP docker-registry on 127.0.0.1 (optionally htpasswd auth), its config and log
    in a temp folder; stop() ends it and removes the folder. Its storage is in that folder too,
    unless `data` names one (kept, so that a registry on the same `data` and `port` can take
    over after kill())."""

    def __init__(self, auth: tuple[str, str] | None = None, data: Path | None = None,
                 port: int | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="mcb-registry-"))
        self.data = data or self.dir / "data"
        self.port = port or free_port()
        self.hostport = f"127.0.0.1:{self.port}"
        cfg = [
            "version: 0.1",
            "log: {level: error}",
            "storage:",
            f"  filesystem: {{rootdirectory: {self.data}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: {self.hostport}",
        ]
        if auth:
            user, password = auth
            htpasswd = run(["htpasswd", "-Bbn", user, password]).stdout.strip()
            (self.dir / "htpasswd").write_text(htpasswd + "\n")
            cfg += ["auth:", "  htpasswd:", "    realm: mcb-test", f"    path: {self.dir / 'htpasswd'}"]
        (self.dir / "config.yml").write_text("\n".join(cfg) + "\n")
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(self.dir / "config.yml")],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self._wait_ready(auth is not None)

    def _wait_ready(self, auth: bool):
        deadline = time.monotonic() + 20
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{self.hostport}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:
                if auth and e.code == 401:
                    return
                last = e
            except OSError as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"docker-registry on {self.hostport} did not come up: {last}; "
                           f"log: {(self.dir / 'registry.log').read_text()}")

    def kill(self):
        """SIGKILL, as a crash: the storage stays as the registry left it."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def host_arch() -> str:
    """This machine's architecture, by the table's name (uname -m is the qemu_user column)."""
    machine = os.uname().machine
    return next(r["arch"] for r in _ARCH_ROWS if r["qemu_user"] == machine)


def run_kserve_pod_retrying(podman_env, modelcar_image, *, serving_image, **kw) -> PodRun:
    """run_kserve_pod, tried up to three times on podman 4.3's init-container flake
    (ENVIRONMENT.md) only."""
    for attempt in range(3):
        try:
            return run_kserve_pod(podman_env, modelcar_image, serving_image=serving_image, **kw)
        except CommandError as e:
            if KUBE_PLAY_FLAKE not in str(e) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def auth_config(host: str, user: str, password: str) -> dict:
    """An auth file (containers-auth.json, docker's config.json) with one login."""
    return {"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}
