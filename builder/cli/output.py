"""Terminal output: rich on stderr for people, plain JSON on stdout for machines."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from rich.console import Console
from rich.markup import escape

from builder.encoding import pretty_json


@cache
def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(command: str, data: Mapping[str, Any], *, ok: bool) -> None:
    """A command's result for machines: `schema` names its layout (docs/json.md, and
    docs/schemas/<command>.schema.json), `ok` is whether the command succeeds."""
    document = {"schema": f"builder/{command}/v1", **data, "ok": ok}
    sys.stdout.write(pretty_json(document).decode())


class TerminalProgress:
    """Phases as bold lines; tool and build output streamed dim (hidden with --quiet)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = err_console()

    def status(self, text: str) -> None:
        self.console.print(f"[bold]==>[/] {escape(text)}")

    def log(self, line: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{escape(line)}[/]", soft_wrap=True)
