"""The build chain: recipe -> image -> fetch -> build -> record (-> rebuilds under
variation) (-> signed attestations).

An unchanged build key with its wheel still in the store is a cache hit: nothing is
fetched, no container starts, and the stored wheel and record are written to dist/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builder.built_catalog import BuiltCatalog, CatalogEntry
from builder.compare.rebuild import RebuildReport, rebuild, recorded_rebuilds
from builder.compare.upstream import compiled_upstream
from builder.encoding import canonical_json, pretty_json
from builder.errors import BuildFailed, FetchError, ImageError, StoreError
from builder.fetch.sources import Sources, fetch_all
from builder.images import (
    Image,
    ImageDefinition,
    ensure_image,
    find_definition,
)
from builder.inside.archive import compiled_members
from builder.names import Sha256
from builder.pipeline.request import BuildRequest, Workspace
from builder.progress import Progress
from builder.provenance.bundle import Bundle, attest
from builder.recipe import PinnedFile, Recipe
from builder.sandbox import Sandbox
from builder.scan.pickles import PickleScan, refuse_dangerous, scan_archive
from builder.store import Store, write_atomic
from builder.wheelbuild.place import BuildPlace, LocalPlace
from builder.wheelbuild.record import (
    BuildRecord,
    RebuildSummary,
    RecordError,
    build_key,
    make_record,
)
from builder.wheelbuild.record_check import input_problems, record_problems


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildReport:
    wheel: Path
    record_path: Path
    record: BuildRecord
    cached: bool
    log: Path  # the build's whole log, in the store (a cache hit's: its build's)
    rebuild: RebuildReport | None = None
    rebuilds_recorded: bool = False  # the rebuilds are a cache hit's, not run again
    rebuild_path: Path | None = None
    bundle: Bundle | None = None
    # The index's compiled wheels of the release, where this wheel holds no compiled code.
    upstream_compiled: tuple[str, ...] = ()

    @property
    def sha256(self) -> Sha256:
        return self.record.output.sha256


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


def build(request: BuildRequest, workspace: Workspace) -> BuildReport:
    """Build the request's recipe in the workspace (a cache hit when its build key is
    stored, unless forced); rebuild it as asked; write the wheel and its record to dist/
    and, with a signer, the attestations its record supports."""
    recipe, store, progress = request.recipe, workspace.store, workspace.progress
    _bound(recipe, workspace)
    image, family = _images(request, workspace)
    lazy = LazySandbox(workspace.sandbox_factory)

    def prepared() -> Sandbox:
        sandbox = lazy.get()
        sandbox.prepare(image, store, progress)
        return sandbox

    place = workspace.place or LocalPlace(store, prepared, progress)
    here = request.built_pins
    sources = fetch_all(
        recipe,
        requires=(*recipe.requires,
                  *(here if here is not None else _built_requirements(recipe, family, store))),
        image=image, store=store, index=workspace.index, sandbox_factory=prepared,
        progress=progress,
    )  # fmt: skip
    key = build_key(recipe, image, sources)
    record = None if request.force else _cached_record(store, key, recipe, sources)
    cached = record is not None
    if record is None:
        record = _built(recipe, image, sources, key, place, family, workspace)
    else:
        progress.status(f"cache hit: {recipe.name} {recipe.version} (build key {key[:16]})")
    stored = store.verified_path(record.output.sha256, record.output.wheel)
    compiled = bool(compiled_members(stored))
    compiled_elsewhere = () if compiled else _compiled_upstream(recipe, record, image, workspace)
    report = _reused(request, record, workspace) if cached and request.rebuilds.count else None
    reused = report is not None
    if report is not None:
        report = replace(report, upstream_compiled=compiled_elsewhere)
    elif request.rebuilds.count:
        report = _rebuilt(request, image, sources, record, place, workspace)
        report = replace(report, upstream_compiled=compiled_elsewhere)
        record = record.with_rebuild(_summary(report, store))
        store.write_record(key, record.to_json())
    entry = CatalogEntry(wheel=record.output.wheel, sha256=record.output.sha256, build_key=key,
                         code="compiled" if compiled else "pure")  # fmt: skip
    BuiltCatalog(store).add(family, recipe.name, recipe.version, entry)
    wheel, record_path = _export(record, stored, workspace.dist)
    exported = BuildReport(
        wheel=wheel, record_path=record_path, record=record, cached=cached,
        log=store.path_of(record.log_sha256), upstream_compiled=compiled_elsewhere,
        rebuilds_recorded=reused,
    )  # fmt: skip
    return _finish(exported, record, report, workspace)


def _bound(recipe: Recipe, workspace: Workspace) -> None:
    """Every file the recipe pins from an index, held to the policy's binding of names to
    indexes before anything is fetched (GateFailed, exit 14)."""
    if workspace.binding is None:
        return
    for pin in (recipe.sdist, *recipe.requires):
        url = pin.index or workspace.index.url
        workspace.binding.check(pin.name, url, f"{recipe.path}: {pin.name} {pin.version}")


def _images(request: BuildRequest, workspace: Workspace) -> tuple[Image, Image]:
    """The image to build in, and the image family whose catalog of wheels built here
    the build reads and adds to (the recipe's `image`, whatever its extra packages)."""
    recipe, store, progress = request.recipe, workspace.store, workspace.progress
    image, base = request.image, request.base_image
    if image is None:
        definition = find_definition(recipe.image, workspace.image_search)
        base = base or ensure_image(definition, store, progress)
        image = base
        if recipe.extra_packages:
            image = ensure_image(recipe_image(recipe, workspace.image_search), store, progress)
    family = base or image
    return (image if request.tools is None else replace(image, tools=request.tools)), family


def _built(
    recipe: Recipe,
    image: Image,
    sources: Sources,
    key: Sha256,
    place: BuildPlace,
    family: Image,
    workspace: Workspace,
) -> BuildRecord:
    """A fresh build's record, its scans in it, stored under its key (a cache hit's
    record holds the scans of its build)."""
    store, progress = workspace.store, workspace.progress
    sdist = store.verified_path(recipe.sdist.sha256, recipe.sdist.file)
    sdist_scan = _scanned(sdist, recipe.sdist.file, recipe, progress)
    started = _now()
    built = place.build(recipe, image, sources)
    record = make_record(
        key=key, recipe=recipe, image=image, sources=sources, built=built,
        started_on=started, finished_on=_now(),
    )  # fmt: skip
    wheel = store.path_of(record.output.sha256)  # stored by the build, by its sha256
    before = BuiltCatalog(store).find(family, recipe.name, recipe.version)
    _stays_compiled(recipe, record, before, bool(compiled_members(wheel)), store)
    wheel_scan = _scanned(wheel, record.output.wheel, recipe, progress)
    record = replace(record, scans={"sdist": sdist_scan.to_json(),
                                    "wheel": wheel_scan.to_json()})  # fmt: skip
    store.write_record(key, record.to_json())
    return record


def _rebuilt(
    request: BuildRequest,
    image: Image,
    sources: Sources,
    record: BuildRecord,
    place: BuildPlace,
    workspace: Workspace,
) -> RebuildReport:
    return rebuild(
        request.recipe, image, sources, record=record, store=workspace.store, place=place,
        progress=workspace.progress, asked=request.rebuilds,
    )  # fmt: skip


def _reused(
    request: BuildRequest, record: BuildRecord, workspace: Workspace
) -> RebuildReport | None:
    """A cache hit's recorded rebuilds, where they are the ones asked for and agreed
    (compare/rebuild.py recorded_rebuilds); said, so that nobody waits for them."""
    data = _recorded_rebuild(record, workspace.store)
    if data is None:
        return None
    found = recorded_rebuilds(data, request.recipe, record, request.rebuilds)
    if found is not None:
        workspace.progress.status(
            f"rebuilds recorded: {len(found.rebuilds)} bit for bit under the variations "
            "asked (--force builds and rebuilds again)"
        )
    return found


def _stays_compiled(
    recipe: Recipe,
    record: BuildRecord,
    before: CatalogEntry | None,
    compiled: bool,
    store: Store,
) -> None:
    """Refuse a pure wheel where the last build of the release in this image family was
    compiled: a build that lost its compiler (a limit, a missing library) and fell back
    to pure Python is a failure, not a new cache entry."""
    if before is None or before.code != "compiled" or compiled:
        return
    raise BuildFailed(
        f"{recipe.name} {recipe.version} ({recipe.path}) built {record.output.wheel}, which "
        f"holds no compiled code, where its build {before.build_key[:16]} in this "
        f"image gave the compiled {before.wheel}",
        hint="the build fell back to pure Python; its log says why "
        f"({store.path_of(record.log_sha256)}): a [limits] key set too low or a missing "
        "library is the usual cause; nothing was cached",
    )


def _compiled_upstream(
    recipe: Recipe, record: BuildRecord, image: Image, workspace: Workspace
) -> tuple[str, ...]:
    """The index's compiled wheels of the release that the image's Python installs, said
    as a warning (asked where builder's wheel holds no compiled code: upstream's is faster
    there)."""
    progress = workspace.progress
    try:
        found = compiled_upstream(workspace.index, recipe.name, recipe.version, image)
    except (FetchError, ImageError) as exc:
        progress.status(f"whether the index has compiled wheels of {recipe.name} "
                        f"{recipe.version} is not known: {exc.message}")  # fmt: skip
        return ()
    if found:
        progress.status(
            f"warning: {record.output.wheel} holds no compiled code, and the index has "
            f"{len(found)} compiled wheel(s) of {recipe.version} for this Python (e.g. "
            f"{found[0]}); "
            "the sdist may compile only with an opt-in (docs/coverage.md), and "
            "`compiled = true` in the recipe makes a build without compiled code fail"
        )
    return found


def _scanned(path: Path, file: str, recipe: Recipe, progress: Progress) -> PickleScan:
    """The pickle scan of an archive: a dangerous import stops the build here, unless
    the recipe accepts that member with a reason."""
    scan = scan_archive(path, file)
    refuse_dangerous(scan, f"{file} ({recipe.path})", recipe.accepted_pickles)
    if scan.scanned:
        flagged = [f"{i.member}: {i.callable}" for i in scan.suspicious]
        progress.status(
            f"pickle scan of {file} ({scan.scanner}): {len(scan.scanned)} member(s), "
            + (f"suspicious imports: {'; '.join(flagged)}" if flagged else "nothing dangerous")
        )
    return scan


def recipe_image(recipe: Recipe, search: tuple[Path, ...] | None = None) -> ImageDefinition:
    """The image a recipe builds in: its `image`, with its `extra-packages` added."""
    return find_definition(recipe.image, search).with_packages(recipe.extra_packages)


def _built_requirements(recipe: Recipe, image: Image, store: Store) -> tuple[PinnedFile, ...]:
    """The wheels builder built here for the recipe's `source = "built"` requirements."""
    pins = []
    for need in recipe.built:
        entry = BuiltCatalog(store).checked(image, need.name, need.version)
        if entry is None:
            raise FetchError(
                f"{recipe.name} {recipe.version} ({recipe.path}) builds with {need.name} "
                f"{need.version} built here, and the store has no such wheel for image "
                f"{image.name} ({image.digest[:12]})",
                hint=f"build {need.name} {need.version}'s recipe first; "
                "`builder build --graph` builds a graph in order",
            )
        pins.append(PinnedFile(name=need.name, version=need.version, file=entry.wheel,
                               sha256=entry.sha256, source="built"))  # fmt: skip
    return tuple(pins)


def _cached_record(
    store: Store, key: Sha256, recipe: Recipe, sources: Sources
) -> BuildRecord | None:
    """The stored record of this key, if its wheel is still in the store (a record of
    another layout is no cache hit: the build runs again). A record that disagrees with
    what it names is removed and said (exit 9): it is never served."""
    data = store.read_record(key)
    try:
        record = BuildRecord.from_json(data) if data is not None else None
    except RecordError:
        return None
    if record is None or not store.has(record.output.sha256):
        return None
    problems = record_problems(record, key, store)
    problems += input_problems(record, recipe.external_parameters(), sources)
    if problems:
        store.record_path(key).unlink(missing_ok=True)
        raise StoreError(
            f"the build record {store.record_path(key)} does not agree with what it names: "
            + "; ".join(problems),
            hint="it was removed; run again to build anew",
        )
    return record


def _finish(
    exported: BuildReport,
    record: BuildRecord,
    report: RebuildReport | None,
    workspace: Workspace,
) -> BuildReport:
    """Write the rebuild report and the attestations the record supports: a cache hit's
    record that holds rebuilds gives their report and statement again, whatever the flags."""
    result = replace(exported, record=record, rebuild=report)
    signing = workspace.signing
    rebuild_json = (
        report.to_json() if report is not None else _recorded_rebuild(record, workspace.store)
    )
    if rebuild_json is not None:
        path = workspace.dist / f"{exported.wheel.name}.rebuild.json"
        write_atomic(path, pretty_json(rebuild_json))
        result = replace(result, rebuild_path=path)
    if signing is not None:
        bundle = attest(
            exported.wheel, record, rebuild_json, signer=signing.signer, folder=signing.folder
        )
        result = replace(result, bundle=bundle)
    return result


def _recorded_rebuild(record: BuildRecord, store: Store) -> dict[str, Any] | None:
    """The rebuild report the record names, from the store (checked by its sha256)."""
    if record.rebuild is None:
        return None
    path = store.verified_path(record.rebuild.report_sha256, "the recorded rebuild report")
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:
        raise StoreError(f"the recorded rebuild report {path} is not JSON: {exc}") from exc
    reference = data.get("reference") if isinstance(data, dict) else None
    if not isinstance(reference, dict) or reference.get("sha256") != record.output.sha256:
        raise StoreError(
            f"the rebuild report {path} does not name the wheel {record.output.sha256}",
            hint=f"builder store verify --repair removes the record {record.build_key}",
        )
    return dict(data)


def _summary(report: RebuildReport, store: Store) -> RebuildSummary:
    """The rebuild's outcome for the record; the full report is kept in the store."""
    return RebuildSummary(
        builds=len(report.sha256s),
        reproducible=report.reproducible,
        sha256s=tuple(report.sha256s),
        normalized_equal=report.normalized_equal,
        report_sha256=store.add_bytes(canonical_json(report.to_json())),
    )


def _export(record: BuildRecord, stored: Path, dist: Path) -> tuple[Path, Path]:
    """Copy the stored wheel (verified) and its record into dist/, each through a
    temporary name; their paths there."""
    output = record.output
    dist.mkdir(parents=True, exist_ok=True)
    wheel = dist / output.wheel
    fd, name = tempfile.mkstemp(prefix=f".{wheel.name}.", suffix=".tmp", dir=dist)
    os.close(fd)
    tmp = Path(name)  # unique: concurrent runs exporting the same wheel never share it
    try:
        shutil.copyfile(stored, tmp)
        tmp.chmod(0o644)
        tmp.replace(wheel)
    finally:
        tmp.unlink(missing_ok=True)
    record_path = dist / f"{wheel.name}.build.json"
    write_atomic(record_path, pretty_json(record.to_json()))
    return wheel, record_path
