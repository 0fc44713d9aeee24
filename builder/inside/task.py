"""A task: what the host asks of a run: one frozen dataclass per mode, written as /inputs/task.json
by the host and read back by the driver. JSON only at these two edges. Standard library
only (the driver reads it on the image's python3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

from builder.errors import BuilderError
from builder.inside.compilers import CompilerFlags
from builder.inside.layout import BUILD


@dataclass(frozen=True, slots=True, kw_only=True)
class CratePin:
    name: str
    version: str
    file: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildTask:
    """Build the sdist's wheel with the prepared venvs, repair it, leave it in /out."""

    mode: ClassVar[str] = "build"
    sdist: str
    patches: tuple[str, ...] = ()  # under /inputs/patches, applied in this order
    crates: tuple[CratePin, ...] = ()
    repair: Literal["auto", "skip"] = "auto"  # builder.recipe.Repair
    unpack_bytes: int
    env: Mapping[str, str] = field(default_factory=dict)
    build_root: str = str(BUILD)
    umask: str = "022"
    reverse_listing_order: bool = False
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    compiler_flags: CompilerFlags = field(default_factory=CompilerFlags)  # the recipe's


@dataclass(frozen=True, slots=True, kw_only=True)
class VenvsTask:
    """Make the build venv and the tools venv from the pinned wheels (no sdist)."""

    mode: ClassVar[str] = "venvs"
    requires: tuple[str, ...]
    tools: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiresTask:
    """Ask the sdist's build backend what else it needs (its code runs; no network)."""

    mode: ClassVar[str] = "requires"
    sdist: str
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchCratesTask:
    """Network on: cargo fetches the crates the sdist's Cargo.lock files pin (with the
    recipe's patches applied first: a patch may add a Cargo.lock)."""

    mode: ClassVar[str] = "fetch-crates"
    sdist: str
    cargo_locks: tuple[str, ...]
    patches: tuple[str, ...] = ()  # under /inputs/patches, applied in this order
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockCratesTask:
    """Network on: cargo resolves a Cargo.lock for each cargo project of the sdist that
    ships none (`cargo generate-lockfile`), left in /out/locks/<n>.lock in this order."""

    mode: ClassVar[str] = "lock-crates"
    sdist: str
    projects: tuple[str, ...]  # folders of the sdist holding a Cargo.toml
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockTask:
    """Network on: the image's pip resolves requirements to wheels (wheels only)."""

    mode: ClassVar[str] = "lock"
    requirements: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveTask:
    """Network on: the image's pip resolves requirements for the image's Python and
    platform from wheels' metadata (nothing is built, no sdist's code runs) and reports
    the closure in /out/report.json (pip's installation report)."""

    mode: ClassVar[str] = "resolve"
    requirements: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


Task = (
    BuildTask | VenvsTask | RequiresTask | FetchCratesTask | LockCratesTask | LockTask | ResolveTask
)
TASKS: dict[str, type[Task]] = {
    p.mode: p
    for p in (BuildTask, VenvsTask, RequiresTask, FetchCratesTask, LockCratesTask, LockTask,
              ResolveTask)
}  # fmt: skip


def to_json(task: Task) -> dict[str, Any]:
    return {"mode": task.mode, **asdict(task)}


def from_json(data: Any, where: str) -> Task:
    """The task `data` describes, or a BuilderError naming the first thing wrong."""
    if not isinstance(data, dict) or data.get("mode") not in TASKS:
        raise BuilderError(f"{where}: not a task of a known mode ({', '.join(TASKS)})")
    cls = TASKS[data["mode"]]
    known = {f.name for f in fields(cls)}
    if unknown := sorted(set(data) - known - {"mode"}):
        raise BuilderError(f"{where}: unknown keys for a {cls.mode} task: {unknown}")
    values = {k: _value(k, v) for k, v in data.items() if k != "mode"}
    try:
        return cls(**values)
    except TypeError as exc:
        raise BuilderError(f"{where}: {exc}") from exc


def _value(key: str, value: Any) -> Any:
    if key == "crates":
        return tuple(CratePin(**c) for c in value)
    if key == "compiler_flags" and isinstance(value, dict):
        return CompilerFlags(**{k: tuple(v) for k, v in value.items()})
    if key == "config_settings" and isinstance(value, dict):
        return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    return tuple(value) if isinstance(value, list) else value


def write(task: Task, path: Path) -> None:
    path.write_text(json.dumps(to_json(task), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read(path: Path) -> Task:
    return from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


OUTCOME_FILE = "result.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOutcome:
    """What a build or venvs run leaves beside its output in /out (untrusted: the host
    checks it like everything else that comes out of a run)."""

    wheel: str | None = None
    unrepaired: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    remapped: tuple[str, ...] = ()  # text members whose build path was written as /build

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> BuildOutcome:
        """The outcome in `path`; ValueError, OSError or TypeError when it is not one."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or set(data) - {"wheel", "unrepaired", "timings", "remapped"}:
            raise ValueError(f"{path.name}: not a build outcome")
        timings = data.get("timings", {})
        if not isinstance(timings, dict) or not all(
            isinstance(v, int | float) for v in timings.values()
        ):
            raise ValueError(f"{path.name}: timings are not numbers")
        for key in ("wheel", "unrepaired"):
            if not isinstance(data.get(key), str | None):
                raise ValueError(f"{path.name}: {key} is not a string")
        remapped = data.get("remapped", [])
        if not isinstance(remapped, list) or not all(isinstance(m, str) for m in remapped):
            raise ValueError(f"{path.name}: remapped is not a list of member names")
        return cls(wheel=data.get("wheel"), unrepaired=data.get("unrepaired"), timings=timings,
                   remapped=tuple(remapped))  # fmt: skip
