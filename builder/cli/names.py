"""builder names refresh|show: the index's whole list of names the gate searches."""

from __future__ import annotations

import argparse

from rich.markup import escape

from builder.cli.common import Subcommands, add_snapshot_verbs
from builder.cli.output import err_console
from builder.gate.names import load, refresh, snapshot_path
from builder.index_url import configured_index_url
from builder.store import default_store_root


def register(sub: Subcommands) -> None:
    add_snapshot_verbs(
        sub, "names", "the index's whole list of project names (the gate's)",
        {"metavar": "URL", "help": "a simple-API index (default: the configured one, as pip's)"},
        (run_refresh, run_show),
    )  # fmt: skip


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
