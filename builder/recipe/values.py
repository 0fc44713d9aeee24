"""The values a recipe pins: files by sha256, requirements built here, patches, and the
rebuild policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from builder.names import NormalizedName, Sha256, normalize
from builder.problems import choice

Repair = Literal["auto", "skip"]  # auditwheel repair, or the wheel as built
REPAIR_MODES: tuple[Repair, ...] = get_args(Repair)
ENV_RESERVED = frozenset(
    {"SOURCE_DATE_EPOCH", "TZ", "LC_ALL", "PYTHONHASHSEED", "TMPDIR", "HOME", "PATH", "CARGO_HOME"}
)


# Where a wheel a build reads comes from: downloaded from an index (an exception to "built
# here from source", see docs/recipes.md), or built here by builder from its sdist.
Source = Literal["index", "built"]
SOURCES: tuple[Source, ...] = get_args(Source)


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedFile:
    """One file, by name and content digest, that a build reads."""

    name: NormalizedName
    version: str
    file: str
    sha256: Sha256
    index: str | None = None  # the one index this file comes from, where the lock says
    source: Source = "index"

    def as_dict(self) -> dict[str, str]:
        pin = {"name": self.name, "version": self.version, "file": self.file, "sha256": self.sha256}
        pin |= {"index": self.index} if self.index else {}
        return pin | ({"source": self.source} if self.source != "index" else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PinnedFile:
        """From `as_dict`'s form (KeyError or TypeError when it is not that)."""
        return cls(
            name=normalize(data["name"]),
            version=str(data["version"]),
            file=str(data["file"]),
            sha256=Sha256(data["sha256"]),
            index=data.get("index"),
            source=_source(data.get("source", "index")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltRequirement:
    """A build requirement builder builds here from its own recipe: the wheel is the one
    the store holds for this name and version in the build's image (the build of a graph
    makes it first); its sha256 is resolved when the build starts, and is part of the build
    key and the provenance."""

    name: NormalizedName
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "source": "built"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Patch:
    """A patch applied to the unpacked sdist before the build (`patch -p1`), in the
    recipe's order: a file beside the recipe, pinned by sha256 (part of the build key and
    of the provenance)."""

    file: str
    sha256: Sha256
    path: Path  # where it is read from: beside the recipe

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildPolicy:
    """Which rebuild variations this recipe's output may not withstand, and why.

    `fixed` leaves default variations out (each needs a reason: it documents a real
    dependence of the build on its environment); `also` adds opt-in ones such as umask.
    """

    fixed: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    reason: str = ""

    def kinds(self, defaults: frozenset[str]) -> frozenset[str]:
        return (defaults - set(self.fixed)) | set(self.also)

    def as_dict(self) -> dict[str, Any]:
        return {"fixed": list(self.fixed), "also": list(self.also), "reason": self.reason}


def _source(value: object) -> Source:
    if (source := choice(value, SOURCES)) is None:
        raise TypeError(f"source {value!r} is not one of {SOURCES}")
    return source
