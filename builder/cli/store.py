"""builder store verify: hash every object of the store again and say what is wrong."""

from __future__ import annotations

import argparse

from builder.cli.common import Subcommands, add_store_option, open_store
from builder.cli.output import err_console, print_json
from builder.errors import StoreError


def register(sub: Subcommands) -> None:
    p = sub.add_parser("store", help="check the content-addressed store")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    v = verbs.add_parser(
        "verify", help="hash every stored object again (exit 9 when one is corrupt)"
    )
    v.add_argument("--json", action="store_true", help="print the findings on stdout")
    add_store_option(v)
    v.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    check = open_store(args).verify()
    if args.json:
        print_json("store-verify", check.to_json(), ok=check.ok)
    console = err_console()
    console.print(f"{check.objects} objects in {check.root}")
    for path in check.in_progress:
        console.print(f"  in progress (a builder that still runs): {path}")
    if not check.ok:
        bad = [*(f"corrupt: {p}" for p in check.corrupt),
               *(f"not named by its sha256: {p}" for p in check.misplaced)]  # fmt: skip
        raise StoreError(
            "the store holds objects that do not match their names:\n  " + "\n  ".join(bad),
            hint="delete them; builder fetches or builds them again when they are needed",
        )
    console.print("[bold green]ok:[/] every object hashes to its name")
    return 0
