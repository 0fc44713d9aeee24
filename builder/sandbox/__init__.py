"""What runs a build in isolation: the Sandbox protocol and the values it takes.

A backend receives a complete RunSpec (image, command, exact environment, mounts, limits)
and returns a RunResult; it never decides what to run, only how to contain it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from builder.images import Image
from builder.inside.layout import BUILD_USER, HOSTNAME
from builder.limits import Limits
from builder.progress import Progress
from builder.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    image: Image
    command: tuple[str, ...]
    env: Mapping[str, str]
    mounts: tuple[Mount, ...]
    tmpfs: tuple[str, ...]
    workdir: str
    limits: Limits
    network: bool = False
    user: str = BUILD_USER
    hostname: str = HOSTNAME
    cpuset: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # The output folder: a size-limited tmpfs inside the sandbox (never a host mount, so a
    # build cannot fill the host's disk), delivered into `output_to` on the host once the
    # driver prints OUTPUT_READY, through the backend and through the archive checks.
    output: str | None = None
    output_to: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    exit_code: int
    duration_s: float
    timed_out: bool = False
    oom_killed: bool = False
    output_collected: bool = False
    # A fork refused at the pids limit: even a run that ends well may have lost what it
    # could not start (a compiler, and with it the compiled extension).
    pids_refused: bool = False

    @property
    def ok(self) -> bool:
        finished = self.exit_code == 0 or self.output_collected
        return finished and not self.timed_out and not self.oom_killed and not self.pids_refused

    def reason(self) -> str:
        if self.timed_out:
            return "stopped: the wall-clock limit was reached"
        if self.oom_killed:
            return "killed: the memory limit was reached"
        if self.pids_refused:
            return "failed: the pids limit refused it a process"
        return f"exited with status {self.exit_code}"


LineSink = Callable[[str], None]


# Said by a backend asked to start a run after cancel(): a build's next run never starts.
CANCELLED = "the run was not started: its builder was interrupted (Ctrl-C) and cancelled it"


class Sandbox(Protocol):
    name: str

    def prepare(self, image: Image, store: Store, progress: Progress) -> None:
        """Make the image runnable by this backend (e.g. import its root filesystem)."""

    def run(self, spec: RunSpec, on_line: LineSink) -> RunResult:
        """Run to completion or limit; leave nothing running or behind, whatever happens.

        The run ends, too, when the builder process that started it ends, however it
        ends: its driver watches a lifeline (stdin) that only this process holds open."""

    def cancel(self) -> None:
        """Stop every run of this backend now, from another thread (a graph's Ctrl-C): each
        ends as if its process had been killed, and is removed as always; a run asked for
        afterwards does not start (BuildFailed: CANCELLED)."""

    def reap(self) -> list[str]:
        """Remove what runs of builder processes that are gone left behind (a stopped
        container, an empty cgroup); say what was removed."""
