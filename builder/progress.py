"""How the library tells a caller what it is doing, without knowing about terminals."""

from __future__ import annotations

from typing import Literal, Protocol

# A graph node's state: building, then how it ended (builder.pipeline.graph.Ended).
NodeState = Literal[
    "building", "built", "cached", "shared", "differs", "failed", "skipped", "exception", "image"
]


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


class Labelled:
    """Another progress, each line labelled with what it belongs to (a graph's node):
    builds running side by side write lines that say whose they are."""

    def __init__(self, inner: Progress, label: str) -> None:
        self.inner = inner
        self.label = label

    def status(self, text: str) -> None:
        self.inner.status(f"{self.label}: {text}")

    def log(self, line: str) -> None:
        self.inner.log(f"[{self.label}] {line}")

    def node(self, node: str, image: str, state: NodeState) -> None:
        self.inner.node(node, image, state)
