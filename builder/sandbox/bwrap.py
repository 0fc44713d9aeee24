"""The embedded backend: bubblewrap on the image's root filesystem, no daemon needed.

The same root filesystem (the image tar, unpacked once into the store), read-only; new
user, pid, network, ipc, uts and cgroup namespaces (so no network at all but loopback);
tmpfs for the build root, /tmp, HOME and /out; the inputs bound read-only; the exact
environment; every capability dropped; a new session; a cgroup with the memory, pids and
CPU limits where one can be made (rlimits otherwise); the wall clock kept by the host.
As with docker, /out is delivered through the host once the driver says it is ready.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from builder.errors import BuildFailed, ImageError, SandboxUnavailable
from builder.images import Image
from builder.inside import layout as inside
from builder.inside.layout import OUTPUT_READY
from builder.names import Sha256
from builder.progress import Progress
from builder.sandbox import CANCELLED, LineSink, RunResult, RunSpec, seccomp
from builder.sandbox.cgroups import Cgroup, cgroup, reap_leftovers
from builder.store import Store
from builder.store_trees import check_on_use, differences, manifest_path, seal

BWRAP = "bwrap"
HOST_RESOLVER = Path("/etc/resolv.conf")


def find_bwrap() -> str:
    path = shutil.which(BWRAP)
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed", hint="apt-get install bubblewrap"
        )
    probe = subprocess.run(
        [path, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot make namespaces here: {probe.stderr.decode().strip()}",
            hint="unprivileged user namespaces may be disabled (kernel.unprivileged_userns_clone)",
        )
    return path


def bwrap_version(path: str) -> tuple[int, ...]:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    try:
        return tuple(int(x) for x in out.split()[-1].split("."))
    except (IndexError, ValueError):
        return (0,)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class BwrapSandbox:
    name = "sandbox"

    def __init__(self) -> None:
        self.bwrap = find_bwrap()
        self.version = bwrap_version(self.bwrap)
        self._rootfs: dict[str, Path] = {}  # by image digest: builds of a graph share it
        self._runs: set[subprocess.Popen[bytes]] = set()
        self._runs_lock = threading.Lock()
        self._cancelled = False  # for good: a build's next run must not start after it

    def cancel(self) -> None:
        with self._runs_lock:
            self._cancelled = True
            running = list(self._runs)
        for proc in running:
            _kill_group(proc)

    def prepare(self, image: Image, store: Store, progress: Progress) -> None:
        """Unpack the image, or check its unpacked files: once per run (a graph's builds,
        and each build's rebuilds, share this sandbox and what it checked)."""
        known = self._rootfs.get(image.digest)
        if known is None or known.parent != store.root / "rootfs":
            self._rootfs[image.digest] = unpacked_rootfs(image, store, progress)

    def reap(self) -> list[str]:
        """The cgroups of sandboxes whose builder was killed (their processes died with
        it: bwrap --die-with-parent, and the driver's lifeline)."""
        return reap_leftovers()

    def run(self, spec: RunSpec, on_line: LineSink) -> RunResult:
        if spec.image.digest not in self._rootfs:
            raise ImageError(f"the sandbox backend was not prepared with image {spec.image.name}")
        if self._cancelled:
            raise BuildFailed(CANCELLED)
        started = time.monotonic()
        with (
            cgroup(spec.limits) as group,
            seccomp.filter_file() as program,
            _arguments_file(self.options(spec, seccomp_fd=program.fileno())) as options,
        ):
            proc = subprocess.Popen(
                [self.bwrap, "--args", str(options.fileno()), "--", *spec.command],
                pass_fds=(program.fileno(), options.fileno()),
                # The driver's lifeline: it ends the build when this pipe closes, that is
                # when builder exits, however it exits (SIGKILL included).
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={},
                # Join the cgroup and set rlimits before exec, so no child escapes them; the
                # function only writes one file and calls setrlimit and sched_setaffinity.
                preexec_fn=_rlimits(spec, group),  # noqa: PLW1509
                start_new_session=True,
            )
            with self._runs_lock:
                self._runs.add(proc)
                if self._cancelled:  # cancelled while it was starting: as if killed then
                    _kill_group(proc)
            try:
                return self._supervise(proc, spec, group, on_line, started)
            finally:
                with self._runs_lock:
                    self._runs.discard(proc)
                _kill(proc, group)

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        spec: RunSpec,
        group: Cgroup | None,
        on_line: LineSink,
        started: float,
    ) -> RunResult:
        ready, ended = threading.Event(), threading.Event()
        reader = threading.Thread(target=_pump, args=(proc, on_line, ready, ended), daemon=True)
        reader.start()
        deadline = started + spec.limits.timeout_s
        # Woken by the ready line or the end of the output, not by polling: a build's end
        # is seen at once (the clock still stops one that says neither).
        while not ready.is_set() and not ended.is_set() and time.monotonic() < deadline:
            ended.wait(min(1.0, max(0.0, deadline - time.monotonic())))
        if not ready.is_set():  # the output ended: the run has ended, or it ends by the clock
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        collected = False
        if ready.is_set() and proc.poll() is None:
            collected = _collect_output(proc.pid, spec, group)
        timed_out = proc.poll() is None and not ready.is_set()
        _kill(proc, group)
        reader.join(timeout=10)
        code = proc.returncode if proc.returncode is not None else -1
        return RunResult(
            exit_code=0 if collected else code,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
            oom_killed=group is not None and group.oom_killed(),
            output_collected=collected,
            pids_refused=group is not None and group.pids_refused(),
        )

    def _size(self, mib: int) -> list[str]:
        """bwrap 0.9+ sizes each tmpfs; older ones rely on the file size and memory limits."""
        return ["--size", str(mib << 20)] if self.version >= (0, 9) else []

    def options(self, spec: RunSpec, seccomp_fd: int) -> list[str]:
        """bwrap's options; `seccomp_fd` is an open file holding the syscall filter. They
        reach bwrap through a file (--args), not its command line: the sandbox's pid 1 is
        bwrap itself, and a build can read its command line, which would show host paths."""
        rootfs = self._rootfs[spec.image.digest]
        uid, _, gid = spec.user.partition(":")
        argv = [
            "--unshare-all",
            *(["--share-net"] if spec.network else []),
            "--unshare-user",
            # no user namespace of its own inside: the way to capabilities over a new mount
            # or network namespace that most unprivileged kernel exploits start from
            *(["--disable-userns"] if self.version >= (0, 8) else []),
            "--seccomp", str(seccomp_fd),
            "--uid", uid,
            "--gid", gid or uid,
            "--hostname", spec.hostname,
            "--die-with-parent",
            "--new-session",
            "--cap-drop", "ALL",
            *_root_binds(rootfs),
            "--dev", "/dev",
            "--proc", "/proc",
        ]  # fmt: skip
        for target in spec.tmpfs:
            argv += [*self._size(spec.limits.tmpfs_mib), "--tmpfs", target]
        if spec.output:
            argv += [*self._size(spec.limits.out_mib), "--tmpfs", spec.output]
        if spec.network and HOST_RESOLVER.is_file():  # the fetch phase: names must resolve
            argv += ["--ro-bind", str(HOST_RESOLVER), str(HOST_RESOLVER)]
        for m in spec.mounts:
            argv += ["--ro-bind" if m.read_only else "--bind", str(m.source), m.target]
        argv += ["--remount-ro", "/", "--chdir", spec.workdir, "--clearenv"]
        for key, value in spec.env.items():
            argv += ["--setenv", key, value]
        return argv


@contextlib.contextmanager
def _arguments_file(options: list[str]) -> Iterator[IO[bytes]]:
    """The options NUL-separated in an open, rewound file, as bwrap --args reads them."""
    with tempfile.TemporaryFile() as f:
        f.write(b"".join(o.encode() + b"\0" for o in options))
        f.seek(0)
        yield f


def _root_binds(rootfs: Path) -> list[str]:
    """A tmpfs root holding the image's top-level entries bound read-only (so that mount
    points such as a rebuild's build root can be made), remounted read-only at the end."""
    argv = ["--tmpfs", "/"]
    for entry in sorted(rootfs.iterdir()):
        if entry.name in ("dev", "proc"):
            continue
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry), f"/{entry.name}"]
        elif entry.is_dir():
            argv += ["--ro-bind", str(entry), f"/{entry.name}"]
    return argv


def unpacked_rootfs(image: Image, store: Store, progress: Progress) -> Path:
    """The image's root filesystem as a folder in the store, unpacked once, checked
    against its manifest by each run that uses it."""
    target = store.root / "rootfs" / image.digest
    if target.is_dir() and check_on_use(target, f"the files of image {image.name}", store):
        return target
    progress.status(f"unpacking image {image.name} ({image.digest[:12]}) for the sandbox")
    return place_rootfs(image.digest, store, what=f"image {image.name}")


def place_rootfs(digest: Sha256, store: Store, *, what: str) -> Path:
    """Unpack the image's root filesystem (checked by its sha256) into the store, sealed."""
    target = store.root / "rootfs" / digest
    tar = store.verified_path(digest, f"{what} root filesystem")
    with store.temp_dir("rootfs-") as work:
        unpacked = work / "rootfs"
        unpacked.mkdir()
        result = subprocess.run(
            ["tar", "-C", str(unpacked), "-xf", str(tar), "--exclude=./dev/*",
             "--no-same-owner" if os.geteuid() != 0 else "--same-owner"],
            capture_output=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ImageError(f"cannot unpack {what}: {result.stderr.decode()[-500:]}")
        _make_mount_points(unpacked)
        target.parent.mkdir(parents=True, exist_ok=True)
        seal(unpacked, target)
        with contextlib.suppress(FileExistsError, OSError):
            unpacked.rename(target)
    if not target.is_dir():
        raise ImageError(f"cannot place the unpacked image at {target}")
    return target


def link_rootfs(digest: str, source: Store, target: Store) -> bool:
    """Give `target` the root filesystem `source` has unpacked, as hard links (folders
    made anew, files shared: the sandbox binds it read-only), so that stores on one
    machine (a local cluster's workers) hold one copy, not one each. False when `source`
    has none unpacked or the stores are on different filesystems."""
    unpacked = source.root / "rootfs" / digest
    placed = target.root / "rootfs" / digest
    if placed.is_dir():
        return True
    if not unpacked.is_dir() or differences(unpacked, contents=False):
        return False
    with target.temp_dir("rootfs-") as work:
        try:
            shutil.copytree(unpacked, work / "rootfs", symlinks=True, copy_function=os.link)
        except (OSError, shutil.Error):
            return False
        placed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(manifest_path(unpacked), manifest_path(placed))
        with contextlib.suppress(FileExistsError, OSError):
            (work / "rootfs").rename(placed)
    return placed.is_dir()


def _make_mount_points(rootfs: Path) -> None:
    """Fixed mount points below read-only top-level folders (bwrap cannot mkdir there)."""
    for path in (inside.ENVS, Path(inside.HOME)):
        (rootfs / path.relative_to("/")).mkdir(parents=True, exist_ok=True)


def _rlimits(spec: RunSpec, group: Cgroup | None) -> Callable[[], None]:
    """Limits set in the child before exec: the cgroup (or RLIMIT_AS where there is none),
    the CPU set of a rebuild variation, and a file size limit that stands in for tmpfs
    sizes where bwrap cannot set them."""
    biggest_file = min(spec.limits.tmpfs_mib, spec.limits.out_mib) << 20
    cpus = {int(c) for c in spec.cpuset.split(",")} if spec.cpuset else None

    def apply() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        if group is not None:
            group.add(os.getpid())
        else:
            memory = spec.limits.memory_mib << 20
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (biggest_file, biggest_file))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _pump(
    proc: subprocess.Popen[bytes],
    on_line: LineSink,
    ready: threading.Event,
    ended: threading.Event,
) -> None:
    """Each line of the run's output to `on_line`; `ready` at the ready line, and `ended`
    (which wakes the supervisor) then or at the end of the output."""
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if text == OUTPUT_READY:
                ready.set()
                ended.set()
            on_line(text)
    finally:
        ended.set()


def _collect_output(pid: int, spec: RunSpec, group: Cgroup | None) -> bool:
    """Copy /out from the sandbox's own mount namespace, with every process of the build
    stopped first (nothing can swap a file for a link mid-copy): regular files only, never
    following a link, within the size budget."""
    assert spec.output is not None and spec.output_to is not None
    _stop_all(pid, group)
    source = _sandbox_root(pid) / spec.output.lstrip("/")
    budget = spec.limits.out_mib << 20
    for dirpath, _, filenames in os.walk(source, followlinks=False):
        folder = spec.output_to / Path(dirpath).relative_to(source)
        folder.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            budget = _copy_regular_file(Path(dirpath) / name, folder / name, budget)
            if budget < 0:
                return False
    return True


def _copy_regular_file(src: Path, dst: Path, budget: int) -> int:
    """Copy src if it is a regular file (opened without following links); the budget left."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return budget  # a link, or gone: not part of the output
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return budget
        with dst.open("xb") as out:
            while chunk := f.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:
                    return budget
                out.write(chunk)
    return budget


def _stop_all(pid: int, group: Cgroup | None) -> None:
    """SIGSTOP every process of the sandbox, until no new one appears."""
    stopped: set[int] = set()
    for _ in range(10):
        current = set(group.pids()) if group is not None else _descendants(pid)
        new = current - stopped
        if not new:
            return
        for p in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGSTOP)
        stopped |= new


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _sandbox_root(pid: int) -> Path:
    """bwrap's child (the sandbox's pid 1) holds the mount namespace of the build."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return Path(f"/proc/{children[0]}/root") if children else Path(f"/proc/{pid}/root")


def _kill(proc: subprocess.Popen[bytes], group: Cgroup | None) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    if group is not None:
        group.kill_all()
