"""builder build RECIPE: fetch, build in isolation, repair, and write dist/ + a record."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import add_backend_option, add_store_option, open_store, sandbox_factory
from builder.cli.output import TerminalProgress, err_console, print_json
from builder.pipeline import build_recipe


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("build", help="build a recipe's wheel in an ephemeral container")
    p.add_argument("recipe", type=Path, help="a recipe file, e.g. recipes/markupsafe.toml")
    p.add_argument("--dist", type=Path, default=Path("dist"), help="output folder (dist/)")
    p.add_argument("--json", action="store_true", help="print the build record on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="do not stream the build log")
    add_store_option(p)
    add_backend_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    report = build_recipe(
        args.recipe,
        store=open_store(args),
        dist=args.dist,
        sandbox_factory=sandbox_factory(args.backend),
        progress=TerminalProgress(quiet=args.quiet),
    )
    if args.json:
        print_json(report.record)
    else:
        state = "cache hit, nothing built" if report.cached else "built"
        err_console().print(f"[bold green]{state}:[/] {report.wheel}")
        err_console().print(f"  sha256 {report.sha256}")
        err_console().print(f"  record {report.record_path}")
    return 0
