"""How the library tells a caller what it is doing, without knowing about terminals."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def status(self, text: str) -> None:
        """A new phase has started (one short line)."""

    def log(self, line: str) -> None:
        """One line of a tool's or a build's output."""

    def node(self, node: str, image: str, state: str) -> None:
        """A node of a graph build changed state (building, built, cached, failed, ...)."""


class Silent:
    def status(self, text: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def node(self, node: str, image: str, state: str) -> None:
        pass
