"""The build graph of a closure: which package is built here (from which recipe), which is
an exception or an image package, which needs which to build or to run, and an order to
build in. One JSON file (graph.json, docs/plan.md), read back only through `read_graph`,
which refuses a graph edited into an inconsistent state, naming the node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.encoding import pretty_json
from builder.errors import InputError
from builder.names import NormalizedName, normalize
from builder.store import write_atomic

GRAPH_VERSION = 1
_REPLAN = "builder plan writes graph.json (docs/plan.md); plan again rather than edit it"
Source = Literal["built", "exception", "image"]
EdgeKind = Literal["build", "runtime"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: NormalizedName
    version: str
    source: Source
    recipe: str | None = None  # built: the recipe, relative to the graph file
    reason: str | None = None  # exception: why; image: the Debian package

    @property
    def id(self) -> str:
        return node_id(self.name, self.version)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """`dependent` needs `dependency` to build (kind build) or to run (kind runtime). A
    build edge of a cycle that the bootstrap rule cuts: the dependent builds with the
    dependency's index wheel, as an exception."""

    dependent: str
    dependency: str
    kind: EdgeKind
    bootstrap: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    image: str
    requirements: tuple[str, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    order: tuple[str, ...]  # the built nodes, each after what it builds with

    def node(self, ident: str) -> Node:
        return next(n for n in self.nodes if n.id == ident)

    def build_dependencies(self, ident: str) -> list[str]:
        """The built nodes `ident` builds with (cut bootstrap edges left out)."""
        built = {n.id for n in self.nodes if n.source == "built"}
        return [
            e.dependency
            for e in self.edges
            if e.dependent == ident and e.kind == "build" and not e.bootstrap
            and e.dependency in built
        ]  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "graph_version": GRAPH_VERSION,
            "image": self.image,
            "requirements": list(self.requirements),
            "nodes": [
                {"id": n.id, "name": n.name, "version": n.version, "source": n.source}
                | ({"recipe": n.recipe} if n.recipe else {})
                | ({"reason": n.reason} if n.reason else {})
                for n in self.nodes
            ],
            "edges": [
                {"from": e.dependent, "to": e.dependency, "kind": e.kind}
                | ({"bootstrap": True} if e.bootstrap else {})
                for e in self.edges
            ],
            "order": list(self.order),
        }


def node_id(name: str, version: str) -> str:
    return f"{normalize(name)}=={version}"


def build_order(nodes: Iterable[Node], edges: Iterable[Edge]) -> tuple[str, ...]:
    """A topological order of the built nodes over the uncut build edges (ties by id,
    so the same graph gives the same order); cycles must have been cut first."""
    built = sorted(n.id for n in nodes if n.source == "built")
    needs: dict[str, set[str]] = {n: set() for n in built}
    for e in edges:
        if e.kind == "build" and not e.bootstrap and e.dependent in needs and e.dependency in needs:
            needs[e.dependent].add(e.dependency)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(built):
        ready = [n for n in built if n not in done and needs[n] <= done]
        if not ready:
            stuck = sorted(set(built) - done)
            raise InputError(
                f"the build requirements of {', '.join(stuck)} form a cycle",
                hint="name one package of the cycle in [plan] bootstrap (docs/plan.md)",
            )
        order += ready
        done |= set(ready)
    return tuple(order)


def cycles(nodes: Iterable[Node], edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected groups of built nodes over build edges that are cycles
    (more than one node, or a node that needs itself), each sorted, in id order."""
    built = {n.id for n in nodes if n.source == "built"}
    adjacent: dict[str, list[str]] = {n: [] for n in sorted(built)}
    for e in edges:
        if e.kind == "build" and e.dependent in built and e.dependency in built:
            adjacent[e.dependent].append(e.dependency)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in adjacent[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in adjacent[v]:
                found.append(sorted(group))

    for v in adjacent:
        if v not in index:
            visit(v)
    return sorted(found)


def write_graph(graph: Graph, path: Path) -> None:
    write_atomic(path, pretty_json(graph.to_json()))


def read_graph(path: Path) -> Graph:
    """The graph in `path`, checked: every edge names nodes, every built node has its
    recipe, the order holds every built node once, after everything it builds with."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such graph", hint="builder plan writes one") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable graph: {exc}", hint=_REPLAN) from exc
    try:
        graph = _graph(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: not a graph builder wrote: {exc!r}", hint=_REPLAN) from exc
    _check(graph, path)
    return graph


def _graph(data: Mapping[str, Any]) -> Graph:
    if data["graph_version"] != GRAPH_VERSION:
        raise ValueError(f"graph_version {data['graph_version']!r}, not {GRAPH_VERSION}")
    nodes = tuple(
        Node(
            name=normalize(n["name"]),
            version=str(n["version"]),
            source=_source(n["source"]),
            recipe=n.get("recipe"),
            reason=n.get("reason"),
        )
        for n in data["nodes"]
    )
    edges = tuple(
        Edge(
            dependent=str(e["from"]),
            dependency=str(e["to"]),
            kind=_kind(e["kind"]),
            bootstrap=bool(e.get("bootstrap", False)),
        )
        for e in data["edges"]
    )
    return Graph(
        image=str(data["image"]),
        requirements=tuple(str(r) for r in data["requirements"]),
        nodes=nodes,
        edges=edges,
        order=tuple(str(o) for o in data["order"]),
    )


def _source(value: Any) -> Source:
    if value not in ("built", "exception", "image"):
        raise ValueError(f"a node's source is built, exception or image, not {value!r}")
    return value  # type: ignore[no-any-return]


def _kind(value: Any) -> EdgeKind:
    if value not in ("build", "runtime"):
        raise ValueError(f"an edge's kind is build or runtime, not {value!r}")
    return value  # type: ignore[no-any-return]


def _check(graph: Graph, path: Path) -> None:
    ids = [n.id for n in graph.nodes]
    problems = [f"node {i} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    known = set(ids)
    for e in graph.edges:
        problems += [f"an edge names {x}, which is no node" for x in (e.dependent, e.dependency)
                     if x not in known]  # fmt: skip
    built = [n for n in graph.nodes if n.source == "built"]
    for n in built:
        if not n.recipe or not (path.parent / n.recipe).is_file():
            problems.append(f"node {n.id} is built here, and its recipe {n.recipe!r} is missing")
    order = list(graph.order)
    if sorted(order) != sorted(n.id for n in built):
        problems.append("the order does not hold every node built here exactly once")
    else:
        seen: set[str] = set()
        for ident in order:
            problems += [f"node {ident} comes before {d}, which it builds with"
                         for d in graph.build_dependencies(ident) if d not in seen]  # fmt: skip
            seen.add(ident)
    if problems:
        raise InputError(
            f"{path}: the graph is inconsistent: " + "; ".join(problems),
            hint="run builder plan again rather than editing graph.json by hand",
        )
