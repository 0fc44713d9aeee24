"""Lock build requirements to exact wheels, for the image's Python rather than the host's.

The resolution runs inside a network-on container of the build image, with the image's own
pip (`pip download --only-binary :all:`), so markers and wheel tags are those of the
interpreter that will build. Only wheels are accepted: resolving never runs an sdist's
code. Each downloaded wheel is hashed on the host, checked against the digest the index
lists, and kept in the store, so the lock's pins are already fetched.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from builder.errors import FetchError
from builder.fetch.network import NETWORK_LIMITS, network_access
from builder.fetch.sources import Sources, fetch_pinned
from builder.images import Image
from builder.index import Index
from builder.inside import archive
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.limits import Limits
from builder.names import normalize
from builder.progress import Progress
from builder.recipe import PinnedFile
from builder.resolve.answers import Answers
from builder.sandbox import RunResult, Sandbox
from builder.sandbox.staging import StagedFile, run_spec, stage
from builder.store import Store
from builder.wheelbuild.venvs import prepared_venvs

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRuns:
    """Where a plan's questions are asked: runs of `image` in `sandbox`, its wheels from
    `index` into `store`; with `answers`, an answer kept from an earlier plan is read
    instead of asked again (resolve/answers.py)."""

    image: Image
    store: Store
    index: Index
    sandbox: Sandbox
    progress: Progress
    answers: Answers | None = None

    def kept(self, ask: Callable[[], T], keep: Callable[[Answers, Callable[[], T]], T]) -> T:
        return ask() if self.answers is None else keep(self.answers, ask)


def lock_requirements(
    requirements: Sequence[Requirement], runs: ImageRuns
) -> tuple[PinnedFile, ...]:
    """Every wheel of the requirements' closure, pinned by sha256 and stored."""
    if not requirements:  # a backend that bootstraps itself from its own source
        return ()
    _refuse_direct_references(requirements)
    texts = tuple(str(r) for r in requirements)

    def ask() -> tuple[PinnedFile, ...]:
        with pip_in_image(tasks.LockTask, texts, runs) as (result, out):
            if not result.ok:
                raise FetchError(
                    f"resolving the build requirements {list(texts)} {result.reason()}",
                    hint="every build requirement needs a wheel for the image's Python on "
                    "the index",
                )
            wheels = sorted((out / "wheels").glob("*"))
            return tuple(_pin(path, runs.store, runs.index) for path in wheels)

    return runs.kept(ask, lambda a, q: a.lock(runs.image, runs.index.url, texts, q))


@contextlib.contextmanager
def pip_in_image(
    mode: type[tasks.LockTask] | type[tasks.ResolveTask],
    requirements: tuple[str, ...],
    runs: ImageRuns,
) -> Iterator[tuple[RunResult, Path]]:
    """A network run of the image in which its own pip resolves `requirements` from the
    configured index (wheels only): the run's result and its /out, until the block ends."""
    image, store, index, sandbox, progress = (runs.image, runs.store, runs.index, runs.sandbox,
                                              runs.progress)  # fmt: skip
    with store.temp_dir(f"{mode.mode}-") as work:
        env, ca_mounts = network_access(inside.base_env() | {"PIP_INDEX_URL": index.url})
        task = mode(requirements=requirements, env=env)
        mounts = (*stage(store, work, [], task), *ca_mounts)
        spec = run_spec(image=image, task=task, mounts=mounts, limits=NETWORK_LIMITS, network=True)
        progress.status(f"resolving {', '.join(requirements)} for {image.name}")
        yield sandbox.run(spec, progress.log), work / "out"


def _refuse_direct_references(requirements: Sequence[Requirement]) -> None:
    for req in requirements:
        if req.url:
            raise FetchError(
                f"build requirement {str(req)!r} is a direct URL reference",
                hint="builder resolves build requirements from the configured index only",
            )


def _pin(path: Path, store: Store, index: Index) -> PinnedFile:
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        raise FetchError(f"the resolver left {path.name!r}, which is not a wheel") from None
    listed = index.find(normalize(name), path.name)
    sha256 = store.add_file(path, expected=listed.sha256, what=path.name)
    return PinnedFile(
        name=normalize(name), version=str(version), file=path.name, sha256=sha256, index=index.url
    )


def backend_requirements(
    sdist: PinnedFile,
    pins: Sequence[PinnedFile],
    runs: ImageRuns,
    env: Mapping[str, str] | None = None,
) -> list[Requirement]:
    """What the sdist's backend asks for through get_requires_for_build_wheel (meson-python
    asks for ninja, scikit-build-core for cmake), with the recipe's `env` set (an opt-in
    can ask for more: Cython, mypy). Its code runs: a build-like run, no network, with the
    locked requirements installed (the build's own prepared venvs)."""
    asked = dict(env or {})
    texts = runs.kept(
        lambda: _ask_backend(sdist, pins, runs, asked),
        lambda a, q: a.backend(runs.image, sdist, pins, asked, q),
    )
    try:
        return [Requirement(t) for t in texts]
    except (InvalidRequirement, TypeError) as exc:
        raise FetchError(f"{sdist.file}: its backend asked for {texts!r}: {exc}") from exc


def _ask_backend(
    sdist: PinnedFile, pins: Sequence[PinnedFile], runs: ImageRuns, env: Mapping[str, str]
) -> list[str]:
    image, store, index, sandbox, progress = (runs.image, runs.store, runs.index, runs.sandbox,
                                              runs.progress)  # fmt: skip
    for tool in image.tools:
        fetch_pinned(tool, store, index, progress)
    sdist_path = store.verified_path(sdist.sha256, sdist.file)
    ours = inside.base_env(f"{inside.Layout().venv}/bin:/usr/bin:/bin") | {
        "SOURCE_DATE_EPOCH": str(archive.latest_mtime(sdist_path))
    }
    env = {**env, **ours}  # the recipe's variables, never over builder's
    sources = Sources(sdist=sdist, requires=tuple(pins), tools=image.tools, crates=())
    venvs = prepared_venvs(image, sources, store=store, sandbox=sandbox, progress=progress)
    staged = [StagedFile(folder="sdist", file=sdist.file, sha256=sdist.sha256)]
    task = tasks.RequiresTask(sdist=sdist.file, env=dict(sorted(env.items())))
    with store.temp_dir("requires-") as work:
        mounts = stage(store, work, staged, task, bind_output=False)
        spec = run_spec(
            image=image, task=task, mounts=mounts, limits=Limits(timeout_s=600),
            output_to=work / "out", venvs=venvs.path,
        )  # fmt: skip
        progress.status(f"asking {sdist.file}'s build backend what else it needs (no network)")
        result = sandbox.run(spec, progress.log)
        answer = work / "out" / "requires.json"
        if not result.ok or not answer.is_file():
            raise FetchError(
                f"asking the build backend of {sdist.file} for its requirements "
                f"{result.reason() if not result.ok else 'gave no answer'}"
            )
        texts = json.loads(answer.read_text(encoding="utf-8"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise FetchError(f"{sdist.file}: its backend asked for {texts!r}, not requirements")
    return texts


def unmet(requirements: Sequence[Requirement], pins: Sequence[PinnedFile]) -> list[Requirement]:
    """The requirements no pinned wheel satisfies."""
    return [
        r
        for r in requirements
        if not any(
            p.name == normalize(r.name) and r.specifier.contains(p.version, prereleases=True)
            for p in pins
        )
    ]
