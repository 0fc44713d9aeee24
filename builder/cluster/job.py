"""What crosses the network between the head and a worker, both ways.

Out: one build's recipe, image and inputs by digest, and the inputs' bytes, each checked
against its digest where it lands. Back: the wheel's and the log's bytes with what the
build recorded; the head checks the wheel's sha256 before its store takes it. The signing
key never crosses: the head signs after checking.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.fetch.sources import Sources
from builder.images import Image, ImageDefinition
from builder.recipe import Recipe
from builder.variation import Variation
from builder.wheelbuild.run import BuiltWheel, WorkerInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildJob:
    recipe: Recipe
    image: Image
    definition: ImageDefinition  # to make the image on a worker that lacks it
    sources: Sources
    variation: Variation
    backend: str  # the head's --backend: auto lets each worker pick

    @property
    def title(self) -> str:
        what = f"{self.recipe.name} {self.recipe.version}"
        return what if not self.variation.index else f"{what} (rebuild {self.variation.index})"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFailure:
    """A build that failed for its own reasons (not a lost worker): never retried."""

    error: str  # the class name in builder.errors
    message: str
    hint: str | None
    worker: WorkerInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutput:
    built: BuiltWheel | None  # its run names the worker
    wheel: bytes = b""
    log: bytes = b""
    failure: JobFailure | None = None
