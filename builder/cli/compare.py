"""builder compare RECIPE --upstream | --with WHEEL: rebuild, then explain the difference."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subcommands,
    add_build_options,
    existing_file,
    workspace,
)
from builder.cli.diff import EXIT_DIFFER, render
from builder.cli.output import err_console, print_json
from builder.compare.comparison import compare
from builder.compare.upstream import fetch_upstream_wheel
from builder.index import Index
from builder.pipeline.build import build
from builder.pipeline.request import BuildRequest
from builder.recipe import load_recipe


def register(sub: Subcommands) -> None:
    p = sub.add_parser("compare", help="build a recipe and compare its wheel with another")
    p.add_argument("recipe", type=existing_file, help="a recipe file")
    other = p.add_mutually_exclusive_group(required=True)
    other.add_argument(
        "--upstream", action="store_true",
        help="the wheel of the same name, version and tags on the configured index",
    )  # fmt: skip
    other.add_argument("--with", dest="other", type=existing_file, help="any wheel file")
    p.add_argument("--normalize", action="store_true", help="also compare after normalization")
    p.add_argument("--json", action="store_true", help="the comparison as JSON on stdout")
    add_build_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    where = workspace(args)
    store, progress = where.store, where.progress
    built = build(BuildRequest(recipe=load_recipe(args.recipe)), where)
    compiled = {"upstream_compiled": list(built.upstream_compiled)}
    if args.upstream:
        _say_pure(built.wheel.name, built.upstream_compiled)
        upstream = fetch_upstream_wheel(Index(), built.wheel.name, store, progress)
        if upstream is None:
            err_console().print(f"the index serves no wheel matching {built.wheel.name}")
            if args.json:
                data = {"wheel": str(built.wheel), "raw": None, **compiled}
                print_json("compare", data, ok=True)
            return 0
        other, label = upstream.path, f"upstream {upstream.filename}"
    else:
        other, label = args.other, str(args.other)
    result = compare(
        built.wheel,
        other,
        labels=("rebuild", label),
        store=store,
        epoch=built.record.source_date_epoch,
        normalize=args.normalize,
    )
    if args.json:
        data = {"wheel": str(built.wheel), **result.to_json(), **compiled}
        print_json("compare", data, ok=result.raw.identical)
    console = err_console()
    render(result.raw, console)
    if result.normalized is not None:
        console.print("\n[bold]after normalization[/] (asked for; the raw result is above)")
        render(result.normalized, console)
    return 0 if result.raw.identical else EXIT_DIFFER


def _say_pure(wheel: str, upstream_compiled: tuple[str, ...]) -> None:
    """A wheel without compiled code where upstream compiles the release: slower than
    upstream's, whatever the comparison of the bytes says."""
    if upstream_compiled:
        err_console().print(
            f"[bold yellow]{wheel} holds no compiled code[/], and the index has "
            f"{len(upstream_compiled)} compiled wheel(s) of this release for this Python: "
            + ", ".join(upstream_compiled[:3])
            + (", ..." if len(upstream_compiled) > 3 else "")
        )
