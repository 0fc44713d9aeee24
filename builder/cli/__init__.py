"""The command line: parse, call the library, print. Exit codes: `builder --help`.

Data goes to stdout (``--json`` for machines); progress, logs, reports and errors go to
stderr. `main(argv)` returns the exit code, whatever happens: every error is one
``error:`` line (or a list, for files with several problems) and a ``hint:`` line, with
its documented code; a traceback only with ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from rich.markup import escape

from builder import __version__
from builder.cli.output import err_console
from builder.errors import SIGNAL_CODES, BuilderError, UsageError, exit_codes

EXIT_INTERRUPTED, EXIT_TERMINATED = sorted(SIGNAL_CODES)
EXIT_INTERNAL = 1


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that every cleanup (containers, sandboxes,
    temporary files) runs; a BaseException like KeyboardInterrupt, so that no library's
    `except Exception` takes it for an error of its own."""


class _Exit(Exception):
    """argparse is done (--help, --version): leave main with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def exit_code_table() -> str:
    lines = ["exit codes:"]
    lines += [f"  {code:>3}  {text}" for code, _, text in exit_codes()]
    return "\n".join(lines)


class Parser(argparse.ArgumentParser):
    """argparse that reports through builder's error contract instead of exiting, takes
    -v before or after a command, and lists the exit codes in every --help."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("epilog", exit_code_table())
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
            help="show a traceback with an error",
        )  # fmt: skip

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"`{self.prog} --help` shows the usage")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


# Each command's module, imported only when the command runs (or for the full --help):
# one command does not pay for the libraries of the others at start-up.
COMMANDS = ("advisories", "build", "check", "compare", "diff", "image", "key", "names", "plan",
            "publish", "rebuild", "recipe", "report", "store", "verify", "worker")  # fmt: skip


def parser(only: str | None = None) -> Parser:
    """The command line's parser: every command's, or only the one named."""
    p = Parser(
        prog="builder",
        description="Hermetic, reproducible builds and provenance for Python wheels.",
    )
    p.add_argument("--version", action="version", version=f"builder {__version__}")
    p.set_defaults(verbose=False)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        importlib.import_module(f"builder.cli.{name}").register(sub)
    return p


def _command(args: Sequence[str]) -> str | None:
    """The command the arguments name (the first that is not an option), if any."""
    return next((a for a in args if not a.startswith("-")), None)


STOPPED_HINT = (
    "its containers and sandboxes were removed; run the command again to go on (what "
    "finished is a cache hit)"
)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args_list or "--verbose" in args_list
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        args = parser(_command(args_list)).parse_args(args_list)
        return int(args.handler(args))
    except _Exit as done:
        return done.status
    except BuilderError as exc:
        return _report(exc, verbose)
    except KeyboardInterrupt:
        return _report(BuilderError("interrupted", hint=STOPPED_HINT), verbose, EXIT_INTERRUPTED)
    except Terminated:
        return _report(BuilderError("terminated", hint=STOPPED_HINT), verbose, EXIT_TERMINATED)
    except Exception as exc:  # a bug: still one error line, the code of "any other error"
        internal = BuilderError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="this is a bug in builder; run again with -v for the traceback and report it",
        )
        return _report(internal, verbose, EXIT_INTERNAL)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report(exc: BuilderError, verbose: bool, code: int | None = None) -> int:
    console = err_console()
    if verbose:
        traceback.print_exc()
    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
    if exc.hint:
        console.print(f"[bold cyan]hint:[/] {escape(exc.hint)}", highlight=False)
    return exc.exit_code if code is None else code
