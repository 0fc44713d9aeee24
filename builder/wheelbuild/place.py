"""Where one isolated build runs: on this machine, in its sandbox, or on a cluster worker
(builder.cluster). The build chain (pipeline/build.py) and the rebuilds ask a place for
each build and get the same answer either way: a wheel in this machine's store, checked
by sha256, and what the build recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from builder.fetch.sources import Sources
from builder.images import Image
from builder.progress import Progress
from builder.recipe import Recipe
from builder.sandbox import Sandbox
from builder.store import Store
from builder.variation import REFERENCE, Variation
from builder.wheelbuild.run import BuiltWheel, run_build


class BuildPlace(Protocol):
    def build(
        self,
        recipe: Recipe,
        image: Image,
        sources: Sources,
        *,
        variation: Variation = REFERENCE,
        avoid: tuple[str, ...] = (),
    ) -> BuiltWheel:
        """Run one build; its wheel and log are in this machine's store on return.
        `avoid` names workers (by address) that must not run it: a rebuild elsewhere."""


class LocalPlace:
    """Builds on this machine, in the sandbox the factory gives (prepared for the image)."""

    def __init__(self, store: Store, sandbox: Callable[[], Sandbox], progress: Progress) -> None:
        self._store = store
        self._sandbox = sandbox
        self._progress = progress

    def build(
        self,
        recipe: Recipe,
        image: Image,
        sources: Sources,
        *,
        variation: Variation = REFERENCE,
        avoid: tuple[str, ...] = (),
    ) -> BuiltWheel:
        return run_build(
            recipe, image, sources, store=self._store, sandbox=self._sandbox(),
            progress=self._progress, variation=variation,
        )  # fmt: skip
