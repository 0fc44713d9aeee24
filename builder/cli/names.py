"""builder names refresh|show: the index's whole list of names the gate searches."""

from __future__ import annotations

import argparse

from rich.markup import escape

from builder.cli.common import Subcommands, add_store_option
from builder.cli.output import err_console
from builder.gate.names import load, refresh, snapshot_path
from builder.index import configured_index_url
from builder.store import default_store_root


def register(sub: Subcommands) -> None:
    p = sub.add_parser("names", help="the index's whole list of project names (the gate's)")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    r = verbs.add_parser("refresh", help="replace the store's snapshot with the index's list")
    r.add_argument(
        "--from", dest="source", metavar="URL",
        help="a simple-API index (default: the configured index, as pip's)",
    )  # fmt: skip
    add_store_option(r)
    r.set_defaults(handler=run_refresh)
    s = verbs.add_parser("show", help="what the store's snapshot holds")
    add_store_option(s)
    s.set_defaults(handler=run_show)


def run_refresh(args: argparse.Namespace) -> int:
    root = args.store or default_store_root()
    names = refresh(root, args.source or configured_index_url())
    err_console().print(f"[bold green]wrote[/] {snapshot_path(root)}: {escape(names.describe())}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    names = load(args.store or default_store_root())
    if names is None:
        err_console().print("no snapshot of the index's names: `builder names refresh`")
        return 0
    err_console().print(escape(names.describe()))
    return 0
