"""The CRI test harness: a private containerd with its CRI plugin, the CRI client generated from
Kubernetes' api.proto, and the calls a kubelet makes (pull, sandbox, containers, exec, stop).

    ctd = cri_session.start_containerd(workdir, dist, ["127.0.0.1:5000"])  # or Containerd(...)
    try:
        image_ref, seconds = ctd.cri.pull_image("127.0.0.1:5000/x:1")
        with KubeletPod(ctd, kserve_pod.kserve_pod(modelcar, serving)) as pod:
            read = kserve_pod.read_model(pod)
    finally:
        ctd.stop()

Everything lives in one temp folder (root, state, socket, registry hosts, pod logs and
volumes); stop() removes every sandbox, stops containerd by its pid and unmounts what is left.
kubelet.py runs Kubernetes Pod manifests on top of this; ociimage.py writes the helper images.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "system"))

import helpers  # noqa: E402  (tests/system/helpers.py: run, registry, pod manifest, hashes)

# The k8s.io namespace is where the CRI plugin keeps its images and containers.
K8S_NS = "k8s.io"


# ---------------------------------------------------------------------------------------------
# The CRI client, generated at test time.


def find_cri_proto() -> Path:
    """shared/cri/api.proto beside the repository (CI clones next to shared/); from a git
    worktree, beside the main checkout."""
    candidates = [REPO.parent / "shared" / "cri" / "api.proto"]
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            cwd=REPO, capture_output=True, text=True)
    if common.returncode == 0 and common.stdout.strip():
        candidates.append(Path(common.stdout.strip()).parent.parent / "shared" / "cri" / "api.proto")
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(
        "the CRI definition ../shared/cri/api.proto is missing (looked at "
        + ", ".join(map(str, candidates)) + "): the CRI tests need shared/ beside the repository")


def generate_cri_client(out: Path):
    """Compiles api.proto with grpcio-tools into `out`; returns (api_pb2, api_pb2_grpc)."""
    proto = find_cri_proto()
    out.mkdir(parents=True, exist_ok=True)
    helpers.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{proto.parent}",
                 f"--python_out={out}", f"--grpc_python_out={out}", proto.name], timeout=120)
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("api_pb2")
        grpc_mod = importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return pb2, grpc_mod


# ---------------------------------------------------------------------------------------------
# containerd.


CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # This machine's hybrid cgroup v1 setup, the shell in a nested memory cgroup: without these
  # runc fails every sandbox ("can't get final child's PID from pipe").
  disable_cgroup = true
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"""

HOSTS_TOML = """\
server = "http://{hp}"
[host."http://{hp}"]
  capabilities = ["pull", "resolve"]
"""


def containerd_version() -> str:
    """'1.6.20~ds1' (the version field of `containerd --version`)."""
    out = helpers.run(["containerd", "--version"], timeout=30).stdout.split()
    return out[2] if len(out) > 2 else " ".join(out)


class Containerd:
    """A private containerd (CRI plugin on) in `workdir`. `registries`: host:port of plain-HTTP
    registries on loopback that containerd may pull from. `pause_archive`: an OCI archive
    imported as the sandbox image `pause_name`."""

    def __init__(self, workdir: Path, pause_archive: Path, pause_name: str,
                 registries: list[str], client_dir: Path | None = None):
        self.dir = Path(workdir)
        self.sock = self.dir / "containerd.sock"
        assert len(str(self.sock)) < 100, f"socket path too long for a unix socket: {self.sock}"
        self.pause_archive = pause_archive
        self.pause_name = pause_name
        self.registries = registries
        self.client_dir = client_dir or self.dir / "cri-client"
        self.proc: subprocess.Popen | None = None
        self.cri: Cri | None = None

    def write_config(self):
        for sub in ("root", "state", "opt", "cni/bin", "cni/conf", "certs.d", "pods"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for hp in self.registries:
            d = self.dir / "certs.d" / hp
            d.mkdir(parents=True, exist_ok=True)
            (d / "hosts.toml").write_text(HOSTS_TOML.format(hp=hp))
        (self.dir / "config.toml").write_text(CONFIG.format(d=self.dir, pause=self.pause_name))

    def start(self, timeout: float = 30):
        self.write_config()
        pb2, grpc_mod = generate_cri_client(self.client_dir)
        self.log = open(self.dir / "containerd.log", "wb")
        self.proc = subprocess.Popen(
            ["containerd", "--config", str(self.dir / "config.toml")],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.cri = Cri(self, pb2, grpc_mod)
            self.cri.wait_ready(timeout)
            self.ctr("images", "import", self.pause_archive, timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def ctr(self, *args, timeout=120, check=True):
        return helpers.run(["ctr", "-a", self.sock, "-n", K8S_NS, *args], timeout=timeout, check=check)

    def log_text(self) -> str:
        p = self.dir / "containerd.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        """Removes every sandbox (their shims go with them), stops containerd by its pid,
        unmounts what is still mounted under workdir. Safe to call twice."""
        if self.cri is not None and self.proc is not None and self.proc.poll() is None:
            try:
                self.cri.remove_all_sandboxes()
            except Exception as e:  # teardown goes on: containerd must stop regardless
                print(f"cri harness: removing sandboxes failed: {e}", file=sys.stderr)
            self.cri.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None:
            self.log.close()
        self.proc = None
        _kill_shims(self.sock)
        _unmount_under(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _kill_shims(sock: Path):
    """Shims of this containerd still alive after it stopped (a crash mid-test): they carry
    `-address SOCK` on their command line."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(sock).encode() in argv:
            try:
                os.kill(int(pid_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _unmount_under(d: Path):
    prefix = str(d.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mnt = line.split()[4].replace("\\040", " ")
        if mnt.startswith(prefix):
            mounts.append(mnt)
    for mnt in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=30)


# ---------------------------------------------------------------------------------------------
# The CRI calls.


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Status:
    """What ContainerStatus says of a container (times in seconds since the epoch)."""

    state: str  # CONTAINER_CREATED / CONTAINER_RUNNING / CONTAINER_EXITED / CONTAINER_UNKNOWN
    exit_code: int
    reason: str
    message: str
    started_at: float
    finished_at: float
    pid: int | None
    log_path: str


class Cri:
    """The runtime and image services of one containerd, as a kubelet calls them."""

    def __init__(self, ctd: Containerd, pb2, grpc_mod):
        import grpc

        self.ctd = ctd
        self.pb = pb2
        self.channel = grpc.insecure_channel(f"unix://{ctd.sock}")
        self.rt = grpc_mod.RuntimeServiceStub(self.channel)
        self.img = grpc_mod.ImageServiceStub(self.channel)
        self.sandboxes: list[str] = []

    def close(self):
        self.channel.close()

    def wait_ready(self, timeout: float):
        import grpc

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.ctd.proc.poll() is not None:
                break
            try:
                v = self.rt.Version(self.pb.VersionRequest(version="v1"), timeout=2)
                self.version = v
                st = self.rt.Status(self.pb.StatusRequest(), timeout=5)
                conds = {c.type: c.status for c in st.status.conditions}
                if conds.get("RuntimeReady"):
                    return
                last = f"conditions {conds}"
            except grpc.RpcError as e:
                last = e
            time.sleep(0.2)
        raise RuntimeError(f"containerd's CRI did not come up within {timeout}s: {last}\n"
                           f"--- containerd.log ---\n{self.ctd.log_text()[-4000:]}")

    # Images ------------------------------------------------------------------------------

    def pull_image(self, ref: str, timeout: float = 600) -> tuple[str, float]:
        """CRI PullImage; returns (image ref containerd gives back, seconds it took)."""
        t0 = time.monotonic()
        resp = self.img.PullImage(self.pb.PullImageRequest(image=self.pb.ImageSpec(image=ref)),
                                  timeout=timeout)
        return resp.image_ref, time.monotonic() - t0

    def image_status(self, ref: str):
        """The CRI Image (id, repo_digests, uid, username...) or None."""
        resp = self.img.ImageStatus(self.pb.ImageStatusRequest(image=self.pb.ImageSpec(image=ref)),
                                    timeout=30)
        return resp.image if resp.image.id else None

    def image_content(self, ref: str) -> list[str]:
        """Digests of every blob of an image as containerd stores it (index, manifests,
        configs, layers), read from its content store."""
        out = self.ctd.ctr("images", "ls").stdout.splitlines()[1:]
        target = None
        for line in out:
            f = line.split()
            if f and f[0] == ref:
                target = f[2]
        if target is None:
            return []
        # Indexes and manifests are JSON and name the rest; configs and layers are leaves.
        seen, todo = [], [target]
        while todo:
            d = todo.pop()
            if d in seen:
                continue
            seen.append(d)
            got = self.ctd.ctr("content", "get", d, check=False, timeout=60)
            doc = json.loads(got.stdout) if got.returncode == 0 else {}
            todo += [m["digest"] for m in doc.get("manifests", [])]
            if "config" in doc:
                seen.append(doc["config"]["digest"])
            seen += [layer["digest"] for layer in doc.get("layers", [])]
        return seen

    def remove_image(self, ref: str, timeout: float = 120) -> None:
        """Removes an image and its content and snapshots (a cold start for the next pull):
        every name of it through `ctr images rm --sync` (synchronous garbage collection),
        then checks the content store holds none of its blobs but those another image
        still uses (identical model layers in two modelcars, say)."""
        status = self.image_status(ref)
        if status is None:
            return
        digests = set(self.image_content(ref))
        mine = {ref, status.id, *status.repo_digests, *status.repo_tags}
        listed = [line.split()[0] for line in self.ctd.ctr("images", "ls").stdout.splitlines()[1:]
                  if line.split()]
        names = [n for n in listed if n in mine]
        if names:
            self.ctd.ctr("images", "rm", "--sync", *names, timeout=timeout)
        shared = set()
        for other in listed:
            if other not in mine:
                shared.update(self.image_content(other))
        left = set(self.ctd.ctr("content", "ls", "-q").stdout.split()) & (digests - shared)
        assert not left, f"content of {ref} still in containerd after removal: {sorted(left)}"
        assert self.image_status(ref) is None, f"{ref} still known to the CRI after removal"

    # Sandboxes ---------------------------------------------------------------------------

    def run_pod_sandbox(self, config) -> str:
        resp = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=config), timeout=120)
        self.sandboxes.append(resp.pod_sandbox_id)
        return resp.pod_sandbox_id

    def stop_pod_sandbox(self, pod_id: str):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=120)

    def remove_pod_sandbox(self, pod_id: str):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=120)
        self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=120)
        if pod_id in self.sandboxes:
            self.sandboxes.remove(pod_id)

    def remove_all_sandboxes(self):
        """Every sandbox of this containerd, ours or left over."""
        listed = self.rt.ListPodSandbox(self.pb.ListPodSandboxRequest(), timeout=30).items
        for pod_id in {s.id for s in listed} | set(self.sandboxes):
            self.remove_pod_sandbox(pod_id)

    # Containers --------------------------------------------------------------------------

    def create_container(self, pod_id: str, config, sandbox_config) -> str:
        resp = self.rt.CreateContainer(self.pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=config, sandbox_config=sandbox_config), timeout=120)
        return resp.container_id

    def start_container(self, cid: str):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=120)

    def container_status(self, cid: str) -> Status:
        resp = self.rt.ContainerStatus(
            self.pb.ContainerStatusRequest(container_id=cid, verbose=True), timeout=30)
        s = resp.status
        pid = None
        if "info" in resp.info:
            pid = json.loads(resp.info["info"]).get("pid") or None
        return Status(
            state=self.pb.ContainerState.Name(s.state), exit_code=s.exit_code, reason=s.reason,
            message=s.message, started_at=s.started_at / 1e9, finished_at=s.finished_at / 1e9,
            pid=pid, log_path=s.log_path)

    def wait_exit(self, cid: str, timeout: float = 60) -> Status:
        deadline = time.monotonic() + timeout
        while True:
            st = self.container_status(cid)
            if st.state == "CONTAINER_EXITED":
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"container {cid} still {st.state} after {timeout}s")
            time.sleep(0.1)

    def exec_sync(self, cid: str, cmd: list[str], timeout: int = 60) -> ExecResult:
        resp = self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                                timeout=timeout + 30)
        return ExecResult(resp.exit_code, resp.stdout.decode(errors="replace"),
                          resp.stderr.decode(errors="replace"))

    def stop_container(self, cid: str, timeout: int) -> float:
        """StopContainer(timeout): SIGTERM, SIGKILL after `timeout` s; returns the call's
        wall time in seconds."""
        t0 = time.monotonic()
        self.rt.StopContainer(self.pb.StopContainerRequest(container_id=cid, timeout=timeout),
                              timeout=timeout + 60)
        return time.monotonic() - t0

    def remove_container(self, cid: str):
        self.rt.RemoveContainer(self.pb.RemoveContainerRequest(container_id=cid), timeout=60)


_CRI_LOG = re.compile(r"^(\S+) (stdout|stderr) ([PF]) (.*)$")


def read_cri_log(path: str | Path) -> str:
    """The text of a container's CRI log file (`TIME STREAM P|F MESSAGE` lines), both streams
    in order, partial lines joined."""
    p = Path(path)
    if not p.exists():
        return ""
    out = []
    for line in p.read_text(errors="replace").splitlines():
        m = _CRI_LOG.match(line)
        if not m:
            continue
        out.append(m.group(4) + ("\n" if m.group(3) == "F" else ""))
    return "".join(out)


def oci_push(layout: Path, ref: str, tag: str = "latest"):
    """Pushes an OCI layout's `tag` to a plain-HTTP registry with skopeo."""
    helpers.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                 f"oci:{layout}:{tag}", f"docker://{ref}"], timeout=300)


def registry_manifest(ref: str, accept: str) -> tuple[dict, str]:
    """(document, digest) of a tag or digest in a plain-HTTP registry (`host:port/repo:tag`)."""
    import urllib.request

    host, rest = ref.split("/", 1)
    repo, _, tag = rest.partition("@") if "@" in rest else rest.rpartition(":")
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read()), r.headers["Docker-Content-Digest"]


def rmtree(d: Path):
    _unmount_under(d)
    shutil.rmtree(d, ignore_errors=True)
