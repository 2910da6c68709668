"""A Kubernetes Pod manifest run over CRI the way a kubelet runs it, as far as these tests need:

- every image pulled with PullImage (IfNotPresent), timed;
- the sandbox with the node's network namespace (no CNI here) and, for
  `shareProcessNamespace: true`, the pod's PID namespace;
- `emptyDir` volumes as host folders of mode 0777 (the kubelet's), `hostPath` as they are;
- init containers one after the other, each to completion, then the containers in spec order;
- command and args with Kubernetes' `$$` / `$(VAR)` expansion;
- the security context the kubelet computes: the container's fields over the pod's (runAsUser,
  runAsGroup, runAsNonRoot, seccompProfile), the image's user when neither sets runAsUser
  (root if the image names none), the pod's supplementalGroups and fsGroup, the
  runAsNonRoot check against the image's user, the pod's runAsUser and runAsGroup on the
  sandbox (containerd refuses a group without a user there), allowPrivilegeEscalation: false as
  no_new_privs, seccomp Unconfined when unset (the kubelet's default), the default masked and
  read-only /proc paths;
- deletion: StopContainer of every container at once with the pod's grace period (30 s
  unless terminationGracePeriodSeconds says otherwise), then StopPodSandbox, RemovePodSandbox.

Not modelled (not needed by a modelcar pod on one node): CNI networking, resource limits
(cgroups are off on this machine, see harness.CONFIG), probes, restart back-off, /etc/hosts.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import helpers
from harness import Containerd, Status, read_cri_log

# k8s.io/kubernetes/pkg/securitycontext: what the kubelet masks and makes read-only in /proc
# and /sys for procMount Default.
DEFAULT_MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# Fields a container's securityContext takes from the pod's when it does not set them.
INHERITED = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "seLinuxOptions")
DEFAULT_GRACE = 30


class PodConfigError(AssertionError):
    """What the kubelet reports as CreateContainerConfigError (the container is not created)."""


@dataclass
class StopRecord:
    exit_code: int
    call_seconds: float  # wall time of StopContainer
    seconds: float  # from the stop request to FinishedAt in ContainerStatus
    reason: str


@dataclass
class ContainerRun:
    name: str
    id: str
    attempt: int
    init: bool


@dataclass
class PodResult:
    """What happened, for the test to assert on."""

    pulls: dict[str, float] = field(default_factory=dict)  # image -> PullImage seconds
    init_status: dict[str, Status] = field(default_factory=dict)
    failed_init: str | None = None
    stops: dict[str, StopRecord] = field(default_factory=dict)


def effective_security_context(pod_sc: dict, c_sc: dict | None) -> dict:
    eff = dict(c_sc or {})
    for k in INHERITED:
        if k not in eff and k in pod_sc:
            eff[k] = pod_sc[k]
    return eff


class KubeletPod:
    """Runs `manifest` (a Pod dict, Kubernetes form) on `ctd`. Use as a context manager, or
    call start() and delete(); delete() always removes the sandbox."""

    def __init__(self, ctd: Containerd, manifest: dict):
        self.ctd = ctd
        self.cri = ctd.cri
        self.pb = ctd.cri.pb
        self.manifest = manifest
        self.spec = manifest["spec"]
        self.name = manifest["metadata"]["name"]
        self.uid = str(uuid.uuid4())
        self.dir = ctd.dir / "pods" / self.uid
        self.log_dir = self.dir / "logs"
        self.pod_id: str | None = None
        self.sandbox_config = None
        self.runs: list[ContainerRun] = []
        self.result = PodResult()
        self.volumes: dict[str, Path] = {}

    # Building the CRI requests ----------------------------------------------------------

    def _profile(self, sc: dict):
        kind = (sc.get("seccompProfile") or {}).get("type", "Unconfined")
        ptype = {"RuntimeDefault": self.pb.SecurityProfile.RuntimeDefault,
                 "Unconfined": self.pb.SecurityProfile.Unconfined}[kind]
        path = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}[kind]
        return self.pb.SecurityProfile(profile_type=ptype), path

    def _namespaces(self):
        NS = self.pb.NamespaceMode
        pid = NS.POD if self.spec.get("shareProcessNamespace") else NS.CONTAINER
        return self.pb.NamespaceOption(network=NS.NODE, pid=pid, ipc=NS.POD)

    def _groups(self) -> list[int]:
        psc = self.spec.get("securityContext") or {}
        groups = list(psc.get("supplementalGroups", []))
        if "fsGroup" in psc:
            groups.append(psc["fsGroup"])
        return groups

    def _sandbox_config(self):
        psc = self.spec.get("securityContext") or {}
        seccomp, seccomp_path = self._profile(psc)
        sc = self.pb.LinuxSandboxSecurityContext(
            namespace_options=self._namespaces(), supplemental_groups=self._groups(),
            seccomp=seccomp, seccomp_profile_path=seccomp_path)
        if "runAsUser" in psc:
            sc.run_as_user.value = psc["runAsUser"]
        if "runAsGroup" in psc:
            sc.run_as_group.value = psc["runAsGroup"]
        return self.pb.PodSandboxConfig(
            metadata=self.pb.PodSandboxMetadata(name=self.name, uid=self.uid, namespace="mcb-cri"),
            log_directory=str(self.log_dir),
            labels={"io.kubernetes.pod.name": self.name},
            linux=self.pb.LinuxPodSandboxConfig(security_context=sc))

    def _check_non_root(self, c: dict, sc: dict):
        """The kubelet's verifyRunAsNonRoot."""
        if not sc.get("runAsNonRoot"):
            return
        if "runAsUser" in sc:
            if sc["runAsUser"] == 0:
                raise PodConfigError(f"{c['name']}: container's runAsUser breaks non-root policy")
            return
        img = self.cri.image_status(c["image"])
        uid = img.uid.value if img is not None and img.HasField("uid") else None
        if uid in (None, 0) and not (img is not None and img.username):
            raise PodConfigError(f"{c['name']}: container has runAsNonRoot and image will run as root")

    def _security_context(self, c: dict):
        sc = effective_security_context(self.spec.get("securityContext") or {}, c.get("securityContext"))
        self._check_non_root(c, sc)
        caps = sc.get("capabilities") or {}
        seccomp, seccomp_path = self._profile(sc)
        privileged = bool(sc.get("privileged"))
        out = self.pb.LinuxContainerSecurityContext(
            capabilities=self.pb.Capability(add_capabilities=caps.get("add", []),
                                            drop_capabilities=caps.get("drop", [])),
            privileged=privileged, namespace_options=self._namespaces(),
            readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
            supplemental_groups=self._groups(),
            no_new_privs=sc.get("allowPrivilegeEscalation") is False,
            masked_paths=[] if privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=[] if privileged else DEFAULT_READONLY_PATHS,
            seccomp=seccomp, seccomp_profile_path=seccomp_path)
        if "runAsUser" in sc:
            out.run_as_user.value = sc["runAsUser"]
        else:
            # The kubelet's getImageUser: the image's user, root when it names none.
            img = self.cri.image_status(c["image"])
            if img is not None and img.username:
                out.run_as_username = img.username
            else:
                out.run_as_user.value = img.uid.value if img is not None and img.HasField("uid") else 0
        if "runAsGroup" in sc:
            out.run_as_group.value = sc["runAsGroup"]
        return out

    def _volume(self, name: str) -> Path:
        if name in self.volumes:
            return self.volumes[name]
        vol = next((v for v in self.spec.get("volumes", []) if v["name"] == name), None)
        assert vol is not None, f"volumeMount of undefined volume {name!r}"
        if "emptyDir" in vol:
            p = self.dir / "volumes" / "kubernetes.io~empty-dir" / name
            p.mkdir(parents=True)
            p.chmod(0o777)  # the kubelet's emptyDir mode: any UID may write the link
        elif "hostPath" in vol:
            p = Path(vol["hostPath"]["path"])
        else:
            raise AssertionError(f"volume {name!r}: only emptyDir and hostPath are supported")
        self.volumes[name] = p
        return p

    def _container_config(self, c: dict, attempt: int):
        env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
        mounts = [self.pb.Mount(container_path=m["mountPath"], host_path=str(self._volume(m["name"])),
                                readonly=bool(m.get("readOnly")))
                  for m in c.get("volumeMounts", [])]
        # /dev/termination-log, a file the kubelet gives every container.
        term = self.dir / "containers" / c["name"] / f"{attempt}-termination-log"
        term.parent.mkdir(parents=True, exist_ok=True)
        term.touch(mode=0o666)
        mounts.append(self.pb.Mount(container_path=c.get("terminationMessagePath", "/dev/termination-log"),
                                    host_path=str(term)))
        return self.pb.ContainerConfig(
            metadata=self.pb.ContainerMetadata(name=c["name"], attempt=attempt),
            image=self.pb.ImageSpec(image=c["image"]),
            command=[helpers.k8s_expand(a, env) for a in c.get("command", [])],
            args=[helpers.k8s_expand(a, env) for a in c.get("args", [])],
            working_dir=c.get("workingDir", ""),
            envs=[self.pb.KeyValue(key=k, value=v.encode()) for k, v in env.items()],
            mounts=mounts, log_path=f"{c['name']}/{attempt}.log",
            labels={"io.kubernetes.container.name": c["name"]},
            linux=self.pb.LinuxContainerConfig(security_context=self._security_context(c)))

    # Running ----------------------------------------------------------------------------

    def _run_container(self, c: dict, init: bool) -> ContainerRun:
        attempt = sum(1 for r in self.runs if r.name == c["name"])
        cid = self.cri.create_container(self.pod_id, self._container_config(c, attempt),
                                        self.sandbox_config)
        run = ContainerRun(c["name"], cid, attempt, init)
        self.runs.append(run)
        self.cri.start_container(cid)
        return run

    def start(self, init_timeout: float = 60) -> "KubeletPod":
        """Pulls, runs the sandbox, runs the init containers to completion and starts the
        containers. An init container that fails stops the start (restartPolicy Never's
        outcome; under Always the kubelet would retry it with back-off): see result.failed_init."""
        for c in self.spec.get("initContainers", []) + self.spec["containers"]:
            if c["image"] not in self.result.pulls and self.cri.image_status(c["image"]) is None:
                _, seconds = self.cri.pull_image(c["image"])
                self.result.pulls[c["image"]] = seconds
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.sandbox_config = self._sandbox_config()
        self.pod_id = self.cri.run_pod_sandbox(self.sandbox_config)
        for c in self.spec.get("initContainers", []):
            run = self._run_container(c, init=True)
            st = self.cri.wait_exit(run.id, timeout=init_timeout)
            self.result.init_status[c["name"]] = st
            if st.exit_code != 0:
                self.result.failed_init = c["name"]
                return self
        for c in self.spec["containers"]:
            self._run_container(c, init=False)
        return self

    def current(self, name: str) -> ContainerRun:
        runs = [r for r in self.runs if r.name == name]
        assert runs, f"no container {name!r} in pod {self.name}"
        return runs[-1]

    def status(self, name: str) -> Status:
        return self.cri.container_status(self.current(name).id)

    def logs(self, name: str) -> str:
        r = self.current(name)
        return read_cri_log(self.log_dir / f"{name}/{r.attempt}.log")

    def exec(self, name: str, cmd: list[str], timeout: int = 60):
        return self.cri.exec_sync(self.current(name).id, cmd, timeout=timeout)

    def wait_running(self, name: str, timeout: float = 30) -> Status:
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(name)
            if st.state != "CONTAINER_CREATED":
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not started after {timeout}s")
            time.sleep(0.05)

    def stop(self, name: str, grace: int | None = None) -> StopRecord:
        """StopContainer of one container, as the kubelet sends it, and its outcome."""
        grace = self._grace() if grace is None else grace
        cid = self.current(name).id
        t0 = time.time()
        call = self.cri.stop_container(cid, grace)
        st = self.cri.container_status(cid)
        rec = StopRecord(st.exit_code, call, st.finished_at - t0, st.reason)
        self.result.stops[name] = rec
        return rec

    def restart(self, name: str) -> ContainerRun:
        """The kubelet's restart of a container that ended: a new container of the next
        attempt in the same sandbox (the old one stays, exited)."""
        c = next(c for c in self.spec["containers"] if c["name"] == name)
        return self._run_container(c, init=False)

    def _grace(self) -> int:
        return int(self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE))

    def delete(self) -> dict[str, StopRecord]:
        """Pod deletion: every running container stopped at once with the grace period,
        then the sandbox stopped and removed (also after a failed start)."""
        try:
            if self.pod_id is not None:
                running = []
                for c in self.spec["containers"]:
                    runs = [r for r in self.runs if r.name == c["name"]]
                    if runs and self.cri.container_status(runs[-1].id).state == "CONTAINER_RUNNING":
                        running.append(c["name"])
                if running:
                    with ThreadPoolExecutor(len(running)) as pool:
                        list(pool.map(self.stop, running))
        finally:
            if self.pod_id is not None:
                self.cri.remove_pod_sandbox(self.pod_id)
                self.pod_id = None
        return self.result.stops

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.delete()
            raise

    def __exit__(self, *exc):
        self.delete()
        return False
