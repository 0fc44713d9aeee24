"""builder plan and builder build --graph on a tiny real stack (tests/fixtures/stack.py)
served by nginx on 127.0.0.1: every package of the closure and of every build closure
built here from its sdist, a build cycle cut by the bootstrap rule, a wheel-only package
taken as a declared exception, two builds at once, and a rerun that builds nothing.

The network runs (resolve, lock) reach the index on the host's loopback: the sandbox
backend shares the host's network for them (docker's bridge does not reach 127.0.0.1)."""

from __future__ import annotations

import json
import signal
import uuid
import zipfile
from pathlib import Path

from builder.cli import main
from builder.provenance.bundle import read_bundle
from builder.recipe import load_recipe
from builder.store import Store
from tests.conftest import json_output
from tests.container.conftest import BuilderProcess, wait_until
from tests.fixtures.stack import Package, add_release

BUILT = ["acmestack-app", "acmestack-backend", "acmestack-lib", "acmestack-loop-a",
         "acmestack-loop-b", "acmestack-tool"]  # fmt: skip


def _plan(stack: Path, store: Store, *extra: str) -> int:
    argv = ["plan", str(stack / "requirements.txt"), "--out", str(stack / "plan"), "-q",
            "--policy", str(stack / "builder.toml"), "--store", str(store.root),
            "--overrides", str(stack / "overrides"), "--backend", "sandbox", *extra]  # fmt: skip
    return main(argv)


def test_a_closure_is_planned_and_built_from_source_in_order_with_its_cycle_and_exception(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, capsys
) -> None:
    assert _plan(stack, session_store, "--json") == 0, capsys.readouterr().err
    (graph,) = json_output(capsys.readouterr().out, "plan")["graphs"]
    assert graph["path"] == str(stack / "plan" / "graph.json")
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert sorted(n for n, v in nodes.items() if v["source"] == "built") == BUILT
    assert nodes["acmestack-binary"]["source"] == "exception"
    assert nodes["acmestack-binary"]["reason"] == "the vendor publishes wheels only"
    cut = [e for e in graph["edges"] if e.get("bootstrap")]
    assert cut == [{"from": "acmestack-loop-a==1.0", "to": "acmestack-loop-b==1.0",
                    "kind": "build", "bootstrap": True}]  # fmt: skip
    order = graph["order"]
    assert order[0] == "acmestack-backend==1.0"
    assert order.index("acmestack-loop-a==1.0") < order.index("acmestack-loop-b==1.0")
    assert order.index("acmestack-tool==1.0") < order.index("acmestack-app==1.0")
    runtime = {(e["from"], e["to"]) for e in graph["edges"] if e["kind"] == "runtime"}
    assert ("acmestack-lib==1.0", "acmestack-binary==1.0") in runtime
    recipe = (stack / "plan" / "recipes" / "acmestack-app-1.0.toml").read_text()
    assert 'source = "built"' in recipe and "sha256" in recipe  # the sdist's; built wheels: none
    loop_a = (stack / "plan" / "recipes" / "acmestack-loop-a-1.0.toml").read_text()
    assert "exception: acmestack-loop-b 1.0 from the index: bootstrap" in loop_a
    tool = load_recipe(stack / "plan" / "recipes" / "acmestack-tool-1.0.toml")
    assert tool.env == {"ACME_FLAVOUR": "tested"} and tool.limits.memory_mib == 2048
    assert [p.file for p in tool.patches] == ["acmestack-tool-1.0-who.patch"]

    argv = ["build", "--graph", str(stack / "plan" / "graph.json"), "--jobs", "2", "-q",
            "--store", str(session_store.root), "--dist", str(stack / "dist"),
            "--attestations", str(stack / "att"), "--backend", "sandbox", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    built = json_output(capsys.readouterr().out, "build-graph")
    _summary_holds(built, stack / "dist")
    assert sorted(p.name.split("-")[0] for p in (stack / "dist").glob("*.whl")) == [
        n.replace("-", "_") for n in BUILT
    ]

    (tool_wheel,) = (stack / "dist").glob("acmestack_tool-*.whl")
    with zipfile.ZipFile(tool_wheel) as zf:
        assert "patched" in zf.read("acmestack_tool/__init__.py").decode()
    tool_deps = _provenance(stack / "att", "acmestack_tool")
    assert [d["name"] for d in tool_deps if d["annotations"]["role"] == "patch"] == [
        "acmestack-tool-1.0-who.patch"
    ]
    provenance = _provenance(stack / "att", "acmestack_app")
    wheels = {d["uri"]: d["annotations"]["source"] for d in provenance
              if d["annotations"]["role"] == "build-requirement"}  # fmt: skip
    assert wheels == {"pkg:pypi/acmestack-backend@1.0": "built",
                      "pkg:pypi/acmestack-tool@1.0": "built",
                      "pkg:pypi/acmestack-loop-a@1.0": "built"}  # fmt: skip
    loop_a_deps = _provenance(stack / "att", "acmestack_loop_a")
    sources = {d["uri"]: d["annotations"].get("source") for d in loop_a_deps
               if d["annotations"]["role"] == "build-requirement"}  # fmt: skip
    assert sources["pkg:pypi/acmestack-loop-b@1.0"] == "index"  # the bootstrap exception

    assert main([*argv[:-1], "--json"]) == 0  # a rerun: every node a cache hit
    again = json_output(capsys.readouterr().out, "build-graph")
    assert [n["state"] for n in again["nodes"]] == ["cached"] * 6 + ["exception"]

    # Rebuilt under variation: the tool records its build path, so it differs (exit 10,
    # its rebuild report named); what builds with it still builds.
    assert main([*argv, "--rebuilds", "1"]) == 10
    rebuilt = {n["node"]: n for n in json_output(capsys.readouterr().out, "build-graph")["nodes"]}
    tool_node = rebuilt.pop("acmestack-tool==1.0")
    assert tool_node["state"] == "differs" and "rebuild.json" in tool_node["reason"]
    assert rebuilt.pop("acmestack-binary==1.0")["state"] == "exception"
    assert {n["state"] for n in rebuilt.values()} == {"cached"}
    assert {n["reproducible"] for n in rebuilt.values()} == {True}


def _summary_holds(built: dict, dist: Path) -> None:  # type: ignore[type-arg]
    """Six built, in order, then the exception with its reason: the table of the run, in
    the JSON output and in dist/graph-build.json alike."""
    assert [n["state"] for n in built["nodes"]] == ["built"] * 6 + ["exception"]
    assert built == json.loads((dist / "graph-build.json").read_text())
    binary = built["nodes"][-1]
    assert binary["node"] == "acmestack-binary==1.0" and "wheels only" in binary["reason"]
    assert all(n["platform"] == "any" and n["seconds"] > 0 for n in built["nodes"][:6])


def _provenance(folder: Path, prefix: str) -> list[dict]:  # type: ignore[type-arg]
    import base64

    (bundle,) = folder.glob(f"{prefix}-*.intoto.jsonl")
    statement = json.loads(base64.b64decode(read_bundle(bundle)[0]["payload"]))
    return statement["predicate"]["buildDefinition"]["resolvedDependencies"]  # type: ignore[no-any-return]


def test_an_update_says_what_changed_and_only_that_builds_again(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, nginx, capsys
) -> None:
    assert _plan(stack, session_store) == 0, capsys.readouterr().err
    argv = ["build", "--graph", str(stack / "plan" / "graph.json"), "-q", "--store",
            str(session_store.root), "--dist", str(stack / "dist"), "--no-attest",
            "--backend", "sandbox", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    # A plan again, nothing new on the index: every question answered by the kept answers.
    assert _plan(stack, session_store, "--force", "--json") == 0
    assert json_output(capsys.readouterr().out, "plan")["answers"]["asked"] == 0

    add_release(nginx.root, Package("acmestack-lib", version="1.1",
                                    dependencies=("acmestack-binary",)))  # fmt: skip
    assert _plan(stack, session_store, "--update", "--json") == 0, capsys.readouterr().err
    asked = json_output(capsys.readouterr().out, "plan")["answers"]
    assert asked["asked"] > 0, "the index asked again (what an sdist's files say stays kept)"
    found = json.loads((stack / "plan" / "changes.json").read_text())
    assert found == [{"kind": "upgraded", "name": "acmestack-lib", "before": "1.0",
                      "after": "1.1", "why": ""}]  # fmt: skip
    assert "upgraded   acmestack-lib 1.0 -> 1.1" in (stack / "plan" / "changes.txt").read_text()
    assert main(argv) == 0, capsys.readouterr().err
    states = {n["node"]: n["state"] for n in json_output(capsys.readouterr().out,
                                                         "build-graph")["nodes"]}  # fmt: skip
    assert states.pop("acmestack-lib==1.1") == "built"
    assert states.pop("acmestack-binary==1.0") == "exception"
    assert set(states.values()) == {"cached"}, states


def test_a_wheel_only_package_that_the_policy_does_not_name_fails_the_plan_naming_it(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, capsys
) -> None:
    (stack / "builder.toml").write_text('[plan]\nbootstrap = ["acmestack-loop-a"]\n')
    assert _plan(stack, session_store) == 4
    err = capsys.readouterr().err
    assert "acmestack-binary 1.0 has no sdist on the index" in err and "[plan.exceptions]" in err
    assert not (stack / "plan").exists(), "a failed plan leaves nothing behind"


def test_a_requirement_that_resolves_to_nothing_is_a_clear_error(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, capsys
) -> None:
    (stack / "requirements.txt").write_text("acmestack-app>=9\n")
    assert _plan(stack, session_store) == 4
    assert "do not resolve" in capsys.readouterr().err
    assert not (stack / "plan").exists()


def test_a_graph_build_killed_midway_leaves_the_table_of_the_nodes_that_ended(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, capsys
) -> None:
    """dist/graph-build.json is rewritten as each node ends: SIGTERM after the first node
    leaves that node's row, marked incomplete, and the whole table only once all ended."""
    token = uuid.uuid4().hex  # the first node's build is this test's own: no cache hit
    (stack / "overrides" / "acmestack-backend.toml").write_text(
        f'[build]\nenv = {{ KILLED_TEST = "{token}" }}\n'
    )
    assert _plan(stack, session_store) == 0, capsys.readouterr().err
    dist = stack / "killed-dist"
    summary = dist / "graph-build.json"
    argv = ["build", "--graph", str(stack / "plan" / "graph.json"), "--jobs", "1",
            "--store", str(session_store.root), "--dist", str(dist), "--no-attest",
            "--backend", "sandbox"]  # fmt: skip
    builder = BuilderProcess(argv)
    try:
        assert wait_until(lambda: _ended(summary) >= 1, 600), builder.err[-3000:]
        builder.proc.send_signal(signal.SIGTERM)
        assert builder.finish() == 143, builder.err[-3000:]
    finally:
        builder.proc.kill()
    table = json.loads(summary.read_text())
    assert table["complete"] is False and table["ok"] is False
    assert 1 <= len(table["nodes"]) < 7
    assert table["nodes"][0]["node"] == "acmestack-backend==1.0"
    assert table["nodes"][0]["state"] == "built"


def _ended(summary: Path) -> int:
    try:
        return len(json.loads(summary.read_text())["nodes"])
    except (OSError, ValueError):
        return 0
