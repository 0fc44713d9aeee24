"""builder report: the auditor's report, a static HTML site (and its JSON form)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from builder.cli.common import Subcommands, existing_file, existing_folder
from builder.cli.output import err_console, print_json
from builder.errors import UsageError
from builder.gate.check import Gate
from builder.policy import policy_here
from builder.provenance.signing import load_public_key
from builder.report.collect import collect
from builder.report.held import held_files
from builder.report.render import write_report


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "report", help="an HTML report of builds, rebuilds and attestations (docs/report.md)"
    )
    p.add_argument("--dist", type=existing_folder, default=None, metavar="DIR",
                   help="the wheels with their .build.json and .rebuild.json (default: dist/ "
                   "if it exists)")  # fmt: skip
    p.add_argument("--attestations", type=existing_folder, action="append", default=None,
                   metavar="DIR", help="a folder of bundles, once per machine or signer to "
                   "compare (default: attestations/ if it exists)")  # fmt: skip
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="the site's folder (replaced whole when builder made it)")  # fmt: skip
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --output even when it is a file or builder did not make it",
    )
    p.add_argument("--key", type=existing_file, action="append", default=None, metavar="PUB",
                   help="a public key to check the bundles' signatures against (once per "
                   "signer; without it, signatures are shown by key id only)")  # fmt: skip
    p.add_argument("--policy", type=existing_file, default=None, metavar="FILE",
                   help="the gate's policy for its name rules (default: ./builder.toml or "
                   "pyproject.toml [tool.builder], if any)")  # fmt: skip
    p.add_argument("--index", type=existing_folder, default=None, metavar="DIR",
                   help="an index folder published with --quorum: show the files it holds "
                   "back (staged, quarantined) and what differs between a quarantine's "
                   "wheels")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the same report as JSON on stdout")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    dist = args.dist or (Path("dist") if Path("dist").is_dir() else None)
    folders = args.attestations or ([Path("attestations")] if Path("attestations").is_dir()
                                    else [])  # fmt: skip
    if dist is None and not folders and args.index is None:
        raise UsageError(
            "builder report: nothing to report on",
            hint="name a --dist folder of wheels, an --attestations folder of bundles or an "
            "--index folder",
        )
    keys = [load_public_key(path) for path in args.key or []]
    gate = Gate(policy_here(args.policy).gate)
    report = collect(dist, folders, keys=keys, gate=gate)
    if args.index is not None:
        report = replace(report, held=held_files(args.index))
    sources = ", ".join([*([f"{dist}"] if dist else []), *map(str, folders),
                         *([str(args.index)] if args.index else [])])  # fmt: skip
    index = write_report(report, args.output, sources, force=args.force)
    if args.json:
        print_json("report", {"index": str(index), **report.to_json()}, ok=True)
    counts = report.counts
    quarantined = sum(h.state == "quarantined" for h in report.held)
    err_console().print(
        f"[bold]report[/] {index}: {counts['wheels']} wheels, {counts['reproducible']} "
        f"reproducible, {counts['differs']} differ, {counts['attestations disagree']} with "
        f"attestations that disagree, {counts['with exceptions']} with exceptions, "
        f"{counts['unverified signatures']} with unverified signatures, "
        f"{counts['gate findings']} with gate findings"
        + (f"; held back: {len(report.held)} ({quarantined} in quarantine)" if report.held else "")
    )
    return 0
