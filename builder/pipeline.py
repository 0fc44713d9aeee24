"""The only module that chains the stages: recipe -> image -> fetch -> build -> record.

An unchanged build key with its wheel still in the store is a cache hit: nothing is
fetched, no container starts, and the stored wheel and record are written to dist/.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.build import run_build
from builder.fetch import fetch_all
from builder.images import ensure_image, find_definition
from builder.index import Index
from builder.names import Sha256
from builder.progress import Progress
from builder.recipe import load_recipe
from builder.record import build_key, make_record
from builder.sandbox import Sandbox
from builder.store import Store, write_atomic


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildReport:
    wheel: Path
    record_path: Path
    record: dict[str, Any]
    cached: bool

    @property
    def sha256(self) -> Sha256:
        return Sha256(self.record["output"]["sha256"])


class LazySandbox:
    """Connects to the backend only when a container is really needed (not on a cache hit)."""

    def __init__(self, factory: Callable[[], Sandbox]) -> None:
        self._factory = factory
        self._sandbox: Sandbox | None = None

    def get(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = self._factory()
        return self._sandbox


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def build_recipe(
    recipe_path: Path,
    *,
    store: Store,
    dist: Path,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    index: Index | None = None,
    image_search: tuple[Path, ...] | None = None,
) -> BuildReport:
    recipe = load_recipe(recipe_path)
    image = ensure_image(find_definition(recipe.image, image_search), store, progress)
    lazy = LazySandbox(sandbox_factory)

    def prepared() -> Sandbox:
        sandbox = lazy.get()
        sandbox.prepare(image, store, progress)
        return sandbox

    sources = fetch_all(
        sdist=recipe.sdist,
        requires=recipe.requires,
        tools=image.tools,
        image=image,
        store=store,
        index=index or Index(),
        sandbox_factory=prepared,
        progress=progress,
    )
    key = build_key(recipe, image, sources)
    record = store.read_record(key)
    cached = record is not None and store.has(Sha256(record["output"]["sha256"]))
    if record is None or not cached:
        started = _now()
        built = run_build(
            recipe, image, sources, store=store, sandbox=prepared(), progress=progress
        )
        record = make_record(
            key=key,
            recipe=recipe,
            image=image,
            sources=sources,
            built=built,
            started_on=started,
            finished_on=_now(),
        )
        store.write_record(key, record)
    else:
        progress.status(f"cache hit: {recipe.name} {recipe.version} (build key {key[:16]})")
    return _export(record, store, dist, cached)


def _export(record: dict[str, Any], store: Store, dist: Path, cached: bool) -> BuildReport:
    """Copy the wheel and its record into dist/, each through a temporary name."""
    output = record["output"]
    stored = store.verified_path(Sha256(output["sha256"]), output["wheel"])
    dist.mkdir(parents=True, exist_ok=True)
    wheel = dist / output["wheel"]
    tmp = dist / f".{wheel.name}.tmp"
    try:
        shutil.copyfile(stored, tmp)
        tmp.replace(wheel)
    finally:
        tmp.unlink(missing_ok=True)
    record_path = dist / f"{wheel.name}.build.json"
    write_atomic(record_path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return BuildReport(wheel=wheel, record_path=record_path, record=record, cached=cached)
