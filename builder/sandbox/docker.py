"""The docker backend: one fresh container per run, removed in every case."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.types import Mount as DockerMount

from builder import owner
from builder.errors import BuildFailed, ImageError, SandboxUnavailable
from builder.images import Image
from builder.inside import archive
from builder.inside.layout import OUTPUT_READY
from builder.progress import Progress
from builder.sandbox import CANCELLED, LineSink, RunResult, RunSpec
from builder.sandbox.cgroups import ROOT as CGROUPS
from builder.sandbox.cgroups import pids_refused
from builder.store import Store

LABEL = "dev.builder"
OWNER_LABEL = f"{LABEL}.owner"  # the builder process that made it (builder.owner)
TMPFS_OPTIONS = "rw,exec,nosuid,nodev"
POLL_S = 0.02


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise SandboxUnavailable(
            f"the Docker daemon does not answer: {exc}",
            hint="start dockerd (or set DOCKER_HOST) and run again",
        ) from exc
    return client


class DockerSandbox:
    name = "docker"

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        self.client = client or connect()
        self._runs: set[Container] = set()
        self._runs_lock = threading.Lock()
        self._cancelled = False  # for good: a build's next run must not start after it

    def cancel(self) -> None:
        with self._runs_lock:
            self._cancelled = True
            running = list(self._runs)
        for container in running:
            with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
                container.kill()

    def prepare(self, image: Image, store: Store, progress: Progress) -> None:
        try:
            self.client.images.get(image.reference)
            return
        except docker.errors.ImageNotFound:
            pass
        rootfs = store.verified_path(image.digest, f"image {image.name} root filesystem")
        progress.status(f"importing image {image.name} ({image.digest[:12]}) into Docker")
        repository, tag = image.reference.rsplit(":", 1)
        try:
            self.client.api.import_image_from_file(
                str(rootfs),
                repository=repository,
                tag=tag,
                changes=[f'LABEL {LABEL}.rootfs-digest="sha256:{image.digest}"'],
            )
        except docker.errors.APIError as exc:
            raise ImageError(f"docker import of image {image.name} failed: {exc}") from exc

    def reap(self) -> list[str]:
        """Remove the containers of builder processes of this machine that are gone (their
        driver stopped when its lifeline closed; a stopped container stays until removed)."""
        removed = []
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            for container in self.client.containers.list(all=True, filters={"label": LABEL}):
                left_by = owner.Owner.find(container.labels.get(OWNER_LABEL, ""))
                if left_by is not None and left_by.gone():
                    _remove(container)
                    removed.append(f"container {container.name} (builder pid {left_by.pid})")
        return removed

    def run(self, spec: RunSpec, on_line: LineSink) -> RunResult:
        container = self._create(spec)
        started = time.monotonic()
        ready = threading.Event()
        lifeline = None
        with self._runs_lock:
            self._runs.add(container)
            cancelled = self._cancelled
        try:
            if cancelled:
                raise BuildFailed(CANCELLED)
            lifeline = _attach_lifeline(self.client, container)
            container.start()
            reader = threading.Thread(
                target=_pump_logs, args=(container, on_line, ready), daemon=True
            )
            reader.start()
            refusals = _PidsWatch(container)
            exit_code, timed_out = _wait(container, spec.limits.timeout_s, ready, refusals.look)
            collected = False
            refused = refusals.look()
            if ready.is_set() and exit_code is None:
                collected = _collect_output(self.client, container, spec)
                _remove(container)  # kills it; the log stream ends with it
                exit_code = 0
            reader.join(timeout=10)
            # A driver that said its output is ready was not killed for memory, even when
            # the output could not be copied out (the container is removed by then).
            oom = not ready.is_set() and _oom_killed(container)
            return RunResult(
                exit_code=-1 if exit_code is None else exit_code,
                duration_s=time.monotonic() - started,
                timed_out=timed_out,
                oom_killed=oom,
                output_collected=collected,
                pids_refused=refused,
            )
        finally:
            with self._runs_lock:
                self._runs.discard(container)
            _remove(container)
            _close(lifeline)

    def _create(self, spec: RunSpec) -> Container:
        limits = spec.limits
        uid, _, gid = spec.user.partition(":")
        owned = f"{TMPFS_OPTIONS},size={limits.tmpfs_mib}m,uid={uid},gid={gid or uid},mode=0755"
        shared = f"{TMPFS_OPTIONS},size={limits.tmpfs_mib}m,mode=1777"
        kwargs: dict[str, Any] = {
            "image": spec.image.reference,
            "command": list(spec.command),
            "environment": dict(spec.env),
            "user": spec.user,
            "working_dir": spec.workdir,
            "hostname": spec.hostname,
            "network_mode": "bridge" if spec.network else "none",
            "read_only": True,
            "tmpfs": _tmpfs(spec, owned, shared),
            "mounts": [
                DockerMount(
                    target=m.target, source=str(m.source), type="bind", read_only=m.read_only
                )
                for m in spec.mounts
            ],
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": limits.pids,
            "mem_limit": f"{limits.memory_mib}m",
            "memswap_limit": f"{limits.memory_mib}m",
            "nano_cpus": int(_cpus(spec) * 1e9),
            "cpuset_cpus": spec.cpuset,
            "ipc_mode": "private",
            "labels": {
                LABEL: "build",
                f"{LABEL}.run": uuid.uuid4().hex,
                OWNER_LABEL: owner.current().token,
                **spec.labels,
            },
            # stdin open, closed by docker when its one attached client goes (StdinOnce,
            # which docker-py sets only when not detached): the driver's lifeline.
            "stdin_open": True,
            "detach": False,
        }
        try:
            return self.client.containers.create(**kwargs)
        except docker.errors.ImageNotFound:
            raise ImageError(
                f"image {spec.image.reference} is not in Docker",
                hint=f"run: builder image build {spec.image.name}",
            ) from None
        except docker.errors.APIError as exc:
            raise SandboxUnavailable(f"docker could not create the build container: {exc}") from exc


def _attach_lifeline(client: docker.DockerClient, container: Container) -> Any:
    """Attach to the container's stdin before it starts and hold the connection: when
    this process ends (SIGKILL included) the connection closes, docker closes the
    container's stdin, and the driver, its pid 1, ends the build."""
    try:
        return client.api.attach_socket(str(container.id), params={"stdin": 1, "stream": 1})
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise SandboxUnavailable(f"docker could not attach to the build container: {exc}") from exc


def _close(lifeline: Any) -> None:
    if lifeline is not None:
        with contextlib.suppress(OSError):
            getattr(lifeline, "_sock", lifeline).close()
            lifeline.close()


def _cpus(spec: RunSpec) -> float:
    """The CPU quota, never more than the CPUs of the cpuset (docker refuses that)."""
    if spec.cpuset is None:
        return spec.limits.cpus
    return min(spec.limits.cpus, float(len(spec.cpuset.split(","))))


def _tmpfs(spec: RunSpec, owned: str, shared: str) -> dict[str, str]:
    mounts = {t: shared if t == "/tmp" else owned for t in spec.tmpfs}
    if spec.output is not None:
        uid, _, gid = spec.user.partition(":")
        owner = f"uid={uid},gid={gid or uid},mode=0755"
        mounts[spec.output] = f"{TMPFS_OPTIONS},noexec,size={spec.limits.out_mib}m,{owner}"
    return mounts


def _collect_output(client: docker.DockerClient, container: Container, spec: RunSpec) -> bool:
    """Copy the output tmpfs out as a tar made inside the container (docker cannot copy
    from a tmpfs), bounded in size and unpacked with the hostile-archive checks. False
    when it cannot be copied: too big, or tar did not end well (the build's processes
    may hold every pid its limit allows, and tar is one more)."""
    assert spec.output is not None and spec.output_to is not None
    budget = spec.limits.out_mib << 20
    api = client.api
    argv = ["tar", "-C", spec.output, "-cf", "-", "."]
    with tempfile.NamedTemporaryFile(suffix=".tar", dir=spec.output_to.parent) as tar:
        try:
            made = api.exec_create(str(container.id), argv, user=spec.user)["Id"]
            chunks: Iterator[tuple[bytes | None, bytes | None]] = api.exec_start(
                made, stream=True, demux=True
            )
            size = 0
            for stdout, _ in chunks:
                if stdout:
                    size += len(stdout)
                    if size > budget + (1 << 20):
                        return False
                    tar.write(stdout)
            if api.exec_inspect(made).get("ExitCode") != 0:
                return False  # not taken for a damaged archive: it never was one
        except docker.errors.APIError:
            return False
        tar.flush()
        limits = archive.ArchiveLimits(max_bytes=budget, max_members=10_000)
        archive.unpack(Path(tar.name), spec.output_to, limits)
    return True


def _pump_logs(container: Container, on_line: LineSink, ready: threading.Event) -> None:
    pending = b""
    try:
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace")
                if text == OUTPUT_READY:
                    ready.set()
                on_line(text)
    except (docker.errors.DockerException, requests.RequestException):
        pass
    if pending:
        on_line(pending.decode("utf-8", "replace"))


def _wait(
    container: Container, timeout_s: int, ready: threading.Event, each_poll: Callable[[], object]
) -> tuple[int | None, bool]:
    """(exit code, timed out); the exit code is None when the driver said its output is
    ready and is waiting for it to be collected. The container's exit is awaited in a
    thread, so that the ready line is seen within a few milliseconds, not a poll later;
    `each_poll` runs at every poll while it runs."""
    exited: list[int] = []
    done = threading.Event()

    def await_exit() -> None:
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            exited.append(int(container.wait(timeout=timeout_s + 60).get("StatusCode", -1)))
        done.set()

    threading.Thread(target=await_exit, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done.is_set():
            return (exited[0] if exited else -1), False
        if ready.wait(POLL_S):
            return None, False
        each_poll()
    container.kill()
    return -1, True


class _PidsWatch:
    """Whether the container's cgroup refused a fork at its pids limit, looked at at every
    poll while it runs: the cgroup goes with the container, so a build that fails by
    exiting, its last process refused, could not say so once it has ended."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.seen = False

    def look(self) -> bool:
        self.seen = self.seen or _pids_refused(self.container)
        return self.seen


def _pids_refused(container: Container) -> bool:
    """Whether the container's cgroup refused a fork at its pids limit; read where a
    local daemon keeps it (cgroup v1 or v2, cgroupfs or systemd driver)."""
    cid = str(container.id)
    return any(
        pids_refused(group)
        for group in (
            CGROUPS / "pids" / "docker" / cid,
            CGROUPS / "docker" / cid,
            CGROUPS / "system.slice" / f"docker-{cid}.scope",
        )
    )


def _oom_killed(container: Container) -> bool:
    try:
        container.reload()
    except docker.errors.NotFound:
        return False  # removed: nothing says it was
    return bool(container.attrs.get("State", {}).get("OOMKilled"))


def _remove(container: Container) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)
