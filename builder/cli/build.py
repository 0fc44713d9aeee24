"""builder build RECIPE: fetch, build in isolation, repair, and write dist/ + a record.

With --rebuilds N, the recipe is built N more times under variations and every wheel must
have the reference build's sha256 (exit 10 otherwise, with builder diff's explanation).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from builder.cli.common import (
    Subcommands,
    add_build_options,
    existing_file,
    folder_path,
    non_negative_int,
    positive_int,
    sandbox_factory,
    user_signer,
    variations,
    workspace,
)
from builder.cli.output import err_console, print_json, terminal_progress, with_schema
from builder.compare.rebuild import Rebuilds
from builder.encoding import pretty_json
from builder.errors import BuildFailed, NotReproducible, UsageError
from builder.images.tags import wheel_platform
from builder.pipeline.build import BuildReport, build
from builder.pipeline.request import BuildRequest, Signing
from builder.recipe import load_recipe
from builder.report.collect import GRAPH_SUMMARY
from builder.store import write_atomic
from builder.variation import DEFAULT_KINDS, KINDS
from builder.wheelbuild.host_libraries import host_libraries

if TYPE_CHECKING:  # a graph's modules load when a graph is built
    from builder.pipeline.graph import NodeOutcome


def register(sub: Subcommands) -> None:
    p = sub.add_parser("build", help="build a recipe's wheel, or a plan's graph, in isolation")
    p.add_argument(
        "recipe", type=existing_file, nargs="?", default=None,
        help="a recipe file, e.g. recipes/markupsafe.toml",
    )  # fmt: skip
    p.add_argument(
        "--graph", type=existing_file, nargs="+", action="extend", default=None,
        metavar="GRAPH", help="build every node of plans' graph.json files (one per image) "
        "in order, instead of one recipe",
    )  # fmt: skip
    p.add_argument(
        "--jobs", type=positive_int, default=1, metavar="N",
        help="with --graph: builds at once, each in its own sandbox (default: 1)",
    )  # fmt: skip
    p.add_argument(
        "--cluster", type=cluster_address, default=None, metavar="ADDRESS",
        help="with --graph: run the builds on a Dask cluster: tcp://HOST:PORT (a running "
        "scheduler and `builder worker`s) or local:N (N workers on this machine); this "
        "process fetches, checks each wheel's sha256 and signs (docs/cluster.md)",
    )  # fmt: skip
    p.add_argument(
        "--rebuild-on", choices=("any", "other-worker"), default="any",
        help="with --cluster and --rebuilds: other-worker runs every rebuild on another "
        "worker than the first build (default: any)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the build record on stdout")
    p.add_argument(
        "--rebuilds", type=non_negative_int, default=0, metavar="N",
        help="build N more times under variations and require identical wheels",
    )  # fmt: skip
    p.add_argument(
        "--vary", type=variations, default=None, metavar="LIST",
        help=f"variations of the rebuilds (default: {','.join(sorted(DEFAULT_KINDS))}, "
        f"less what the recipe's [rebuild] keeps fixed; known: {','.join(KINDS)})",
    )  # fmt: skip
    p.add_argument(
        "--no-vary", type=variations, default=frozenset(), metavar="LIST",
        help="variations to leave out (to find which one causes a difference)",
    )  # fmt: skip
    p.add_argument(
        "--normalize", action="store_true",
        help="also compare the wheels after normalization (reported apart from the raw result)",
    )  # fmt: skip
    p.add_argument(
        "--allow-unreproducible", action="store_true",
        help="exit 0 even when a rebuild differs (the report still says so)",
    )  # fmt: skip
    p.add_argument(
        "--attestations", type=folder_path, default=Path("attestations"), metavar="DIR",
        help="where the signed attestation bundle goes (default: attestations/)",
    )  # fmt: skip
    p.add_argument(
        "--key", type=existing_file, default=None,
        help="signing key (default: $BUILDER_SIGNING_KEY, else the user's key, made on first use)",
    )  # fmt: skip
    p.add_argument("--no-attest", action="store_true", help="write no attestation")
    add_build_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if (args.recipe is None) == (args.graph is None):
        raise UsageError("builder build: give a RECIPE or --graph GRAPH (one of them)")
    if args.graph is not None:
        return run_graph(args)
    if args.jobs != 1 or args.cluster is not None or args.rebuild_on != "any":
        raise UsageError(
            "builder build: --jobs, --cluster and --rebuild-on go with --graph (one recipe "
            "is one build)"
        )
    # What can be checked on the spot is, before any download or build: the recipe and
    # the signing key. The backend is chosen when a run is needed (never on a cache hit).
    request = BuildRequest(recipe=load_recipe(args.recipe), rebuilds=_rebuilds(args))
    report = build(request, workspace(args, signing=_signing(args)))
    failed = report.rebuild is not None and not report.rebuild.passed
    if args.json:
        print_json("build", _json(report), ok=not failed or args.allow_unreproducible)
    _summary(report)
    if report.bundle is not None:
        err_console().print(
            f"  attestation {report.bundle.path} ({len(report.bundle.envelopes)} signed statements)"
        )
    if report.rebuild is not None and not report.rebuild.reproducible:
        for _, difference in report.rebuild.differences:
            from builder.cli.diff import render

            render(difference, err_console())
        if not report.rebuild.passed and not args.allow_unreproducible:
            raise NotReproducible(
                f"{report.wheel.name} is not reproducible: "
                f"{len(set(report.rebuild.sha256s))} different sha256 in "
                f"{len(report.rebuild.sha256s)} builds",
                hint=f"the report is {report.rebuild_path}; --no-vary finds the cause",
            )
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from builder.executor import Executor, LocalExecutor
    from builder.pipeline.graph import build_graphs
    from builder.plan.graph import read_graph

    for path in args.graph:  # a graph edited into an inconsistent state: said before anything
        read_graph(path)
    if args.rebuild_on == "other-worker" and args.cluster is None:
        raise UsageError("builder build: --rebuild-on other-worker goes with --cluster")
    if args.cluster is not None and args.jobs != 1:
        raise UsageError("builder build: --jobs is for one machine; a cluster's workers say "
                         "how many builds run at once")  # fmt: skip
    signing = _signing(args)
    sandbox = sandbox_factory(args.backend)()
    where = replace(workspace(args, signing=signing), sandbox_factory=lambda: sandbox,
                    progress=terminal_progress(args, phases=False))  # fmt: skip
    executor: Executor = LocalExecutor(args.jobs, on_cancel=sandbox.cancel)
    if args.cluster is not None:
        from builder.cluster.executor import open_cluster

        executor = open_cluster(args.cluster, store=where.store, backend=args.backend)
    summary = where.dist / GRAPH_SUMMARY
    so_far: list[dict[str, object]] = []  # each node's row once, as it ends

    def ended(outcome: NodeOutcome) -> None:  # the table so far: a killed build leaves it
        so_far.append(_node_json(outcome))
        said = {"graphs": [str(path) for path in args.graph], "complete": False,
                "nodes": so_far}  # fmt: skip
        write_atomic(summary, pretty_json(with_schema("build-graph", said, ok=False)))

    try:
        outcomes = build_graphs(
            args.graph, workspace=where, executor=executor, rebuilds=_rebuilds(args),
            ended=ended,
        )  # fmt: skip
    finally:  # also when the graph fails before its first build (a local cluster's processes)
        executor.close()
    failed = [o for o in outcomes if o.state in ("failed", "skipped")]
    differs = [o for o in outcomes if o.state == "differs"]
    ok = not failed and (not differs or args.allow_unreproducible)
    said = {
        "graphs": [str(path) for path in args.graph],
        "complete": True,
        "nodes": [_node_json(o) for o in outcomes],
    }
    write_atomic(summary, pretty_json(with_schema("build-graph", said, ok=ok)))
    if args.json:
        print_json("build-graph", said, ok=ok)
    _graph_summary(outcomes, summary)
    if failed:
        raise BuildFailed(
            f"{sum(o.state == 'failed' for o in outcomes)} of {len(outcomes)} builds failed, "
            f"{sum(o.state == 'skipped' for o in outcomes)} skipped",
            hint="the table says why; fix and run again: what was built is a cache hit",
        )
    if differs and not args.allow_unreproducible:
        raise NotReproducible(
            f"{len(differs)} of {len(outcomes)} wheels are not reproducible: "
            + ", ".join(o.node for o in differs),
            hint="each rebuild report says what differs (builder diff); --no-vary finds the "
            "cause, a recipe's [rebuild] fixed says why a variation cannot be withstood",
        )
    return 0


def cluster_address(value: str) -> str:
    """tcp://HOST:PORT, or local:N (N >= 1)."""
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if count.isdigit() and int(count) >= 1:
            return value
        raise argparse.ArgumentTypeError(f"{value}: local:N needs a number of workers >= 1")
    if value.startswith(("tcp://", "tls://")) and ":" in value.split("://", 1)[1]:
        return value
    raise argparse.ArgumentTypeError(f"{value}: give tcp://HOST:PORT or local:N")


def _node_json(o: NodeOutcome) -> dict[str, object]:
    return {"node": o.node, "image": o.image, "state": o.state,
            "wheel": str(o.wheel) if o.wheel else None, "sha256": o.sha256, "reason": o.reason,
            "reproducible": o.reproducible, "seconds": o.seconds,
            "platform": _platform_of(o),
            "host_libraries": list(host_libraries(o.wheel)) if o.wheel else []}  # fmt: skip


def _platform_of(o: NodeOutcome) -> str | None:
    return ", ".join(wheel_platform(o.wheel.name).tags) if o.wheel else None


def _platform_cell(o: NodeOutcome) -> str:
    """The platform tags, and what the wheel takes from the host beyond glibc."""
    needs = host_libraries(o.wheel) if o.wheel else ()
    tags = _platform_of(o) or ""
    return f"{tags} (needs {', '.join(needs)} on the host)" if needs else tags


def _graph_summary(outcomes: list[NodeOutcome], summary: Path) -> None:
    table = Table(title="graph build", show_lines=False)
    for column in ("node", "image", "state", "reproducible", "platform", "glibc", "time",
                   "wheel or reason"):  # fmt: skip
        table.add_column(column, overflow="fold")
    colors = {"built": "green", "cached": "green", "shared": "green", "differs": "bold red",
              "failed": "bold red", "skipped": "yellow", "exception": "yellow",
              "image": "dim"}  # fmt: skip
    for o in outcomes:
        said = o.wheel.name if o.wheel else ""
        if o.reason:
            said = f"{said} ({o.reason})" if said else o.reason
        glibc = wheel_platform(o.wheel.name).glibc_text if o.wheel else None
        same = {True: "yes", False: "[bold red]no[/]", None: ""}[o.reproducible]
        seconds = f"{o.seconds:.0f} s" if o.seconds is not None else ""
        table.add_row(o.node, o.image, f"[{colors[o.state]}]{o.state}[/]", same,
                      _platform_cell(o), glibc or "", seconds, escape(said))  # fmt: skip
    err_console().print(table)
    err_console().print(f"the table as JSON: {escape(str(summary))}")


def _json(report: BuildReport) -> dict[str, object]:
    return {
        "wheel": str(report.wheel),
        "sha256": report.sha256,
        "cached": report.cached,
        "reproducible": _reproducible(report),
        "rebuilds": "recorded" if report.rebuilds_recorded else "run" if report.rebuild else None,
        "rebuild_report": None if report.rebuild_path is None else str(report.rebuild_path),
        "attestation": None if report.bundle is None else str(report.bundle.path),
        "log": str(report.log),
        "platform": _platform_json(report.wheel),
        "upstream_compiled": list(report.upstream_compiled),
        "record": report.record.to_json(),
    }


def _rebuilds(args: argparse.Namespace) -> Rebuilds:
    return Rebuilds(
        count=args.rebuilds, kinds=args.vary, no_vary=args.no_vary, normalize=args.normalize,
        elsewhere=args.rebuild_on == "other-worker",
    )  # fmt: skip


def _reproducible(report: BuildReport) -> bool | None:
    """Of this run's rebuilds, else of the ones the cache hit's record holds."""
    if report.rebuild is not None:
        return report.rebuild.reproducible
    recorded = report.record.rebuild
    return None if recorded is None else recorded.reproducible


def _platform_json(wheel: Path) -> dict[str, object]:
    platform = wheel_platform(wheel.name)
    return {"tags": list(platform.tags), "glibc": platform.glibc_text,
            "host_libraries": list(host_libraries(wheel))}  # fmt: skip


def _signing(args: argparse.Namespace) -> Signing | None:
    if args.no_attest:
        return None
    return Signing(signer=user_signer(args.key), folder=args.attestations)


def _summary(report: BuildReport) -> None:
    console = err_console()
    state = "cache hit, nothing built" if report.cached else "built"
    console.print(f"[bold green]{state}:[/] {report.wheel}")
    console.print(f"  sha256 {report.sha256}")
    console.print(f"  platform {wheel_platform(report.wheel.name).describe()}")
    if needs := host_libraries(report.wheel):
        console.print(f"  needs on the host: {', '.join(needs)} (manylinux lets a wheel take "
                      "it from the machine; a slim image may not have it)")  # fmt: skip
    if report.upstream_compiled:
        found = report.upstream_compiled
        console.print(
            f"  [yellow]no compiled code[/], where the index has {len(found)} compiled "
            f"wheel(s) of this release for this Python (e.g. {found[0]})"
        )
    console.print(f"  record {report.record_path}")
    console.print(f"  log {report.log}")
    if report.rebuild is not None:
        verdict = (
            "[bold green]reproducible[/]" if report.rebuild.reproducible else "[bold red]differs[/]"
        )
        builds = len(report.rebuild.sha256s)
        kinds = ", ".join(report.rebuild.kinds) or "none"
        console.print(f"  {verdict}: {builds} builds (variations: {kinds})")
        if report.rebuild.normalized_equal is not None:
            equal = "equal" if report.rebuild.normalized_equal else "still differ"
            console.print(f"  after normalization (asked for): {equal}")
        console.print(f"  rebuild report {report.rebuild_path}")
    elif (recorded := report.record.rebuild) is not None:
        verdict = "reproducible" if recorded.reproducible else "[bold red]differs[/]"
        console.print(f"  {verdict} (as recorded: {recorded.builds} builds)")
        console.print(f"  rebuild report {report.rebuild_path}")
