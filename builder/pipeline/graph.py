"""The graph chain: a plan's graph -> each node's build (the build chain), as its build
requirements finish, as many at once as the executor takes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuilderError, RecipeError
from builder.executor import Executor
from builder.images import (
    ensure_image,
    find_definition,
)
from builder.names import Sha256
from builder.pipeline.build import Signing, build_recipe
from builder.plan.graph import Graph, read_graph
from builder.progress import Progress
from builder.recipe import Recipe, load_recipe
from builder.sandbox import Sandbox
from builder.store import Store


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
            progress=progress, image_search=image_search, rebuilds=rebuilds, base_image=image,
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
