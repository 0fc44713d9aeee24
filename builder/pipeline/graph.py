"""The graph chain: plans' graphs -> each node's build (the build chain), as its build
requirements finish, as many at once as the executor takes. Several graphs (one per
image, `builder plan --image A --image B`) build as one run: a node that an earlier
graph also holds waits for it, and takes its wheel when this image's Python installs it
(pure Python, or abi3 on an older glibc), so each such wheel is built once; the others
build once per image, each with its own provenance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from builder.built_catalog import BuiltCatalog
from builder.compare.rebuild import NO_REBUILDS, Rebuilds
from builder.errors import BuilderError, RecipeError
from builder.executor import Executor
from builder.images import Image, current_image, ensure_image, find_definition
from builder.images.tags import installs
from builder.names import Sha256
from builder.pipeline.build import BuildReport, build, recipe_image
from builder.pipeline.request import BuildRequest, Workspace
from builder.plan.graph import Graph, read_graph
from builder.progress import Labelled
from builder.recipe import Recipe, load_recipe
from builder.store import Store

Ended = Literal["built", "cached", "shared", "differs", "failed", "skipped"]
# A node the graph does not build here: an exception (the index's wheel) or an image
# package (a Debian package stands in).
Taken = Literal["exception", "image"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeOutcome:
    """What became of one node of a graph build."""

    node: str
    image: str
    state: Ended | Taken  # differs: a rebuild did not match
    wheel: Path | None = None
    sha256: Sha256 | None = None
    reason: str | None = None  # shared: whose wheel; failed: the error and its log; skipped: why
    reproducible: bool | None = None  # by this run's rebuilds or the record's; None: none
    seconds: float | None = None  # this run's time on the node (a cache hit's: its check)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Planned:
    """One graph of the run, with its image made and its recipes read."""

    graph: Graph
    image: Image
    recipes: dict[str, Recipe]


_Key = tuple[int, str]  # (which graph, node id)


def build_graphs(
    graph_paths: Sequence[Path],
    *,
    workspace: Workspace,
    executor: Executor,
    rebuilds: Rebuilds = NO_REBUILDS,
    ended: Callable[[NodeOutcome], None] = lambda outcome: None,
) -> list[NodeOutcome]:
    """Build every node of the graphs that is built here, each once its build requirements
    are built, as many at once as the executor takes; each build's venv holds the wheels
    built here before it (its recipe requires them `source = "built"`). A failure skips
    what builds with it, and only that; a rerun finds what was built as cache hits. The
    executor's place runs the builds (a cluster's workers); this process fetches, checks
    what comes back and signs. `ended` hears each node's outcome as it is known (a table
    kept as the build goes). The caller closes the executor (it made it)."""
    store, progress = workspace.store, workspace.progress
    sandbox = workspace.sandbox_factory()
    shared = replace(workspace, sandbox_factory=lambda: sandbox,
                     place=executor.place(store, progress))  # fmt: skip
    plans = []
    images: dict[str, Image] = {}

    def made(name: str) -> Image:
        if name not in images:
            definition = find_definition(name, workspace.image_search)
            images[name] = ensure_image(definition, store, progress)
            sandbox.prepare(images[name], store, progress)
        return images[name]

    for path in graph_paths:
        graph = read_graph(path)
        recipes = _graph_recipes(graph, path)
        plans.append(_Planned(graph=graph, image=made(graph.image), recipes=recipes))
        for recipe in recipes.values():  # an override's own image, made before any build
            made(recipe.image)

    def build_node(key: _Key) -> NodeOutcome:
        plan = plans[key[0]]
        recipe = plan.recipes[key[1]]
        own = images[recipe.image]
        if own != plan.image:
            _lend(recipe, plan.image, own, store)
        request = BuildRequest(recipe=recipe, rebuilds=rebuilds, base_image=own)
        report, seconds = _timed(
            build, request, replace(shared, progress=Labelled(progress, key[1]))
        )
        if own != plan.image:
            _lend_back(recipe, own, plan.image, store)
        return replace(_built(key[1], plan.graph.image, report), seconds=seconds)

    outcomes: dict[_Key, NodeOutcome] = {}
    order = [(i, ident) for i, plan in enumerate(plans) for ident in plan.graph.order]
    pending = list(order)
    running: dict[Future[NodeOutcome], _Key] = {}
    try:
        while pending or running:
            for key in list(pending):
                state = _readiness(plans, key, outcomes)
                if state == "wait" or (state == "ready" and executor.capacity() <= 0):
                    continue
                pending.remove(key)
                if state == "ready":
                    progress.node(key[1], plans[key[0]].graph.image, "building")
                    running[executor.start(lambda k=key: build_node(k))] = key  # type: ignore[misc]
                else:
                    outcomes[key] = _without_a_build(plans, key, state, outcomes, store)
                    ended(outcomes[key])
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    outcomes[key] = _outcome(key, plans[key[0]].graph.image, future)
                    progress.node(key[1], plans[key[0]].graph.image, outcomes[key].state)
                    ended(outcomes[key])
    except BaseException:
        executor.cancel()
        raise
    return [outcomes[k] for k in order] + _not_built_here(plans, store, workspace.image_search)


def _without_a_build(
    plans: list[_Planned], key: _Key, state: str, outcomes: dict[_Key, NodeOutcome], store: Store
) -> NodeOutcome:
    """A node that takes an earlier graph's wheel (shared), or is skipped (state: why)."""
    if state == "shared":
        return _share(plans, key, outcomes, store)
    return NodeOutcome(node=key[1], image=plans[key[0]].graph.image, state="skipped",
                       reason=state)  # fmt: skip


def _timed(
    run: Callable[[BuildRequest, Workspace], BuildReport], request: BuildRequest, where: Workspace
) -> tuple[BuildReport, float]:
    start = time.monotonic()
    report = run(request, where)
    return report, round(time.monotonic() - start, 1)


def _not_built_here(
    plans: list[_Planned], store: Store, search: tuple[Path, ...] | None
) -> list[NodeOutcome]:
    """The graphs' exceptions and image packages, each with its reason: for a Debian
    stand-in, the version its builds' images held."""
    found = []
    for plan in plans:
        for n in plan.graph.nodes:
            if n.source == "exception":
                found.append(NodeOutcome(node=n.id, image=plan.graph.image, state="exception",
                                         reason=n.reason))  # fmt: skip
            elif n.source == "image":
                said = _stand_in(plan, n.reason or "", store, search)
                found.append(NodeOutcome(node=n.id, image=plan.graph.image, state="image",
                                         reason=said))  # fmt: skip
    return found


def _stand_in(plan: _Planned, package: str, store: Store, search: tuple[Path, ...] | None) -> str:
    """Which version of the Debian package stood in, as the images of the builds that
    added it hold it."""
    versions = set()
    for recipe in plan.recipes.values():
        if package in recipe.extra_packages:
            made = current_image(recipe_image(recipe, search), store)
            held = made.package(package) if made is not None else None
            if held is not None:
                versions.add(held.version)
    if not versions:
        return f"{package} from Debian (no build here added it)"
    return f"{package} {', '.join(sorted(versions))} from Debian"


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


def _readiness(plans: list[_Planned], key: _Key, outcomes: dict[_Key, NodeOutcome]) -> str:
    """ready, wait, shared (an earlier graph's wheel serves), or why it will never build
    (a build requirement failed)."""
    index, ident = key
    twins = [(i, ident) for i in range(index) if ident in plans[i].graph.order]
    if any(t not in outcomes for t in twins):
        return "wait"
    if _serving_twin(plans, key, outcomes) is not None:
        return "shared"
    for dependency in plans[index].graph.build_dependencies(ident):
        done = outcomes.get((index, dependency))
        if done is None:
            return "wait"
        if done.state in ("failed", "skipped"):
            return f"it builds with {dependency}, which {done.state}"
    return "ready"


def _serving_twin(
    plans: list[_Planned], key: _Key, outcomes: dict[_Key, NodeOutcome]
) -> int | None:
    """The first earlier graph whose outcome for this node is a wheel this image installs."""
    index, ident = key
    for i in range(index):
        twin = outcomes.get((i, ident))
        if twin and twin.wheel and installs(plans[index].image, twin.wheel.name):
            return i
    return None


def _share(
    plans: list[_Planned], key: _Key, outcomes: dict[_Key, NodeOutcome], store: Store
) -> NodeOutcome:
    """Take an earlier graph's wheel for this node: this image's builds that require the
    package built here are given that wheel."""
    index, ident = key
    source = _serving_twin(plans, key, outcomes)
    assert source is not None  # _readiness said shared
    twin = outcomes[(source, ident)]
    node = plans[index].graph.node(ident)
    here = NodeOutcome(node=ident, image=plans[index].graph.image, state="shared")
    catalog = BuiltCatalog(store)
    entry = catalog.find(plans[source].image, node.name, node.version)
    if entry is None or entry.sha256 != twin.sha256:
        lost = f"the store no longer has the wheel built for {ident} in {twin.image}"
        return replace(here, state="failed", reason=f"{lost} (builder store verify)")
    catalog.add(plans[index].image, node.name, node.version, entry)
    reason = f"the wheel built in {twin.image} installs here"
    return replace(here, wheel=twin.wheel, sha256=twin.sha256, reason=reason)


def _built(node: str, image: str, report: BuildReport) -> NodeOutcome:
    """built or cached; differs where a rebuild gave another sha256."""
    recorded = report.record.rebuild
    reproducible = (report.rebuild.reproducible if report.rebuild is not None
                    else recorded.reproducible if recorded is not None else None)  # fmt: skip
    outcome = NodeOutcome(
        node=node, image=image, state="cached" if report.cached else "built",
        wheel=report.wheel, sha256=report.sha256, reproducible=reproducible,
    )  # fmt: skip
    if report.rebuild is not None and not report.rebuild.passed:
        why = f"{len(set(report.rebuild.sha256s))} different sha256 in "
        why += f"{len(report.rebuild.sha256s)} builds: {report.rebuild_path}"
        return replace(outcome, state="differs", reason=why)
    return outcome


def _lend(recipe: Recipe, graph_image: Image, own: Image, store: Store) -> None:
    """A package built in an image of its own (its override's) builds with the wheels the
    graph built in the graph's image, where its own image's Python installs them."""
    catalog = BuiltCatalog(store)
    for need in recipe.built:
        if catalog.find(own, need.name, need.version) is None:
            catalog.lend(need.name, need.version, source=graph_image, target=own)


def _lend_back(recipe: Recipe, own: Image, graph_image: Image, store: Store) -> None:
    """Its wheel, in turn, serves the graph image's builds that need it, if it installs
    there (else they fail, saying the store has no such wheel for their image)."""
    BuiltCatalog(store).lend(recipe.name, recipe.version, source=own, target=graph_image)


def _outcome(key: _Key, image: str, future: Future[NodeOutcome]) -> NodeOutcome:
    try:
        return future.result()
    except BuilderError as exc:
        reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return NodeOutcome(node=key[1], image=image, state="failed", reason=reason)
