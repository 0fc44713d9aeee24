"""How the library tells a caller what it is doing, without knowing about terminals."""

from __future__ import annotations

from typing import Literal, Protocol

# A graph node's state: building, then how it ended (builder.pipeline.graph.Ended).
NodeState = Literal["building", "built", "cached", "shared", "differs", "failed", "skipped"]


class Progress(Protocol):
    def status(self, text: str) -> None:
        """A new phase has started (one short line)."""

    def log(self, line: str) -> None:
        """One line of a tool's or a build's output."""

    def node(self, node: str, image: str, state: NodeState) -> None:
        """A node of a graph build changed state (building, built, cached, failed, ...)."""


class Silent:
    def status(self, text: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def node(self, node: str, image: str, state: NodeState) -> None:
        pass
