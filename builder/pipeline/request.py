"""What one build is asked to do (BuildRequest) and where it runs (Workspace): the two
values every caller of `build` resolves for itself (the CLI, a graph, an auditor's
rebuild, compare), instead of a wide signature that branches on who is calling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from builder.compare.rebuild import NO_REBUILDS, Rebuilds
from builder.index import Index

if TYPE_CHECKING:  # types only: a command that only reads this module loads none of them
    from securesystemslib.signer import Signer

    from builder.gate.binding import IndexBinding
    from builder.images import Image
    from builder.progress import Progress
    from builder.recipe import PinnedFile, Recipe
    from builder.sandbox import Sandbox
    from builder.store import Store
    from builder.wheelbuild.place import BuildPlace


@dataclass(frozen=True, slots=True, kw_only=True)
class Signing:
    """Where a build's attestations go and who signs them (never seen by a build)."""

    signer: Signer
    folder: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    """One recipe's build, as its caller resolved it.

    `image` is the exact image to build in, made or fetched already (an auditor's);
    `base_image` is the recipe's `image` made already (a graph's), to which its
    `extra-packages` are added; `tools` replaces the image definition's pinned tools (the
    attested ones); `built_pins` are the exact wheels of the recipe's built-here
    requirements (an auditor's, from the provenance; else the store's catalog says);
    `force` builds even on a cache hit."""

    recipe: Recipe
    rebuilds: Rebuilds = NO_REBUILDS
    force: bool = False
    image: Image | None = None
    base_image: Image | None = None
    tools: tuple[PinnedFile, ...] | None = None
    built_pins: tuple[PinnedFile, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workspace:
    """Where builds run and where what they make goes: the store, the backend (asked for
    only when a run is really needed), the index, progress, the image definitions, the
    place builds run (default: here; a cluster's workers), dist/, the signer, and the
    policy's binding of names to indexes, checked before anything is fetched."""

    store: Store
    progress: Progress
    sandbox_factory: Callable[[], Sandbox]
    dist: Path
    index: Index = field(default_factory=Index)
    image_search: tuple[Path, ...] | None = None
    place: BuildPlace | None = None
    signing: Signing | None = None
    binding: IndexBinding | None = None  # which indexes may serve which names (the policy)
