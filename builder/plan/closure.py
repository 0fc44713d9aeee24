"""Plan a closure: requirements in, a recipe for every package to build and a graph out.

1. The runtime closure of the requirements is resolved by the image's own pip (a network
   run of the image: markers and wheel tags are those of the Python that will build;
   wheels' metadata only, so no sdist's code runs to resolve).
2. Each package of it gets a recipe (`builder recipe new`'s pinning: the sdist, then its
   build requirements locked for the image); every package of every build closure gets
   one too, transitively: all of them are built here.
3. What is not built here says so: an exception (a wheel from the index, named with a
   reason in the policy) or an image package (a Debian package of the image stands in).
4. Build cycles are cut by the bootstrap rule: the package the policy names in a cycle is
   built first, with its in-cycle build requirements as index wheels (exceptions with
   the reason "bootstrap"); the others of the cycle then build with it.
5. Each image (each CPython) gets its own plan: its Python resolves the closure, which
   may differ (markers, Requires-Python). The recipes and graph.json are written into a
   new folder (one subfolder per image when there are several) and renamed into place at
   the end: a plan that fails leaves nothing half-written.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from builder.errors import FetchError, GateFailed, RecipeError
from builder.gate.check import Gate
from builder.gate.rules import hints
from builder.images import Image, ensure_image, find_definition
from builder.index import Index
from builder.inside import task as tasks
from builder.names import NormalizedName, normalize
from builder.plan.graph import Edge, Graph, Node, build_order, cycles, node_id, write_graph
from builder.plan.policy import PlanPolicy
from builder.progress import Labelled, Progress
from builder.recipe import BuiltRequirement, PinnedFile, Settings, load_settings
from builder.resolve.answers import Answers
from builder.resolve.lock import ImageRuns, pip_in_image
from builder.resolve.new_recipe import NewRecipe, find_sdist, gate_releases, pin_recipe
from builder.sandbox import Sandbox
from builder.store import Store, new_folder

RECIPES = "recipes"
GRAPH_FILE = "graph.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """A package of the runtime closure, and the closure's packages it needs to run."""

    name: NormalizedName
    version: str
    needs: tuple[NormalizedName, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    graph: Graph
    folder: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Planner:
    """What planning reads and runs with: the store, the index, a sandbox prepared with
    the images, progress, the gate every name passes, the plan policy and the folder of
    per-package overrides."""

    store: Store
    index: Index
    sandbox: Sandbox
    progress: Progress
    gate: Gate
    policy: PlanPolicy
    overrides: Path | None = None
    answers: Answers | None = None  # answers kept from earlier plans (resolve/answers.py)
    jobs: int = 2  # packages pinned at once

    def runs(self, image: Image) -> ImageRuns:
        return ImageRuns(image=image, store=self.store, index=self.index, sandbox=self.sandbox,
                         progress=self.progress, answers=self.answers)  # fmt: skip


def plan_closure(
    requirements: Sequence[Requirement],
    *,
    images: Sequence[Image],
    planner: Planner,
    out: Path,
    force: bool = False,
) -> list[Planned]:
    """Plan the closure for each image (its Python resolves it) and write the plans: into
    `out` for one image, into `out/<image>/` each for several, all renamed into place at
    the end."""
    if out.exists() and not force:
        raise RecipeError(f"{out} exists", hint="pass --force to replace the plan in it")
    _gate(planner.gate, [r.name for r in requirements])
    plans = []
    for image in images:
        graph, recipes = _plan_image(requirements, image=image, planner=planner)
        folder = Path() if len(images) == 1 else Path(image.name)
        settings = _settings(recipes, planner.overrides)
        plans.append((folder, graph, _recipes_to_write(graph, recipes, settings, image)))
    _write(plans, out, force)
    return [Planned(graph=graph, folder=out / folder) for folder, graph, _ in plans]


def _plan_image(
    requirements: Sequence[Requirement], *, image: Image, planner: Planner
) -> tuple[Graph, dict[str, NewRecipe]]:
    gate, policy, progress = planner.gate, planner.policy, planner.progress
    closure = resolve_closure(requirements, planner.runs(image))
    if (said := gate.advisories_news()) is not None:
        progress.status(f"advisories: {said}")
    gate_releases(gate, [(r.name, r.version) for r in closure], progress)
    runtime = [
        Edge(dependent=node_id(r.name, r.version), dependency=node_id(n, _version(closure, n)),
             kind="runtime")
        for r in closure for n in r.needs
    ]  # fmt: skip
    nodes, recipes, build_edges = _plan_nodes(closure, image=image, planner=planner)
    edges = _cut_cycles(nodes, build_edges, policy) + runtime
    graph = Graph(
        image=image.name,
        requirements=tuple(str(r) for r in requirements),
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)),
        edges=tuple(edges),
        order=build_order(nodes.values(), edges),
    )
    return graph, recipes


def _override(overrides: Path | None, name: NormalizedName) -> Settings | None:
    """The package's override file (OVERRIDES/<name>.toml), if it has one."""
    path = overrides / f"{name}.toml" if overrides is not None else None
    return load_settings(path) if path is not None and path.is_file() else None


def _settings(recipes: dict[str, NewRecipe], overrides: Path | None) -> dict[str, Settings]:
    """Each package's override, its patches renamed for the recipes folder
    (<name>-<version>-<file>), where the plan copies them."""
    found = {}
    for ident, recipe in recipes.items():
        settings = _override(overrides, recipe.name)
        if settings is None:
            continue
        renamed = tuple(
            replace(p, file=f"{recipe.name}-{recipe.version}-{p.file}") for p in settings.patches
        )
        found[ident] = replace(settings, patches=renamed)
    return found


def resolve_closure(requirements: Sequence[Requirement], runs: ImageRuns) -> list[Resolved]:
    """The runtime closure, as the image's pip resolves it (pip's installation report)."""
    texts = tuple(str(r) for r in requirements)

    def ask() -> dict[str, Any]:
        with pip_in_image(tasks.ResolveTask, texts, runs) as (result, out):
            report = out / "report.json"
            if not result.ok or not report.is_file():
                raise FetchError(
                    f"the requirements {list(texts)} do not resolve for {runs.image.name}: "
                    f"{result.reason()}",
                    hint="every package of the closure needs a wheel for the image's Python "
                    "on the index, for its metadata (the build is from its sdist)",
                )
            data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
            return data

    return parse_report(
        runs.kept(ask, lambda a, q: a.closure(runs.image, runs.index.url, texts, q))
    )


def parse_report(report: dict[str, Any]) -> list[Resolved]:
    """pip's installation report: each package, and what it needs among the others."""
    environment = {**default_environment(), **report.get("environment", {})}
    items = report["install"]
    names = {normalize(i["metadata"]["name"]) for i in items}
    closure = []
    for item in items:
        metadata = item["metadata"]
        extras = item.get("requested_extras") or [""]
        needs = set()
        for text in metadata.get("requires_dist") or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            marker = req.marker
            wanted = marker is None or any(marker.evaluate(environment | {"extra": e})
                                           for e in extras)  # fmt: skip
            if wanted and normalize(req.name) in names:
                needs.add(normalize(req.name))
        closure.append(
            Resolved(
                name=normalize(metadata["name"]),
                version=str(metadata["version"]),
                needs=tuple(sorted(needs)),
            )
        )
    return sorted(closure, key=lambda r: r.name)


def _version(closure: list[Resolved], name: NormalizedName) -> str:
    return next(r.version for r in closure if r.name == name)


def _plan_nodes(
    closure: list[Resolved], *, image: Image, planner: Planner
) -> tuple[dict[str, Node], dict[str, NewRecipe], list[Edge]]:
    """Every package of the closure and of every build closure under it, each once; a
    package whose override names another image is pinned for that image. Pinned side by
    side (planner.jobs at once): each package as soon as a recipe names it, without
    waiting for the others that recipe's neighbours found; the graph is the same whatever
    the order (its edges sorted)."""
    images = {image.name: image}
    nodes: dict[str, Node] = {}
    recipes: dict[str, NewRecipe] = {}
    edges: list[Edge] = []
    with ThreadPoolExecutor(max(1, planner.jobs), thread_name_prefix="plan") as pool:
        pinning: dict[Future[NewRecipe], str] = {}

        def visit(name: NormalizedName, version: str) -> None:
            ident = node_id(name, version)
            if ident in nodes:
                return
            nodes[ident] = _not_built(name, version, planner.policy) or Node(
                name=name, version=version, source="built",
                recipe=f"{RECIPES}/{name}-{version}.toml",
            )  # fmt: skip
            if nodes[ident].source == "built":
                pin = pool.submit(_pin_node, name, version, image=image, images=images,
                                  planner=planner)  # fmt: skip
                pinning[pin] = ident

        try:
            for resolved in closure:
                visit(resolved.name, resolved.version)
            while pinning:
                done, _ = wait(pinning, return_when=FIRST_COMPLETED)
                for pin in done:
                    ident, recipe = pinning.pop(pin), pin.result()
                    recipes[ident] = recipe
                    for p in recipe.requires:
                        edges.append(Edge(dependent=ident, dependency=node_id(p.name, p.version),
                                          kind="build"))  # fmt: skip
                        visit(p.name, p.version)
        except BaseException:
            pool.shutdown(cancel_futures=True)  # what is not pinned yet is not asked
            raise
    return nodes, recipes, sorted(edges, key=lambda e: (e.dependent, e.dependency))


def _not_built(name: NormalizedName, version: str, policy: PlanPolicy) -> Node | None:
    """The node of a package the plan does not build: a Debian stand-in or an exception."""
    if name in policy.image_packages:
        reason = policy.image_packages[name]
        return Node(name=name, version=version, source="image", reason=reason)
    if name in policy.exceptions:
        reason = policy.exceptions[name]
        return Node(name=name, version=version, source="exception", reason=reason)
    return None


_IMAGES = threading.Lock()  # an override's own image is made once, by one planning thread


def _pin_node(
    name: NormalizedName, version: str, *, image: Image, images: dict[str, Image],
    planner: Planner,
) -> NewRecipe:  # fmt: skip
    """One package's recipe: its sdist, its override, its locks."""
    sdist = planner.runs(image).kept(
        lambda: _sdist(planner.index, name, version),
        lambda a, q: a.sdist(planner.index.url, name, version, q),
    )
    planner.progress.status(f"planning {name} {version}")
    override = _override(planner.overrides, name)
    with _IMAGES:
        own = _own_image(override, images, planner.store, planner.sandbox, planner.progress)
    runs = replace(planner.runs(own or image), progress=Labelled(planner.progress, name))
    return pin_recipe(sdist, runs, gate=planner.gate,
                      env=override.env if override else None)  # fmt: skip


def _own_image(
    settings: Settings | None,
    images: dict[str, Image],
    store: Store,
    sandbox: Sandbox,
    progress: Progress,
) -> Image | None:
    """The image an override names, made (and prepared) once per plan."""
    name = settings.image if settings is not None else None
    if name is None:
        return None
    if name not in images:
        images[name] = ensure_image(find_definition(name), store, progress)
        sandbox.prepare(images[name], store, progress)
    return images[name]


def _sdist(index: Index, name: NormalizedName, version: str) -> PinnedFile:
    try:
        return find_sdist(index, name, version)
    except FetchError as exc:
        raise FetchError(
            f"{name} {version} has no sdist on the index {index.url}: it cannot be built here",
            hint=f'name it in [plan.exceptions] with the reason ({name} = "why"), to take its '
            "wheel from the index; a verify policy with exceptions = [] will refuse it",
        ) from exc


def _cut_cycles(nodes: dict[str, Node], edges: list[Edge], policy: PlanPolicy) -> list[Edge]:
    """The bootstrap rule: in each cycle, the package the policy names builds with the
    index wheels of its in-cycle build requirements; the rest of the cycle builds with it."""
    cut = list(edges)
    for group in cycles(nodes.values(), edges):
        chosen = [g for g in group if nodes[g].name in policy.bootstrap]
        if not chosen:
            raise RecipeError(
                f"the build requirements of {' and '.join(group)} form a cycle, and [plan] "
                "bootstrap names none of them",
                hint="name the one to build first from index wheels: "
                f'bootstrap = ["{nodes[group[0]].name}"] (docs/plan.md)',
            )
        members = set(group)
        cut = [
            replace(e, bootstrap=True)
            if e.kind == "build" and e.dependent in chosen and e.dependency in members
            else e
            for e in cut
        ]
    return cut


def _recipes_to_write(
    graph: Graph, recipes: dict[str, NewRecipe], settings: dict[str, Settings], image: Image
) -> dict[str, NewRecipe]:
    """Each built node's recipe: what is built here is required `source = "built"`; an
    exception or a bootstrap cut stays a pinned index wheel; an image package goes, and
    joins the recipe's `extra-packages` where the image does not hold it already."""
    out = {}
    by_id = {n.id: n for n in graph.nodes}
    held = {p.name for p in image.packages}
    for ident, recipe in recipes.items():
        pinned, built, notes, debian = [], [], [], []
        for pin in recipe.requires:
            target = by_id[node_id(pin.name, pin.version)]
            edge = next(e for e in graph.edges if e.dependent == ident
                        and e.dependency == target.id and e.kind == "build")  # fmt: skip
            if target.source == "image":
                assert target.reason is not None  # an image node names its Debian package
                notes.append(f"{pin.name}: the image's Debian package {target.reason} stands in")
                debian += [] if target.reason in held else [target.reason]
            elif target.source == "exception":
                pinned.append(pin)
                notes.append(f"exception: {pin.name} {pin.version} from the index: {target.reason}")
            elif edge.bootstrap:
                pinned.append(pin)
                notes.append(f"exception: {pin.name} {pin.version} from the index: bootstrap "
                             "of a build cycle (builder plan's bootstrap rule)")  # fmt: skip
            else:
                built.append(BuiltRequirement(name=pin.name, version=pin.version))
        override = settings.get(ident, Settings())
        if override != Settings():
            notes.append(f"with the settings of overrides/{recipe.name}.toml")
        # Patches recipe new made (a Cargo.lock the sdist lacks) apply before the override's.
        override = replace(override, patches=(*recipe.settings.patches, *override.patches))
        if debian:
            extra = tuple(sorted({*override.extra_packages, *debian}))
            override = replace(override, extra_packages=extra)
        out[ident] = replace(
            recipe, requires=tuple(pinned), built=tuple(built), written_by="builder plan",
            notes=(*recipe.notes, *notes), settings=override,
        )  # fmt: skip
    return out


def _write(plans: list[tuple[Path, Graph, dict[str, NewRecipe]]], out: Path, force: bool) -> None:
    """Everything into a new folder beside `out`, then renamed into place."""
    with new_folder(out, made_by="builder plan", force=force) as work:
        for folder, graph, recipes in plans:
            _write_plan(graph, recipes, work / folder)


def _write_plan(graph: Graph, recipes: dict[str, NewRecipe], folder: Path) -> None:
    (folder / RECIPES).mkdir(parents=True)
    for ident, recipe in sorted(recipes.items()):
        where = graph.node(ident).recipe
        assert where is not None  # a built node has a recipe
        (folder / where).write_text(recipe.to_toml())
        for patch in recipe.settings.patches:  # beside the recipe, as it says
            shutil.copyfile(patch.path, (folder / where).parent / patch.file)
    write_graph(graph, folder / GRAPH_FILE)


def _gate(gate: Gate, names: list[str]) -> None:
    errors = [i for i in gate.check(names) if i.severity == "error"]
    if errors:
        raise GateFailed(
            "; ".join(f"{i.kind}: {i.message}" for i in errors),
            hint="nothing was planned; " + hints(i.kind for i in errors),
        )
