"""What an image is: its definition (containers/<name>/image.toml), and an image made
from it, named by the sha256 of its root filesystem tar."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from builder.encoding import canonical_json
from builder.errors import ImageError, InputError
from builder.names import Sha256
from builder.problems import Problems, required_str
from builder.recipe import PinnedFile, parse_pinned_wheels

DEFINITION_FILE = "image.toml"
DEFAULT_IMAGE = "trixie-py"  # the reference recipes' image
_DEFINITION_KEYS = {
    "description",
    "suite",
    "extra-suites",
    "source-date-epoch",
    "packages",
    "tools",
}
# What the in-container driver runs: pypa/installer, pypa/build and auditwheel.
REQUIRED_TOOLS = frozenset({"installer", "build", "auditwheel"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageDefinition:
    name: str
    path: Path
    description: str
    suite: str
    source_date_epoch: int
    packages: tuple[str, ...]
    tools: tuple[PinnedFile, ...]
    # More suites of the same mirror (e.g. trixie-backports); a package is taken from one
    # only where `packages` names it so: "rustc/trixie-backports".
    extra_suites: tuple[str, ...] = ()

    @property
    def rootfs_sha256(self) -> Sha256:
        """A digest of what goes into the root filesystem; the tools are staged per build."""
        fields: dict[str, object] = {
            "suite": self.suite, "sde": self.source_date_epoch, "packages": self.packages
        }  # fmt: skip
        if self.extra_suites:
            fields["extra_suites"] = self.extra_suites
        return Sha256(hashlib.sha256(canonical_json(fields)).hexdigest())

    def with_packages(self, extra: tuple[str, ...]) -> ImageDefinition:
        """This image with more Debian packages (a recipe's `extra-packages`, such as a
        -dev package a C extension needs): an image of its own, named after the base and
        a digest of the additions, made like any other and with its own digest."""
        added = tuple(sorted(set(extra) - set(self.packages)))
        if not added:
            return self
        tag = hashlib.sha256(canonical_json(added)).hexdigest()[:12]
        return replace(self, name=f"{self.name}+{tag}", packages=(*self.packages, *added))


@dataclass(frozen=True, slots=True, kw_only=True)
class DebPackage:
    name: str
    version: str
    architecture: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "architecture": self.architecture}


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """A made image: its digest is the sha256 of its root filesystem tar."""

    name: str
    digest: Sha256
    definition_sha256: Sha256
    packages: tuple[DebPackage, ...]
    tools: tuple[PinnedFile, ...]
    made_on: str

    def package(self, name: str) -> DebPackage | None:
        """The image's Debian package of that name, if it holds one."""
        return next((p for p in self.packages if p.name == name), None)

    @property
    def reference(self) -> str:
        """The local tag a container backend knows this image by."""
        return f"builder/{self.name.replace('+', '-plus-')}:{self.digest[:24]}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Image:
        return cls(
            name=data["name"],
            digest=Sha256(data["digest"]),
            definition_sha256=Sha256(data["definition_sha256"]),
            packages=tuple(DebPackage(**p) for p in data["packages"]),
            tools=tuple(PinnedFile(**t) for t in data["tools"]),
            made_on=data["made_on"],
        )


def default_search_path() -> tuple[Path, ...]:
    """containers/ in the working directory, then the one beside this checkout's package."""
    here = Path(__file__).resolve().parents[2] / "containers"
    return tuple(dict.fromkeys([Path.cwd() / "containers", here]))


def find_definition(name: str, search: Sequence[Path] | None = None) -> ImageDefinition:
    dirs = tuple(search) if search is not None else default_search_path()
    for base in dirs:
        candidate = base / name / DEFINITION_FILE
        if candidate.is_file():
            return load_definition(candidate)
    looked = ", ".join(str(d) for d in dirs)
    raise ImageError(
        f"no image definition named {name!r} (looked in {looked})",
        hint=f"image definitions are containers/<name>/{DEFINITION_FILE}",
    )


def load_definition(path: Path) -> ImageDefinition:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read image definition: {exc}") from exc
    p = Problems(
        path, hint="docs/images.md lists every key of an image definition", error=InputError
    )
    for unknown in sorted(set(data) - _DEFINITION_KEYS):
        p.add(unknown, f"unknown key (allowed: {', '.join(sorted(_DEFINITION_KEYS))})")
    suite = required_str(data, "suite", "suite", p)
    sde = data.get("source-date-epoch")
    if isinstance(sde, bool) or not isinstance(sde, int) or sde < 0:
        p.add("source-date-epoch", f"expected a non-negative integer, got {sde!r}")
    packages = data.get("packages")
    if not isinstance(packages, list) or not all(isinstance(x, str) and x for x in packages):
        p.add("packages", "expected an array of Debian package names")
        packages = []
    extra_suites = data.get("extra-suites", [])
    if not isinstance(extra_suites, list) or not all(
        isinstance(x, str) and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", x) for x in extra_suites
    ):
        p.add("extra-suites", "expected an array of Debian suite names")
        extra_suites = []
    tools = parse_pinned_wheels(data.get("tools", []), "tools", p)
    for missing in sorted(REQUIRED_TOOLS - {t.name for t in tools}):
        p.add("tools", f"no pinned {missing!r} wheel (a build needs {', '.join(REQUIRED_TOOLS)})")
    p.raise_if_any()
    return ImageDefinition(
        name=path.parent.name,
        path=path,
        description=str(data.get("description", "")),
        suite=suite,
        source_date_epoch=sde if isinstance(sde, int) else 0,
        packages=tuple(packages),
        tools=tools,
        extra_suites=tuple(extra_suites),
    )
