"""The build stage: run the PEP 517 build of a fetched recipe inside a Sandbox.

The environment is exactly the recipe's plus the reproducibility settings; nothing of the
caller's environment is passed on. The result is a wheel in the store, its log in the
store, and what the in-container driver reported (step timings, repair).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from builder.errors import BuildFailed
from builder.fetch.sources import Sources
from builder.images import Image
from builder.images.toolchain import advice, newer_rust, rust_failed, rust_too_old
from builder.inside import archive, compilers
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.inside.archive import compiled_members
from builder.inside.compilers import CompilerFlags
from builder.limits import Limits
from builder.names import Sha256
from builder.progress import Progress
from builder.recipe import Recipe
from builder.sandbox import RunResult, RunSpec, Sandbox
from builder.sandbox.staging import run_spec, stage
from builder.store import Store
from builder.variation import REFERENCE, Variation
from builder.wheelbuild.limit_advice import limit_advice, limits_reached
from builder.wheelbuild.venvs import VenvsRef, prepared_venvs

MAX_LOG_BYTES = 32 << 20
DRIVER_ERROR = "==> error: "  # how the driver says what stopped it


@dataclass(frozen=True, slots=True, kw_only=True)
class MountRecord:
    target: str
    read_only: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerInfo:
    """The cluster worker a build ran on (a build on the head's own machine has none)."""

    name: str
    address: str
    host: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "host": self.host}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """How the run was set up: backend, command, exact environment, mounts, limits."""

    backend: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    mounts: tuple[MountRecord, ...]
    tmpfs: tuple[str, ...]
    workdir: str
    network: bool
    user: str
    hostname: str
    cpuset: str | None
    limits: Limits
    venvs: VenvsRef | None = None
    worker: WorkerInfo | None = None
    # What the compiler wrappers pass each language's compiler, "$@" standing for the
    # build's own arguments (none recorded: a record made before the wrappers).
    compilers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, spec: RunSpec, backend: str, venvs: VenvsRef | None, task: tasks.BuildTask
    ) -> RunRecord:
        return cls(
            backend=backend,
            command=spec.command,
            env=dict(spec.env),
            compilers=compilers.arguments(task.build_root, task.compiler_flags),
            mounts=tuple(MountRecord(target=m.target, read_only=m.read_only) for m in spec.mounts),
            tmpfs=spec.tmpfs,
            workdir=spec.workdir,
            network=spec.network,
            user=spec.user,
            hostname=spec.hostname,
            cpuset=spec.cpuset,
            limits=spec.limits,
            venvs=venvs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltWheel:
    file: str
    sha256: Sha256
    unrepaired_file: str
    grafted_libraries: tuple[str, ...]
    log_sha256: Sha256
    run: RunRecord
    timings: dict[str, float]
    duration_s: float
    remapped: tuple[str, ...] = ()  # text members whose build path the driver wrote as /build


def source_date_epoch(recipe: Recipe, sdist_path: Path) -> int:
    if recipe.source_date_epoch is not None:
        return recipe.source_date_epoch
    return archive.latest_mtime(sdist_path)


def build_env(recipe: Recipe, epoch: int, root: str = str(inside.BUILD)) -> dict[str, str]:
    """The whole environment of the build: the recipe's, then what reproducibility needs.

    No compiler flags: the recipe's CFLAGS, CXXFLAGS, FFLAGS and RUSTFLAGS go to the
    compiler wrappers (builder.inside.compilers), which come first on the PATH."""
    layout = inside.Layout(Path(root))
    env = {k: v for k, v in recipe.env.items() if k not in compilers.VARIABLES}
    env.update(
        {
            "PATH": f"{layout.venv}/bin:{compilers.WRAPPERS}:/usr/local/bin:/usr/bin:/bin",
            "HOME": inside.HOME,
            "TZ": "UTC",
            "TMPDIR": str(layout.tmp),
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "SOURCE_DATE_EPOCH": str(epoch),
            "CARGO_HOME": str(layout.cargo_home),
            "CARGO_NET_OFFLINE": "true",
            "PIP_NO_INDEX": "1",
        }
    )
    return dict(sorted(env.items()))


def build_task(
    recipe: Recipe, sources: Sources, env: dict[str, str], variation: Variation
) -> tasks.BuildTask:
    return tasks.BuildTask(
        sdist=sources.sdist.file,
        patches=sources.patch_files,
        crates=tuple(
            tasks.CratePin(name=c.name, version=c.version, file=c.file, sha256=c.sha256)
            for c in sources.crates
        ),
        repair=recipe.repair,
        unpack_bytes=recipe.limits.unpack_mib << 20,
        env=env,
        build_root=variation.build_root,
        umask=variation.umask,
        reverse_listing_order=variation.reverse_listing_order,
        config_settings=dict(recipe.config_settings),
        compiler_flags=CompilerFlags.of_env(recipe.env),
    )


def run_build(
    recipe: Recipe,
    image: Image,
    sources: Sources,
    *,
    store: Store,
    sandbox: Sandbox,
    progress: Progress,
    variation: Variation = REFERENCE,
) -> BuiltWheel:
    venvs = prepared_venvs(image, sources, store=store, sandbox=sandbox, progress=progress)
    sdist_path = store.verified_path(sources.sdist.sha256, sources.sdist.file)
    epoch = source_date_epoch(recipe, sdist_path)
    env = variation.environment(build_env(recipe, epoch, variation.build_root))
    started = time.monotonic()
    with store.temp_dir("build-") as work:
        task = build_task(recipe, sources, env, variation)
        mounts = stage(store, work, sources.staged_files(), task, bind_output=False)
        spec = run_spec(
            image=image,
            task=task,
            mounts=mounts,
            limits=recipe.limits,
            variation=variation,
            output_to=work / "out",
            venvs=venvs.path,
        )
        what = f"{recipe.name} {recipe.version}"
        if variation.index:
            what += (
                f" (rebuild {variation.index}: {', '.join(variation.applied) or 'no variation'})"
            )
        progress.status(f"building {what} in {sandbox.name} (no network)")
        log_lines: list[str] = []
        result = sandbox.run(spec, _tee(log_lines, progress.log))
        log_sha = store.add_bytes(("\n".join(log_lines) + "\n").encode())
        if not result.ok:
            raise _failure(recipe, image, result, store, log_sha, log_lines)
        wheel, outcome = _collect(work / "out", recipe, store.path_of(log_sha))
        _of_recipe(wheel, recipe, store.path_of(log_sha))
        if recipe.compiled and not compiled_members(wheel):
            raise BuildFailed(
                f"build of {recipe.name} {recipe.version} ({recipe.path}) gave {wheel.name}, "
                "which holds no compiled code, and the recipe says compiled = true",
                hint="the build fell back to pure Python; its log says why: "
                f"{store.path_of(log_sha)}",
            )
        wheel_sha = store.add_file(wheel, what=wheel.name)
        return BuiltWheel(
            file=wheel.name,
            sha256=wheel_sha,
            unrepaired_file=outcome.unrepaired or wheel.name,
            grafted_libraries=grafted_libraries(wheel),
            log_sha256=log_sha,
            run=RunRecord.of(spec, sandbox.name, venvs.ref, task),
            timings=dict(outcome.timings),
            duration_s=round(time.monotonic() - started, 3),
            remapped=outcome.remapped,
        )


def _tee(lines: list[str], sink: Callable[[str], None]) -> Callable[[str], None]:
    """Keep and show the log up to MAX_LOG_BYTES: a build that prints without end must
    not exhaust the host's memory or terminal; the cut is said in the log."""
    kept = 0

    def on_line(line: str) -> None:
        nonlocal kept
        if kept > MAX_LOG_BYTES:
            return
        kept += len(line) + 1
        if kept > MAX_LOG_BYTES:
            line = f"==> builder: log truncated after {MAX_LOG_BYTES >> 20} MiB"
        lines.append(line)
        sink(line)

    return on_line


def _failure(
    recipe: Recipe,
    image: Image,
    result: RunResult,
    store: Store,
    log_sha: Sha256,
    lines: list[str],
) -> BuildFailed:
    """The reason, with what the driver said went wrong where it said it (a patch that does
    not apply, an sdist it refused), cargo's refusal of a rustc too old, or a crate rustc
    could not compile where another image has a newer rustc; the rest is in the log."""
    said = [line.removeprefix(DRIVER_ERROR) for line in lines if line.startswith(DRIVER_ERROR)]
    because = f": {said[-1]}" if said else ""
    hint = f"the full log is {store.path_of(log_sha)}"
    if (refusal := rust_too_old(lines)) is not None:
        because = f": {refusal.message(recipe.image)}"
        hint = f"{advice(refusal, image, store)}; {hint}"
    elif (failed := rust_failed(lines)) and (newer := newer_rust(failed, image, store)):
        because = f": {newer[0]}"
        hint = f"{newer[1]}; {hint}"
    elif reached := limits_reached(result, lines, recipe.limits):
        hint = f"{limit_advice(reached)}; {hint}"
    return BuildFailed(
        f"build of {recipe.name} {recipe.version} ({recipe.path}) {result.reason()}{because}",
        hint=hint,
    )


def _collect(out: Path, recipe: Recipe, log: Path) -> tuple[Path, tasks.BuildOutcome]:
    try:
        outcome = tasks.BuildOutcome.read(out / tasks.OUTCOME_FILE)
        if outcome.wheel is None:
            raise ValueError("it names no wheel")
        wheel = out / outcome.wheel
        parse_wheel_filename(wheel.name)
    except (OSError, ValueError, TypeError, InvalidWheelFilename) as exc:
        raise BuildFailed(
            f"build of {recipe.name} {recipe.version} left no valid wheel in /out: {exc}",
            hint=f"the full log is {log}",
        ) from exc
    if wheel.parent != out or wheel.is_symlink() or not wheel.is_file():
        raise BuildFailed(f"build of {recipe.name}: {wheel.name} is not a regular file in /out")
    return wheel, outcome


def _of_recipe(wheel: Path, recipe: Recipe, log: Path) -> None:
    """Refuse a wheel of another project or release than the recipe pins: a hostile or
    mislabelled sdist must not put its wheel under the recipe's name."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    if (name, version) != (canonicalize_name(recipe.name), Version(recipe.version)):
        raise BuildFailed(
            f"build of {recipe.name} {recipe.version} ({recipe.path}) gave {wheel.name}, "
            f"a wheel of {name} {version}",
            hint="the sdist builds another project or release than the recipe pins: check "
            f"its metadata (pyproject.toml, setup.py); the log is {log}",
        )


def grafted_libraries(wheel: Path) -> tuple[str, ...]:
    """Shared libraries auditwheel copied in: they live in a top-level *.libs folder."""
    with zipfile.ZipFile(wheel) as zf:
        return tuple(
            sorted(
                n
                for n in zf.namelist()
                if n.split("/", 1)[0].endswith(".libs") and "/" in n and not n.endswith("/")
            )
        )
