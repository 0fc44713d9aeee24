"""builder recipe new|check: write a recipe from the index, validate recipes."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import (
    Subcommands,
    add_backend_option,
    add_store_option,
    env_assignment,
    existing_file,
    open_store,
    sandbox_factory,
)
from builder.cli.output import err_console, terminal_progress
from builder.gate.binding import binding_of
from builder.gate.check import Gate
from builder.images import DEFAULT_IMAGE
from builder.index import Index
from builder.policy import policy_here
from builder.recipe import load_recipe
from builder.resolve.new_recipe import RecipeRequest, new_recipe, parse_pin, write_recipe


def register(sub: Subcommands) -> None:
    p = sub.add_parser("recipe", help="write and check recipes")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    c = verbs.add_parser("check", help="validate recipe files")
    c.add_argument("recipes", type=existing_file, nargs="+", help="recipe files")
    c.set_defaults(handler=run_check)
    n = verbs.add_parser("new", help="pin NAME==VERSION and its build requirements in a recipe")
    n.add_argument("spec", metavar="NAME==VERSION")
    n.add_argument("-o", "--output", type=Path, help="recipe file (default: recipes/NAME.toml)")
    n.add_argument(
        "--image",
        help=f"build image (default: {DEFAULT_IMAGE}, or where the sdist's Cargo.toml needs a "
        "newer rustc, the first image whose rustc is new enough)",
    )
    n.add_argument(
        "--extra-package", action="append", default=[], metavar="DEBIAN_PACKAGE",
        help="a Debian package the build needs (a -dev package: libpq-dev, libxml2-dev), "
        "added to the image for the resolution and written to the recipe (repeatable)",
    )  # fmt: skip
    n.add_argument(
        "--env", action="append", default=[], type=env_assignment, metavar="NAME=VALUE",
        help="a variable of the build's environment (an opt-in such as "
        "FONTTOOLS_WITH_CYTHON=1): the backend is asked for its requirements with it, and "
        "it is written to the recipe's [build] env (repeatable)",
    )  # fmt: skip
    n.add_argument("--force", action="store_true", help="replace an existing recipe file")
    n.add_argument("-q", "--quiet", action="store_true", help="do not stream the resolver's log")
    n.add_argument(
        "--policy", type=existing_file, default=None, help="gate policy (see builder check)"
    )
    add_store_option(n)
    add_backend_option(n)
    n.set_defaults(handler=run_new)


def run_check(args: argparse.Namespace) -> int:
    for path in args.recipes:
        recipe = load_recipe(path)
        err_console().print(f"[green]ok[/] {path}: {recipe.name} {recipe.version}")
    return 0


def run_new(args: argparse.Namespace) -> int:
    parse_pin(args.spec)  # a spec that pins nothing is said before any backend or download
    store = open_store(args)
    progress = terminal_progress(args)
    asked = RecipeRequest(spec=args.spec, image_name=args.image,
                          extra_packages=tuple(args.extra_package), env=dict(args.env))  # fmt: skip
    policy = policy_here(args.policy).gate
    recipe = new_recipe(
        asked,
        store=store,
        index=Index(binding=binding_of(policy)),
        sandbox_factory=sandbox_factory(args.backend),
        progress=progress,
        gate=Gate(policy, store.root, progress),
    )
    path = args.output or Path("recipes") / f"{recipe.name}.toml"
    write_recipe(recipe, path, force=args.force)
    pins = ", ".join(f"{p.name} {p.version}" for p in recipe.requires)
    err_console().print(f"[bold green]wrote[/] {path}: {recipe.sdist.file}; build requires {pins}")
    return 0
