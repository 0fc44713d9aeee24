"""builder diff A.whl B.whl: explain every difference between two wheels."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from builder.cli.common import Subcommands, existing_file
from builder.cli.output import err_console, print_json
from builder.compare.diff.model import CONTENT, MemberDiff, WheelDiff
from builder.compare.diff.wheel import diff_wheels
from builder.errors import BuilderError, NotReproducible

EXIT_DIFFER = NotReproducible.exit_code


def register(sub: Subcommands) -> None:
    p = sub.add_parser("diff", help="explain the differences between two wheels")
    p.add_argument("a", type=existing_file, help="a wheel")
    p.add_argument("b", type=existing_file, help="another wheel")
    p.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    p.add_argument("--deep", action="store_true", help="hand differing members to diffoscope")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = diff_wheels(args.a, args.b)
    if args.json:
        print_json("diff", result.to_json(), ok=result.identical)
    render(result, err_console())
    if args.deep and not result.identical:
        deep(result)
    return 0 if result.identical else EXIT_DIFFER


def render(result: WheelDiff, console: Console) -> None:
    if result.identical:
        console.print(f"[bold green]identical[/]: sha256 {result.sha256_a}")
        return
    what = "code differs" if result.code_differs else "only packaging and metadata differ"
    console.print(f"[bold red]differ[/] ({what}): {escape(result.a)} vs {escape(result.b)}")
    console.print(f"  a sha256 {result.sha256_a}\n  b sha256 {result.sha256_b}")
    if result.order_differs:
        console.print("  member order differs")
    table = Table(show_lines=True, expand=True)
    table.add_column("member", overflow="fold")
    table.add_column("kind")
    table.add_column("difference")
    table.add_column("details", overflow="fold")
    for member in result.members:
        table.add_row(escape(member.name), member.category, member.kind, escape(_details(member)))
    console.print(table)


def _details(member: MemberDiff) -> str:
    lines = list(member.details)
    for s in member.sections:
        lines.append(f"{s.name} ({s.size_a} -> {s.size_b} bytes): {s.cause}")
        for x, y in zip(s.differing_a, s.differing_b, strict=False):
            lines += [f"  - {x}", f"  + {y}"]
    lines += member.text_diff
    return "\n".join(lines)


def deep(result: WheelDiff) -> None:
    diffoscope = shutil.which("diffoscope")
    if diffoscope is None:
        raise BuilderError("--deep needs diffoscope", hint="install it: apt-get install diffoscope")
    with tempfile.TemporaryDirectory(prefix="builder-diff-") as tmp:
        for member in (m for m in result.members if m.kind == CONTENT):
            pair = []
            for side, wheel in (("a", result.a), ("b", result.b)):
                target = Path(tmp) / side / Path(member.name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipfile.ZipFile(wheel) as zf:
                    target.write_bytes(zf.read(member.name))
                pair.append(str(target))
            subprocess.run([diffoscope, *pair], stdout=sys.stderr, check=False)
