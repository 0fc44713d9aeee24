"""Resource limits for the embedded sandbox: a cgroup per run (v2, or v1 controllers).

A cgroup bounds the whole process tree, tmpfs pages included (they are charged to the
memory of the group that writes them). Where no cgroup can be made (no permission), the
sandbox falls back to rlimits and says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from builder import owner
from builder.limits import Limits

ROOT = Path("/sys/fs/cgroup")
PREFIX = "builder-"
V1_CONTROLLERS = ("memory", "pids", "cpu")


@dataclass
class Cgroup:
    """One run's group: where its pids go, and whether the OOM killer struck in it."""

    dirs: list[Path] = field(default_factory=list)
    version: int = 2

    def add(self, pid: int) -> None:
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                with contextlib.suppress(OSError):
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
        return False

    def pids_refused(self) -> bool:
        """Whether the group refused a fork at its pids limit (a build may go on without
        the process it could not start: a compiler, so a pure-Python fallback)."""
        return any(pids_refused(d) for d in self.dirs)

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        return sorted(found)

    def kill_all(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """rmdir each group, once its killed processes are gone (a moment after SIGKILL)."""
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def pids_refused(group: Path) -> bool:
    """Whether the cgroup `group` (v1 or v2) counted a fork refused at pids.max."""
    with contextlib.suppress(OSError, ValueError):
        for line in (group / "pids.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and int(value) > 0:
                return True
    return False


def _v2(name: str, limits: Limits) -> Cgroup | None:
    if not (ROOT / "cgroup.controllers").is_file():
        return None
    group = ROOT / name
    group.mkdir()
    (group / "memory.max").write_text(str(limits.memory_mib << 20))
    (group / "memory.swap.max").write_text("0")
    (group / "pids.max").write_text(str(limits.pids))
    (group / "cpu.max").write_text(f"{int(limits.cpus * 100_000)} 100000")
    return Cgroup(dirs=[group], version=2)


def _v1(name: str, limits: Limits) -> Cgroup | None:
    settings = {
        "memory": {"memory.limit_in_bytes": str(limits.memory_mib << 20)},
        "pids": {"pids.max": str(limits.pids)},
        "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(int(limits.cpus * 1e5))},
    }
    if not all((ROOT / controller).is_dir() for controller in V1_CONTROLLERS):
        return None
    group = Cgroup(version=1)
    try:
        for controller, files in settings.items():
            d = ROOT / controller / name
            d.mkdir()
            group.dirs.append(d)
            for file, value in files.items():
                (d / file).write_text(value)
    except OSError:
        group.remove()
        raise
    with contextlib.suppress(OSError):  # absent without swap accounting
        (ROOT / "memory" / name / "memory.memsw.limit_in_bytes").write_text(
            str(limits.memory_mib << 20)
        )
    return group


@contextlib.contextmanager
def cgroup(limits: Limits) -> Iterator[Cgroup | None]:
    """A fresh cgroup with the limits, or None where this process may not make one."""
    name = f"{PREFIX}{owner.current().token}-{uuid.uuid4().hex[:8]}"
    group = None
    try:
        with contextlib.suppress(OSError):
            group = _v2(name, limits) or _v1(name, limits)
        yield group
    finally:
        if group is not None:
            group.kill_all()
            group.remove()


def can_make() -> bool:
    """Whether this process may make a cgroup with every limit (so the sandbox holds the
    pids, memory and CPU limits as docker does, not only rlimits)."""
    with cgroup(Limits()) as group:
        return group is not None


def reap_leftovers() -> list[str]:
    """Kill what runs in, and remove, the cgroups of sandboxes whose builder is gone."""
    removed = []
    for parent in (ROOT, *(ROOT / c for c in V1_CONTROLLERS)):
        with contextlib.suppress(OSError):
            for d in sorted(parent.glob(f"{PREFIX}*")):
                left_by = owner.Owner.find(d.name)
                if d.is_dir() and left_by is not None and left_by.gone():
                    group = Cgroup(dirs=[d])
                    group.kill_all()
                    group.remove()
                    removed.append(f"cgroup {d} (builder pid {left_by.pid})")
    return removed
