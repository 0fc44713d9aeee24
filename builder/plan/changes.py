"""What changed between a plan and its update: packages new, removed, upgraded or
downgraded, and packages of the same version to build again because what they build with
changed (a build requirement pinned to another version or file, its own build
requirements built anew, its recipe's settings).

`builder plan --update` writes this beside the new graph (changes.txt, changes.json) and
prints it; `builder build --graph` then builds only those nodes and what builds with
them: every other node's build key is unchanged, a cache hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from builder.errors import BuilderError
from builder.plan.graph import Graph, read_graph

ChangeKind = Literal["new", "removed", "upgraded", "downgraded", "rebuild"]
CHANGES_TEXT = "changes.txt"
CHANGES_JSON = "changes.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    kind: ChangeKind
    name: str
    before: str | None  # the version planned before
    after: str | None  # the version planned now
    why: str = ""

    def line(self) -> str:
        said = {
            "new": f"new        {self.name} {self.after}",
            "removed": f"removed    {self.name} {self.before}",
            "upgraded": f"upgraded   {self.name} {self.before} -> {self.after}",
            "downgraded": f"downgraded {self.name} {self.before} -> {self.after}",
            "rebuild": f"rebuild    {self.name} {self.after}",
        }[self.kind]
        return f"{said}: {self.why}" if self.why else said

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "name": self.name, "before": self.before,
                "after": self.after, "why": self.why}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedGraph:
    """A plan as its folder holds it: the graph and each built node's recipe text."""

    graph: Graph
    recipes: dict[str, str]  # node id -> the recipe's text

    @classmethod
    def read(cls, folder: Path) -> PlannedGraph | None:
        """The plan in `folder`; None where there is none (or it does not read)."""
        path = folder / "graph.json"
        if not path.is_file():
            return None
        try:
            graph = read_graph(path)
            recipes = {n.id: (folder / n.recipe).read_text(encoding="utf-8")
                       for n in graph.nodes if n.recipe is not None}  # fmt: skip
        except (OSError, UnicodeDecodeError, ValueError, BuilderError):
            return None
        return cls(graph=graph, recipes=recipes)


def changes(before: PlannedGraph, after: PlannedGraph) -> list[Change]:
    """Every package whose plan changed, by name, in the new plan's build order."""
    old = {n.name: n for n in before.graph.nodes}
    new = {n.name: n for n in after.graph.nodes}
    found = [Change(kind="removed", name=n, before=old[n].version, after=None)
             for n in sorted(old.keys() - new.keys())]  # fmt: skip
    changed: set[str] = set()
    order = list(after.graph.order)  # built nodes, each after what it builds with
    order += [n.id for n in after.graph.nodes if n.id not in order]
    for ident in order:
        node = after.graph.node(ident)
        was = old.get(node.name)
        if was is None:
            found.append(Change(kind="new", name=node.name, before=None, after=node.version))
        elif was.version != node.version:
            kind: ChangeKind = "upgraded" if _newer(node.version, was.version) else "downgraded"
            found.append(Change(kind=kind, name=node.name, before=was.version,
                                after=node.version))  # fmt: skip
        elif (why := _rebuild_why(before, after, was.id, ident, changed)) is not None:
            found.append(Change(kind="rebuild", name=node.name, before=was.version,
                                after=node.version, why=why))  # fmt: skip
        else:
            continue
        changed.add(node.name)
    return found


def _rebuild_why(
    before: PlannedGraph, after: PlannedGraph, old_id: str, new_id: str, changed: set[str]
) -> str | None:
    """Why a node of the same version builds again, if it does."""
    deps = sorted(e.dependency.split("==")[0] for e in after.graph.edges
                  if e.dependent == new_id and e.kind == "build")  # fmt: skip
    moved = [d for d in deps if d in changed]
    if moved:
        return f"it builds with {', '.join(moved)}, which changed"
    if before.recipes.get(old_id) != after.recipes.get(new_id):
        return "its recipe changed (a build requirement's pin or a setting)"
    return None


def _newer(a: str, b: str) -> bool:
    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return a > b


def render(found: list[Change]) -> str:
    if not found:
        return "no change: every package is planned as before\n"
    return "".join(f"{c.line()}\n" for c in found)
