"""Terminal output: rich on stderr for people, plain JSON on stdout for machines."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from rich.console import Console
from rich.markup import escape

from builder.encoding import pretty_json
from builder.progress import NodeState


@cache
def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(command: str, data: Mapping[str, Any], *, ok: bool) -> None:
    """A command's result for machines: `schema` names its layout (docs/json.md, and
    docs/schemas/<command>.schema.json), `ok` is whether the command succeeds."""
    sys.stdout.write(pretty_json(with_schema(command, data, ok=ok)).decode())


def with_schema(command: str, data: Mapping[str, Any], *, ok: bool) -> dict[str, Any]:
    return {"schema": f"builder/{command}/v1", **data, "ok": ok}


class TerminalProgress:
    """Phases as bold lines (with `phases`; warnings always), a graph's nodes a line per
    change, and tool and build output streamed dim only with `stream` (-v): each build's
    whole log is in the store, and its path is printed."""

    def __init__(self, *, stream: bool = False, phases: bool = True) -> None:
        self.stream = stream
        self.phases = phases
        self.console = err_console()

    def status(self, text: str) -> None:
        if self.phases or text.startswith("warning:"):
            self.console.print(f"[bold]==>[/] {escape(text)}")

    def log(self, line: str) -> None:
        if self.stream:
            self.console.print(f"[dim]{escape(line)}[/]", soft_wrap=True)

    def node(self, node: str, image: str, state: NodeState) -> None:
        self.console.print(f"[bold]==>[/] {escape(node)} ({escape(image)}): {escape(state)}")


def terminal_progress(args: Any, *, phases: bool = True) -> TerminalProgress:
    """The progress a command's options ask for: -v streams the logs, -q never does."""
    verbose = bool(getattr(args, "verbose", False)) and not getattr(args, "quiet", False)
    return TerminalProgress(stream=verbose, phases=phases or verbose)
