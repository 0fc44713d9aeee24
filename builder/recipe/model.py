"""A recipe, and the settings an override adds to the recipes a plan writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.limits import Limits
from builder.names import NormalizedName
from builder.recipe.schema import OVERRIDABLE, SETTINGS, external_parameters
from builder.recipe.values import BuiltRequirement, Patch, PinnedFile, RebuildPolicy, Repair


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    path: Path
    name: NormalizedName
    version: str
    sdist: PinnedFile
    image: str
    requires: tuple[PinnedFile, ...]
    built: tuple[BuiltRequirement, ...] = ()
    extra_packages: tuple[str, ...] = ()  # Debian packages added to the image
    compiled: bool = False  # the wheel must hold compiled code (no fallback to pure Python)
    patches: tuple[Patch, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    source_date_epoch: int | None = None
    repair: Repair = "auto"
    limits: Limits = field(default_factory=Limits)
    rebuild: RebuildPolicy = field(default_factory=RebuildPolicy)
    # pickle members whose dangerous imports a person looked at and accepted: member -> why
    accepted_pickles: Mapping[str, str] = field(default_factory=dict)
    # PEP 517 config settings for the build hook (meson-python's setup-args, ...)
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def external_parameters(self) -> dict[str, Any]:
        """The recipe as data: exactly what a user chose, nothing the machine added."""
        sdist = {"file": self.sdist.file, "sha256": self.sdist.sha256}
        pinned = {
            "name": self.name,
            "version": self.version,
            "sdist": sdist | ({"index": self.sdist.index} if self.sdist.index else {}),
            "image": self.image,
            "requires": [*(r.as_dict() for r in self.requires),
                         *(b.as_dict() for b in self.built)],
        }  # fmt: skip
        return pinned | external_parameters(self.settings())

    def settings(self) -> dict[str, Any]:
        """Its settings (schema.SETTINGS), by field."""
        return {s.field: getattr(self, s.field) for s in SETTINGS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Per-package settings beside a plan's recipes (an override file): what `builder
    plan` puts into the package's recipe on top of what it pins."""

    image: str | None = None  # another image than the plan's
    env: Mapping[str, str] = field(default_factory=dict)
    extra_packages: tuple[str, ...] = ()
    compiled: bool = False
    limits: Limits = field(default_factory=Limits)
    rebuild: RebuildPolicy = field(default_factory=RebuildPolicy)
    patches: tuple[Patch, ...] = ()
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """Its settings (schema.OVERRIDABLE), by field."""
        return {s.field: getattr(self, s.field) for s in OVERRIDABLE}
