"""How the library tells a caller what it is doing, without knowing about terminals."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def status(self, text: str) -> None:
        """A new phase has started (one short line)."""

    def log(self, line: str) -> None:
        """One line of a tool's or a build's output."""


class Silent:
    def status(self, text: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass
