"""The only module that chains the stages: recipe -> image -> fetch -> build -> record
(-> rebuilds under variation) (-> signed attestations); the auditor's chain, attestation
-> recipe and image -> the same build -> comparison with the subject; and publishing,
verify -> index, with the index read back the same way (fetch -> verify).

An unchanged build key with its wheel still in the store is a cache hit: nothing is
fetched, no container starts, and the stored wheel and record are written to dist/.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path

from securesystemslib.signer import Key, Signer

from builder.build.record import BuildRecord, RebuildSummary, RecordError, build_key, make_record
from builder.build.run import run_build
from builder.compare.rebuild import RebuildReport, rebuild
from builder.encoding import canonical_json, pretty_json
from builder.errors import BuilderError, FetchError, RecipeError
from builder.executor import Executor
from builder.fetch.sources import fetch_all
from builder.images import (
    Image,
    ImageDefinition,
    ensure_image,
    find_definition,
    image_from_rootfs,
)
from builder.index import Index
from builder.names import NormalizedName, Sha256
from builder.plan.graph import Graph, read_graph
from builder.progress import Progress
from builder.provenance.bundle import Bundle, attest, find_bundle
from builder.provenance.rebuild_from import (
    AttestedBuild,
    attested_image_digest,
    attested_image_packages,
    attested_recipe,
    check_image,
    read_provenance,
)
from builder.provenance.verify import Policy, Verification, verify
from builder.publish.remote import RemoteIndex
from builder.publish.static import Added, StaticIndex
from builder.publish.upload import upload
from builder.recipe import PinnedFile, Recipe, load_recipe
from builder.sandbox import Sandbox
from builder.store import Store, write_atomic
from builder.variation import DEFAULT_KINDS


@dataclass(frozen=True, slots=True, kw_only=True)
class Signing:
    """Where a build's attestations go and who signs them (never seen by a build)."""

    signer: Signer
    folder: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildReport:
    wheel: Path
    record_path: Path
    record: BuildRecord
    cached: bool
    rebuild: RebuildReport | None = None
    rebuild_path: Path | None = None
    bundle: Bundle | None = None

    @property
    def sha256(self) -> Sha256:
        return self.record.output.sha256


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildFromResult:
    attested: AttestedBuild
    report: BuildReport

    @property
    def matches(self) -> bool:
        return self.report.sha256 == self.attested.sha256


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
    signing: Signing | None = None,
    image: Image | None = None,
    built_pins: tuple[PinnedFile, ...] | None = None,
) -> BuildReport:
    """Build a recipe; with `rebuilds`, rebuild it under the variations `vary` (default:
    the recipe's rebuild policy applied to the default variations) less `no_vary`.
    `tools` replaces the image definition's pinned tools (a rebuild from an attestation
    uses the attested ones); `force` builds even when the build key is a cache hit;
    with `signing`, the provenance, rebuild result and SBOM are signed and written; `image`
    is one made or fetched already (an auditor's); `built_pins` are the exact wheels of the
    recipe's built-here requirements (an auditor's, from the provenance; else the ones the
    store says it built for this image)."""
    recipe = recipe_or_path if isinstance(recipe_or_path, Recipe) else load_recipe(recipe_or_path)
    if image is None:
        image = ensure_image(recipe_image(recipe, image_search), store, progress)
    if tools is not None:
        image = replace(image, tools=tools)
    lazy = LazySandbox(sandbox_factory)

    def prepared() -> Sandbox:
        sandbox = lazy.get()
        sandbox.prepare(image, store, progress)
        return sandbox

    here = built_pins if built_pins is not None else _built_requirements(recipe, image, store)
    sources = fetch_all(
        sdist=recipe.sdist,
        requires=(*recipe.requires, *here),
        tools=image.tools,
        image=image,
        store=store,
        index=index or Index(),
        sandbox_factory=prepared,
        progress=progress,
        unpack_limit_mib=recipe.limits.unpack_mib,
        patches=recipe.patches,
    )
    key = build_key(recipe, image, sources)
    record = None if force else _cached_record(store, key)
    cached = record is not None
    if record is None:
        started = _now()
        built = run_build(
            recipe, image, sources, store=store, sandbox=prepared(), progress=progress
        )
        record = make_record(
            key=key, recipe=recipe, image=image, sources=sources, built=built,
            started_on=started, finished_on=_now(),
        )  # fmt: skip
        store.write_record(key, record.to_json())
    else:
        progress.status(f"cache hit: {recipe.name} {recipe.version} (build key {key[:16]})")
    report = None
    if rebuilds:
        report = rebuild(
            recipe, image, sources, record=record, store=store, sandbox=prepared,
            progress=progress, count=rebuilds, normalize=normalize,
            kinds=(recipe.rebuild.kinds(DEFAULT_KINDS) if vary is None else vary) - no_vary,
        )  # fmt: skip
        record = record.with_rebuild(_summary(report, store))
        store.write_record(key, record.to_json())
    store.record_built(
        image.digest, recipe.name, recipe.version,
        {"wheel": record.output.wheel, "sha256": record.output.sha256, "build_key": key},
    )  # fmt: skip
    exported = _export(record, store, dist, cached=cached)
    return _finish(exported, record, report, dist, signing)


def recipe_image(recipe: Recipe, search: tuple[Path, ...] | None = None) -> ImageDefinition:
    """The image a recipe builds in: its `image`, with its `extra-packages` added."""
    return find_definition(recipe.image, search).with_packages(recipe.extra_packages)


def _built_requirements(recipe: Recipe, image: Image, store: Store) -> tuple[PinnedFile, ...]:
    """The wheels builder built here for the recipe's `source = "built"` requirements."""
    pins = []
    for need in recipe.built:
        entry = store.find_built(image.digest, need.name, need.version)
        if entry is None:
            raise FetchError(
                f"{recipe.name} {recipe.version} ({recipe.path}) builds with {need.name} "
                f"{need.version} built here, and the store has no such wheel for image "
                f"{image.name} ({image.digest[:12]})",
                hint=f"build {need.name} {need.version}'s recipe first; "
                "`builder build --graph` builds a graph in order",
            )
        pins.append(
            PinnedFile(
                name=need.name,
                version=need.version,
                file=entry["wheel"],
                sha256=Sha256(entry["sha256"]),
                source="built",
            )
        )
    return tuple(pins)


def _cached_record(store: Store, key: Sha256) -> BuildRecord | None:
    """The stored record of this key, if its wheel is still in the store (a record of
    another layout is no cache hit: the build runs again)."""
    data = store.read_record(key)
    try:
        record = BuildRecord.from_json(data) if data is not None else None
    except RecordError:
        return None
    return record if record is not None and store.has(record.output.sha256) else None


def _finish(
    exported: BuildReport,
    record: BuildRecord,
    report: RebuildReport | None,
    dist: Path,
    signing: Signing | None,
) -> BuildReport:
    result = replace(exported, record=record, rebuild=report)
    if report is not None:
        path = dist / f"{exported.wheel.name}.rebuild.json"
        write_atomic(path, pretty_json(report.to_json()))
        result = replace(result, rebuild_path=path)
    if signing is not None:
        rebuild_json = report.to_json() if report is not None else None
        bundle = attest(
            exported.wheel, record, rebuild_json, signer=signing.signer, folder=signing.folder
        )
        result = replace(result, bundle=bundle)
    return result


def _summary(report: RebuildReport, store: Store) -> RebuildSummary:
    """The rebuild's outcome for the record; the full report is kept in the store."""
    return RebuildSummary(
        builds=len(report.sha256s),
        reproducible=report.reproducible,
        sha256s=tuple(report.sha256s),
        normalized_equal=report.normalized_equal,
        report_sha256=store.add_bytes(canonical_json(report.to_json())),
    )


def _export(record: BuildRecord, store: Store, dist: Path, cached: bool) -> BuildReport:
    """Copy the wheel and its record into dist/, each through a temporary name."""
    output = record.output
    stored = store.verified_path(output.sha256, output.wheel)
    dist.mkdir(parents=True, exist_ok=True)
    wheel = dist / output.wheel
    tmp = dist / f".{wheel.name}.tmp"
    try:
        shutil.copyfile(stored, tmp)
        tmp.replace(wheel)
    finally:
        tmp.unlink(missing_ok=True)
    record_path = dist / f"{wheel.name}.build.json"
    write_atomic(record_path, pretty_json(record.to_json()))
    return BuildReport(wheel=wheel, record_path=record_path, record=record, cached=cached)


def rebuild_from_attestation(
    bundle: Path,
    *,
    key: Key | None,
    store: Store,
    dist: Path,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    image_search: tuple[Path, ...] | None = None,
    index: RemoteIndex | None = None,
) -> RebuildFromResult:
    """The auditor's path: the recipe is the provenance's externalParameters, the tools
    the attested ones, the image must have the attested digest (fetched by digest from
    `index` when given, else made here from Debian's packages); then the same build,
    forced (a cache hit proves nothing), and its sha256 against the subject's."""
    attested, recipe, tools = attested_recipe(bundle, key)
    definition = recipe_image(recipe, image_search)
    if index is not None:
        digest = attested_image_digest(attested)
        progress.status(f"fetching the attested image {digest[:12]} from {index.url}")
        index.fetch_image(digest, store)
        image = image_from_rootfs(definition, digest, store)
        python = next((f"python3 {p.version}" for p in image.packages if p.name == "python3"), "")
        progress.status(
            f"image {image.name} {digest[:12]} from the index: {len(image.packages)} Debian "
            f"packages ({python}); `builder image build {image.name} --force` makes it "
            "afresh while Debian serves these versions"
        )
    else:
        image = ensure_image(definition, store, progress)
    check_image(image, attested)
    report = build_recipe(
        recipe, store=store, dist=dist, sandbox_factory=sandbox_factory, progress=progress,
        image_search=image_search, tools=tools, force=True, image=image,
    )  # fmt: skip
    return RebuildFromResult(attested=attested, report=report)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeOutcome:
    """What became of one node of a graph build."""

    node: str
    state: str  # built, cached, failed or skipped
    wheel: Path | None = None
    sha256: Sha256 | None = None
    reason: str | None = None  # failed: the error and where its log is; skipped: why


def build_graph(
    graph_path: Path,
    *,
    store: Store,
    dist: Path,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    executor: Executor,
    image_search: tuple[Path, ...] | None = None,
    rebuilds: int = 0,
    signing: Signing | None = None,
) -> list[NodeOutcome]:
    """Build every node of a plan's graph that is built here, each once its build
    requirements are built, as many at once as the executor takes; each build's venv
    holds the wheels built here before it (its recipe requires them `source = "built"`).
    A failure skips what builds with it, and only that; a rerun finds what was built as
    cache hits."""
    graph = read_graph(graph_path)
    recipes = _graph_recipes(graph, graph_path)
    image = ensure_image(find_definition(graph.image, image_search), store, progress)
    sandbox = sandbox_factory()
    sandbox.prepare(image, store, progress)

    def build(ident: str) -> NodeOutcome:
        report = build_recipe(
            recipes[ident], store=store, dist=dist, sandbox_factory=lambda: sandbox,
            progress=progress, image_search=image_search, rebuilds=rebuilds, image=image,
            signing=signing,
        )  # fmt: skip
        state = "cached" if report.cached else "built"
        return NodeOutcome(node=ident, state=state, wheel=report.wheel, sha256=report.sha256)

    outcomes: dict[str, NodeOutcome] = {}
    pending = list(graph.order)
    running: dict[Future[NodeOutcome], str] = {}
    try:
        while pending or running:
            for ident in list(pending):
                state = _readiness(graph, ident, outcomes)
                if state == "wait" or (state == "ready" and executor.capacity() <= 0):
                    continue
                pending.remove(ident)
                if state == "ready":
                    progress.status(f"graph: building {ident}")
                    running[executor.start(lambda i=ident: build(i))] = ident  # type: ignore[misc]
                else:
                    outcomes[ident] = NodeOutcome(node=ident, state="skipped", reason=state)
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    ident = running.pop(future)
                    outcomes[ident] = _outcome(ident, future)
                    progress.status(f"graph: {ident} {outcomes[ident].state}")
    except BaseException:
        executor.cancel()
        raise
    finally:
        executor.close()
    return [outcomes[i] for i in graph.order]


def _graph_recipes(graph: Graph, graph_path: Path) -> dict[str, Recipe]:
    recipes = {}
    for node in graph.nodes:
        if node.source != "built" or node.recipe is None:
            continue
        recipe = load_recipe(graph_path.parent / node.recipe)
        if (recipe.name, recipe.version) != (node.name, node.version):
            raise RecipeError(
                f"{graph_path}: node {node.id}'s recipe {node.recipe} is for "
                f"{recipe.name} {recipe.version}",
                hint="run builder plan again rather than editing its output by hand",
            )
        recipes[node.id] = recipe
    return recipes


def _readiness(graph: Graph, ident: str, outcomes: dict[str, NodeOutcome]) -> str:
    """ready, wait, or why it will never build (a build requirement failed)."""
    for dependency in graph.build_dependencies(ident):
        done = outcomes.get(dependency)
        if done is None:
            return "wait"
        if done.state in ("failed", "skipped"):
            return f"it builds with {dependency}, which {done.state}"
    return "ready"


def _outcome(ident: str, future: Future[NodeOutcome]) -> NodeOutcome:
    try:
        return future.result()
    except BuilderError as exc:
        reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return NodeOutcome(node=ident, state="failed", reason=reason)


def publish_wheels(
    wheels: Sequence[Path],
    *,
    index: StaticIndex | None,
    key: Key,
    policy: Policy | None,
    attestations: Path,
    store: Store | None,
    progress: Progress,
    upload_to: str | None = None,
) -> list[Added]:
    """Every wheel verified under the policy first (one that does not is refused, and
    then none is published); then each with its provenance, and its build image by
    digest where the store holds it, into the static `index`; and uploaded to the server
    at `upload_to` when given."""
    checked = []
    for wheel in wheels:
        bundle = find_bundle(wheel, attestations)
        verification = verify(wheel, bundle, key, policy)
        verification.raise_for_failures()
        checked.append((wheel, bundle))
    if upload_to is not None:
        progress.status(f"uploading {len(checked)} wheel(s) to {upload_to} with twine")
        upload([wheel for wheel, _ in checked], upload_to)
    if index is None:
        return []
    added = []
    with index.locked():
        for wheel, bundle in checked:
            result = index.add(wheel, bundle)
            progress.status(f"{'published' if result.new else 'already published'}: {wheel.name}")
            added.append(result)
            if store is not None:
                _publish_image(index, read_provenance(bundle, key), store, progress)
    return added


def _publish_image(
    index: StaticIndex, attested: AttestedBuild, store: Store, progress: Progress
) -> None:
    digest = attested_image_digest(attested)
    if not store.has(digest):
        progress.status(f"image {digest[:12]} is not in the store: not served by the index")
        return
    description = {"digest": digest, "packages": attested_image_packages(attested)}
    if index.add_image(digest, store.verified_path(digest, f"image {digest[:12]}"), description):
        progress.status(f"published image {digest[:12]}")


def verify_published(
    name: NormalizedName,
    version: str,
    *,
    index: RemoteIndex,
    key: Key,
    policy: Policy | None,
    dest: Path,
) -> list[Verification]:
    """Every wheel of NAME VERSION on the index, fetched and checked against its page,
    then verified with its provenance under the policy."""
    results = []
    for package in index.release(name, version):
        fetched = index.fetch(package, dest)
        results.append(verify(fetched.wheel, fetched.provenance, key, policy))
    return results
