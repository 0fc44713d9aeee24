"""The only module that chains the stages: recipe -> image -> fetch -> build -> record
(-> rebuilds under variation, when asked).

An unchanged build key with its wheel still in the store is a cache hit: nothing is
fetched, no container starts, and the stored wheel and record are written to dist/.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builder.build.record import build_key, make_record
from builder.build.run import run_build
from builder.compare.rebuild import RebuildReport, rebuild
from builder.fetch.sources import fetch_all
from builder.images import ensure_image, find_definition
from builder.index import Index
from builder.names import Sha256
from builder.progress import Progress
from builder.recipe import PinnedFile, Recipe, load_recipe
from builder.sandbox import Sandbox
from builder.store import Store, canonical_json, write_atomic
from builder.variation import DEFAULT_KINDS


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildReport:
    wheel: Path
    record_path: Path
    record: dict[str, Any]
    cached: bool
    rebuild: RebuildReport | None = None
    rebuild_path: Path | None = None

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
    recipe_or_path: Recipe | Path,
    *,
    store: Store,
    dist: Path,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    index: Index | None = None,
    image_search: tuple[Path, ...] | None = None,
    rebuilds: int = 0,
    vary: frozenset[str] | None = None,
    no_vary: frozenset[str] = frozenset(),
    normalize: bool = False,
    tools: tuple[PinnedFile, ...] | None = None,
    force: bool = False,
) -> BuildReport:
    """Build a recipe; with `rebuilds`, rebuild it under the variations `vary` (default:
    the recipe's rebuild policy applied to the default variations) less `no_vary`.
    `tools` replaces the image definition's pinned tools (a rebuild from an attestation
    uses the attested ones); `force` builds even when the build key is a cache hit."""
    recipe = recipe_or_path if isinstance(recipe_or_path, Recipe) else load_recipe(recipe_or_path)
    image = ensure_image(find_definition(recipe.image, image_search), store, progress)
    if tools is not None:
        image = replace(image, tools=tools)
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
        unpack_limit_mib=recipe.limits.unpack_mib,
    )
    key = build_key(recipe, image, sources)
    record = store.read_record(key)
    cached = not force and record is not None and store.has(Sha256(record["output"]["sha256"]))
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
    if not rebuilds:
        return _export(record, store, dist, cached)
    report = rebuild(
        recipe, image, sources, record=record, store=store, sandbox=prepared,
        progress=progress, count=rebuilds, normalize=normalize,
        kinds=(recipe.rebuild.kinds(DEFAULT_KINDS) if vary is None else vary) - no_vary,
    )  # fmt: skip
    record = _with_rebuild(record, report, store)
    store.write_record(key, record)
    exported = _export(record, store, dist, cached)
    rebuild_path = dist / f"{exported.wheel.name}.rebuild.json"
    write_atomic(rebuild_path, _pretty(report.to_json()))
    return replace(exported, rebuild=report, rebuild_path=rebuild_path)


def _with_rebuild(record: dict[str, Any], report: RebuildReport, store: Store) -> dict[str, Any]:
    """The record with the rebuild's outcome; the full report is kept in the store."""
    report_sha = store.add_bytes(canonical_json(report.to_json()))
    summary = {
        "builds": len(report.sha256s),
        "reproducible": report.reproducible,
        "sha256s": report.sha256s,
        "normalized_equal": report.normalized_equal,
        "report_sha256": report_sha,
    }
    return record | {"rebuild": summary}


def _pretty(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


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
    write_atomic(record_path, _pretty(record))
    return BuildReport(wheel=wheel, record_path=record_path, record=record, cached=cached)
