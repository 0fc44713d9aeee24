"""What pinning reads from an sdist's own files, nothing of it run: its declared build
requirements (`[build-system].requires`), its runtime requirements (PKG-INFO's
Requires-Dist), the cargo projects it compiles that no Cargo.lock covers, and the
newest rustc those declare. A function of the sdist's bytes: a plan keeps it by sha256
(resolve/answers.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.metadata import parse_email

from builder.errors import RecipeError
from builder.fetch.cargo_lock import lockless_projects, rust_version
from builder.inside import archive

# PEP 517: a project without [build-system] is built by setuptools' legacy backend.
LEGACY_REQUIRES = ("setuptools>=40.8.0",)


def build_system_requires(sdist: Path) -> tuple[str, ...]:
    """`[build-system].requires` of the sdist's top-level pyproject.toml, read in place."""
    members = archive.read_members(sdist, "pyproject.toml")
    top = [m for m in members if m.count("/") == 1]
    if not top:
        return LEGACY_REQUIRES
    member = top[0]
    try:
        data = tomllib.loads(members[member].decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{sdist.name}:{member}: not readable TOML: {exc}") from exc
    system = data.get("build-system")
    if system is None:
        return LEGACY_REQUIRES
    requires = system.get("requires") if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise RecipeError(f"{sdist.name}:{member}: build-system.requires is not a list of strings")
    return tuple(requires)


def runtime_requirements(sdist: Path) -> tuple[str, ...]:
    """Requires-Dist of the sdist's PKG-INFO (static metadata, read by packaging's own
    parser; nothing runs)."""
    members = archive.read_members(sdist, "PKG-INFO")
    top = [m for m in members if m.count("/") == 1]
    if not top:
        return ()
    raw, _ = parse_email(members[top[0]])
    return tuple(r for r in raw.get("requires_dist", []) if r.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class SdistFacts:
    """What pinning reads from an sdist's own files (nothing of it runs): its declared
    build and runtime requirements, the cargo projects no Cargo.lock covers, and the
    newest rustc they declare. A function of its bytes: kept by its sha256."""

    declared: tuple[str, ...]
    runtime: tuple[str, ...]
    lockless: tuple[str, ...]
    rust_version: str | None

    @classmethod
    def read(cls, sdist: Path) -> SdistFacts:
        need = rust_version(sdist)
        return cls(declared=build_system_requires(sdist), runtime=runtime_requirements(sdist),
                   lockless=tuple(lockless_projects(sdist)),
                   rust_version=str(need) if need is not None else None)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"declared": list(self.declared), "runtime": list(self.runtime),
                "lockless": list(self.lockless), "rust_version": self.rust_version}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SdistFacts:
        need = data["rust_version"]
        return cls(declared=tuple(map(str, data["declared"])),
                   runtime=tuple(map(str, data["runtime"])),
                   lockless=tuple(map(str, data["lockless"])),
                   rust_version=str(need) if need is not None else None)  # fmt: skip
