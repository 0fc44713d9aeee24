"""builder advisories refresh|show: the OSV snapshot the gate reads offline."""

from __future__ import annotations

import argparse

from rich.markup import escape

from builder.advisories.snapshot import load, refresh
from builder.cli.common import Subcommands, add_snapshot_verbs
from builder.cli.output import err_console, print_json
from builder.store import default_store_root


def register(sub: Subcommands) -> None:
    show = add_snapshot_verbs(
        sub, "advisories", "the known-malicious and vulnerable releases (OSV)",
        {"required": True, "metavar": "FILE|URL",
         "help": "an OSV JSON file, a folder of them, a zip (the OSV PyPI dump) or a URL to one"},
        (run_refresh, run_show),
    )  # fmt: skip
    show.add_argument("--json", action="store_true", help="the snapshot's summary as JSON")


def run_refresh(args: argparse.Namespace) -> int:
    report = refresh(args.source, args.store or default_store_root())
    console = err_console()
    console.print(f"[bold green]wrote[/] {report.path}: {escape(report.snapshot.describe())}")
    if report.withdrawn:
        console.print(f"  {report.withdrawn} withdrawn entries left out")
    for field, count in sorted(report.unknown_fields.items()):
        console.print(f"  note: {count} entries carry {field!r}, not an OSV field: ignored")
    if report.every_version:
        shown = ", ".join(report.every_version[:10])
        more = len(report.every_version) - 10
        console.print(
            f"  note: {len(report.every_version)} entries have ranges builder cannot read; "
            f"they are taken to affect every version: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    snapshot = load(args.store or default_store_root())
    if args.json:
        print_json("advisories", {"snapshot": snapshot.summary() if snapshot else None}, ok=True)
    console = err_console()
    if snapshot is None:
        console.print("no advisory snapshot: `builder advisories refresh --from FILE|URL`")
        return 0
    console.print(escape(snapshot.describe()))
    every = [a for found in snapshot.by_package.values() for a in found]
    malicious = sum(a.malicious for a in every)
    console.print(
        f"  packages: {len(snapshot.by_package)}; advisories: {malicious} of malicious "
        f"releases, {len(every) - malicious} of vulnerable ones"
    )
    return 0
