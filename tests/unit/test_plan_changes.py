"""What `plan --update` says changed: new, removed, upgraded and downgraded packages, and
packages of the same version built again because what they build with changed."""

from __future__ import annotations

from builder.names import normalize
from builder.plan.changes import PlannedGraph, changes, render
from builder.plan.graph import Edge, Graph, Node


def _plan(versions: dict[str, str], builds_with: dict[str, list[str]],
          recipes: dict[str, str] | None = None) -> PlannedGraph:  # fmt: skip
    nodes = tuple(Node(name=normalize(n), version=v, source="built", recipe=f"recipes/{n}.toml")
                  for n, v in versions.items())  # fmt: skip
    ids = {n.name: n.id for n in nodes}
    edges = tuple(Edge(dependent=ids[a], dependency=ids[b], kind="build")
                  for a, deps in builds_with.items() for b in deps)  # fmt: skip
    order = tuple(sorted(ids.values(), key=lambda i: len(builds_with.get(i.split("==")[0], []))))
    graph = Graph(image="trixie-py", requirements=("app",), nodes=nodes, edges=edges, order=order)
    texts = {ids[n]: (recipes or {}).get(n, f"{n} {v}") for n, v in versions.items()}
    return PlannedGraph(graph=graph, recipes=texts)


def test_an_update_names_each_change_and_what_builds_again_because_of_it() -> None:
    deps = {"app": ["tool", "backend"], "tool": ["backend"], "lib": ["backend"]}
    before = _plan({"backend": "1.0", "tool": "1.0", "lib": "1.0", "app": "1.0", "old": "1"},
                   deps)  # fmt: skip
    after = _plan({"backend": "1.0", "tool": "1.1", "lib": "1.0", "app": "1.0", "new": "2"},
                  deps, recipes={"lib": "lib 1.0 with another setuptools"})  # fmt: skip
    found = {c.name: c for c in changes(before, after)}
    assert set(found) == {"old", "new", "tool", "lib", "app"}, "backend is as it was"
    assert (found["tool"].kind, found["tool"].before, found["tool"].after) == ("upgraded", "1.0",
                                                                               "1.1")  # fmt: skip
    assert found["app"].kind == "rebuild" and "builds with tool" in found["app"].why
    assert found["lib"].kind == "rebuild" and "recipe changed" in found["lib"].why
    assert (found["old"].kind, found["new"].kind) == ("removed", "new")
    assert "upgraded   tool 1.0 -> 1.1" in render(list(found.values()))


def test_no_change_says_so() -> None:
    plan = _plan({"a": "1.0"}, {})
    assert changes(plan, plan) == []
    assert render([]) == "no change: every package is planned as before\n"


def test_a_downgrade_is_said_as_one() -> None:
    (change,) = changes(_plan({"a": "2.0"}, {}), _plan({"a": "1.10"}, {}))
    assert change.kind == "downgraded"
