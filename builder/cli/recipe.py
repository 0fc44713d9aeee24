"""builder recipe check FILE...: validate recipes, reporting every problem at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.output import err_console
from builder.recipe import load_recipe


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("recipe", help="write and check recipes")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    c = verbs.add_parser("check", help="validate recipe files")
    c.add_argument("recipes", type=Path, nargs="+")
    c.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    for path in args.recipes:
        recipe = load_recipe(path)
        err_console().print(f"[green]ok[/] {path}: {recipe.name} {recipe.version}")
    return 0
