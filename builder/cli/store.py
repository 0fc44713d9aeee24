"""builder store verify: check every part of the store and say what is wrong; with
--repair, mend it."""

from __future__ import annotations

import argparse

from builder.cli.common import Subcommands, add_store_option, open_store
from builder.cli.output import err_console, print_json
from builder.errors import StoreError
from builder.pipeline.store_check import check_store


def register(sub: Subcommands) -> None:
    p = sub.add_parser("store", help="check the content-addressed store")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    v = verbs.add_parser(
        "verify",
        help="hash every stored object, unpacked image and prepared venvs again and check "
        "every build record (exit 9 when a part is damaged)",
    )
    v.add_argument(
        "--repair", action="store_true",
        help="remove what is damaged (an unpacked image is unpacked again at once; the "
        "rest is made again when a build needs it)",
    )  # fmt: skip
    v.add_argument("--json", action="store_true", help="print the findings on stdout")
    add_store_option(v, must_exist=True)
    v.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    report = check_store(open_store(args), repair=args.repair)
    if args.json:
        print_json("store-verify", report.to_json(), ok=report.ok)
    console = err_console()
    console.print(f"{report.objects.objects} objects in {report.objects.root}")
    for path in report.objects.in_progress:
        console.print(f"  in progress (a builder that still runs): {path}")
    said = [f"{d.part} {d.path}: {d.why}" for d in report.damage]
    if said and report.repaired:
        console.print("[yellow]repaired:[/]\n  " + "\n  ".join(said))
    elif said:
        raise StoreError(
            "the store holds damaged parts:\n  " + "\n  ".join(said),
            hint="`builder store verify --repair` removes them; builder makes them again "
            "when they are needed",
        )
    console.print("[bold green]ok:[/] every object, unpacked image, prepared venvs and build "
                  "record is as made")  # fmt: skip
    return 0
