"""The command line: parse, call the library, print. Exit codes are in docs/cli.md.

Data goes to stdout (``--json`` for machines); progress, logs and errors go to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence

from builder import __version__
from builder.cli import build as build_cmd
from builder.cli import check as check_cmd
from builder.cli import compare as compare_cmd
from builder.cli import diff as diff_cmd
from builder.cli import image as image_cmd
from builder.cli import key as key_cmd
from builder.cli import rebuild as rebuild_cmd
from builder.cli import recipe as recipe_cmd
from builder.cli import store as store_cmd
from builder.cli import verify as verify_cmd
from builder.cli.output import err_console
from builder.errors import BuilderError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="builder",
        description="Hermetic, reproducible builds and provenance for Python wheels.",
    )
    p.add_argument("--version", action="version", version=f"builder {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build_cmd.register(sub)
    check_cmd.register(sub)
    compare_cmd.register(sub)
    diff_cmd.register(sub)
    image_cmd.register(sub)
    key_cmd.register(sub)
    rebuild_cmd.register(sub)
    recipe_cmd.register(sub)
    store_cmd.register(sub)
    verify_cmd.register(sub)
    return p


class Terminated(Exception):
    """SIGTERM, turned into an exception so that every cleanup (containers, temp files) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(args)
    except Terminated:
        err_console().print("[bold red]error:[/] terminated", markup=True)
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except BuilderError as exc:
        if args.verbose:
            traceback.print_exc()
        err_console().print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
        if exc.hint:
            err_console().print(f"[bold cyan]hint:[/] {exc.hint}", markup=True, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console().print("[bold red]error:[/] interrupted", markup=True)
        return EXIT_INTERRUPTED
