"""builder plan REQUIREMENTS...: a recipe for every package of the closure and of every
build closure under it, and the graph to build them in (docs/plan.md)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from rich.markup import escape

from builder.cli.common import (
    Subcommands,
    add_backend_option,
    add_store_option,
    existing_file,
    open_store,
    positive_int,
    sandbox_factory,
)
from builder.cli.output import err_console, print_json, terminal_progress
from builder.encoding import pretty_json
from builder.errors import UsageError
from builder.gate.binding import binding_of
from builder.gate.check import Gate
from builder.gate.inputs import requirements_in
from builder.images import DEFAULT_IMAGE, ensure_image, find_definition
from builder.index import Index
from builder.plan.changes import CHANGES_JSON, CHANGES_TEXT, PlannedGraph, changes, render
from builder.plan.closure import GRAPH_FILE, Planned, Planner, plan_closure
from builder.policy import policy_here
from builder.resolve.answers import Answers
from builder.store import write_atomic


def register(sub: Subcommands) -> None:
    p = sub.add_parser("plan", help="plan the build of a whole closure from source")
    p.add_argument(
        "requirements", type=existing_file, nargs="+", metavar="REQUIREMENTS",
        help="requirements files or pyproject.toml ([project] dependencies)",
    )  # fmt: skip
    p.add_argument(
        "--image", action="append", default=None, metavar="NAME",
        help="build image, once per Python to build for: each gets its own plan in "
        "--out/NAME/ when there are several (default: trixie-py)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=Path, default=Path("stack"), metavar="DIR",
        help="where the recipes and graph.json go (default: stack/)",
    )  # fmt: skip
    p.add_argument(
        "--policy", type=existing_file, default=None,
        help="builder.toml with [plan] (exceptions, bootstrap, image-packages) and the gate's "
        "tables (default: ./builder.toml, else [tool.builder] in ./pyproject.toml)",
    )  # fmt: skip
    p.add_argument(
        "--overrides", type=Path, default=Path("overrides"), metavar="DIR",
        help="per-package settings, DIR/<name>.toml: env, extra-packages, limits, patches "
        "(default: overrides/, where there is one)",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace the plan in --out")
    p.add_argument(
        "--jobs", type=positive_int, default=2, metavar="N",
        help="packages planned at once (default: 2)",
    )  # fmt: skip
    p.add_argument(
        "--update", action="store_true",
        help="resolve again against the index (no answer kept from earlier plans), replace "
        "the plan in --out and say what changed (changes.txt beside graph.json)",
    )  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="do not stream the runs' logs")
    p.add_argument("--json", action="store_true", help="the graph as JSON on stdout")
    add_store_option(p)
    add_backend_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    names = args.image or [DEFAULT_IMAGE]
    if len(set(names)) != len(names):
        raise UsageError(f"builder plan: --image names an image twice ({', '.join(names)})")
    requirements = [r for path in args.requirements for r in requirements_in(path)]
    policy = policy_here(args.policy)
    definitions = [find_definition(name) for name in names]  # an unknown name: said first
    store = open_store(args)
    progress = terminal_progress(args)
    gate = Gate(policy.gate, store.root, progress)
    sandbox = sandbox_factory(args.backend)()
    images = []
    for definition in definitions:
        images.append(ensure_image(definition, store, progress))
        sandbox.prepare(images[-1], store, progress)
    index = Index(binding=binding_of(policy.gate))
    answers = Answers(store, fresh=args.update)
    planner = Planner(
        store=store, index=index, sandbox=sandbox, progress=progress, gate=gate,
        policy=policy.plan, overrides=args.overrides if args.overrides.is_dir() else None,
        answers=answers, jobs=args.jobs,
    )  # fmt: skip
    folders = [args.out] if len(images) == 1 else [args.out / i.name for i in images]
    before = {f: PlannedGraph.read(f) for f in folders}
    planned = plan_closure(requirements, images=images, planner=planner, out=args.out,
                           force=args.force or args.update)  # fmt: skip
    progress.status(f"plan answers: {answers.said()}")
    if args.update:
        for plan in planned:
            _say_changes(before.get(plan.folder), plan)
    if args.json:
        graphs = [{"path": str(p.folder / GRAPH_FILE), **p.graph.to_json()} for p in planned]
        said = {"asked": answers.asked, "kept": answers.kept}
        print_json("plan", {"answers": said, "graphs": graphs}, ok=True)
    for plan in planned:
        _summary(plan)
    paths = " ".join(str(p.folder / GRAPH_FILE) for p in planned)
    out = args.out
    err_console().print(
        f"build it: builder build --graph {paths} --dist {out / 'dist'} --attestations "
        f"{out / 'attestations'} --rebuilds 1"
    )
    return 0


def _say_changes(before: PlannedGraph | None, plan: Planned) -> None:
    """What the update changed, printed and written beside the new graph."""
    after = PlannedGraph.read(plan.folder)
    if after is None:
        return
    empty = PlannedGraph(graph=replace(after.graph, nodes=(), edges=(), order=()), recipes={})
    found = changes(before or empty, after)
    text = render(found)
    write_atomic(plan.folder / CHANGES_TEXT, text.encode())
    write_atomic(plan.folder / CHANGES_JSON, pretty_json([c.to_json() for c in found]))
    console = err_console()
    console.print(f"[bold]changes[/] in {plan.folder} ({plan.folder / CHANGES_TEXT}):")
    for line in text.splitlines():
        console.print(f"  {escape(line)}")


def _summary(planned: Planned) -> None:
    graph = planned.graph
    counts = {s: sum(n.source == s for n in graph.nodes) for s in ("built", "exception", "image")}
    console = err_console()
    console.print(
        f"[bold green]planned[/] {len(graph.nodes)} packages for {graph.image}: "
        f"{counts['built']} built here, {counts['exception']} exceptions, "
        f"{counts['image']} image packages ({escape(str(planned.folder / GRAPH_FILE))})"
    )
    for node in graph.nodes:
        if node.source != "built":
            console.print(f"  {node.source}: {node.id} ({escape(node.reason or '')})")
    for edge in (e for e in graph.edges if e.bootstrap):
        console.print(f"  bootstrap: {edge.dependent} builds with {edge.dependency} from the index")
