"""The catalog of wheels built here: per image family, which wheel builder built for a
NAME VERSION, from which build. A recipe that requires a package `source = "built"` is
given the wheel its image's catalog names.

An entry is a file in the store (built/<image digest>/<name>/<version>.json). It is
trusted as far as the build record it names agrees: checked before a build is given its
wheel, and by `builder store verify`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.encoding import pretty_json
from builder.errors import StoreError
from builder.images import Image
from builder.images.tags import installs
from builder.names import Sha256
from builder.store import Store, write_atomic

Code = Literal["compiled", "pure"]
CODES: tuple[Code, ...] = ("compiled", "pure")


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogEntry:
    wheel: str
    sha256: Sha256
    build_key: str
    code: Code | None = None  # None: an entry an older builder wrote

    def to_json(self) -> dict[str, str]:
        out = {"wheel": self.wheel, "sha256": self.sha256, "build_key": self.build_key}
        return out | ({"code": self.code} if self.code is not None else {})

    @classmethod
    def from_json(cls, data: Any) -> CatalogEntry:
        """The entry a file holds; ValueError naming what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError(f"not a catalog entry: a {type(data).__name__}")
        fields = {k: data.get(k) for k in ("wheel", "sha256", "build_key")}
        if missing := [k for k, v in fields.items() if not isinstance(v, str)]:
            raise ValueError(f"not a catalog entry: no {', '.join(missing)}")
        code = data.get("code")
        if code is not None and code not in CODES:
            raise ValueError(f"not a catalog entry: code {code!r} is not one of {CODES}")
        return cls(
            wheel=data["wheel"], sha256=Sha256(data["sha256"]), build_key=data["build_key"],
            code=code,
        )  # fmt: skip


class BuiltCatalog:
    """The store's catalog of wheels built here, read and written by image family."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root / "built"

    def path(self, image: Image, name: str, version: str) -> Path:
        return self.root / image.digest / name / f"{version}.json"

    def add(self, image: Image, name: str, version: str, entry: CatalogEntry) -> None:
        """Say which wheel builder built for NAME VERSION in this image family."""
        write_atomic(self.path(image, name, version), pretty_json(entry.to_json()))

    def find(self, image: Image, name: str, version: str) -> CatalogEntry | None:
        """The entry, where it reads as one and its wheel is still in the store."""
        try:
            data = json.loads(self.path(image, name, version).read_text("utf-8"))
            entry = CatalogEntry.from_json(data)
        except (FileNotFoundError, ValueError):
            return None
        return entry if self.store.has(entry.sha256) else None

    def checked(self, image: Image, name: str, version: str) -> CatalogEntry | None:
        """The entry, where its build record names its wheel; a damaged one is removed
        and said (exit 9)."""
        entry = self.find(image, name, version)
        if entry is None or (problem := self.problem(entry)) is None:
            return entry
        self.path(image, name, version).unlink(missing_ok=True)
        raise StoreError(
            f"the store's entry for {name} {version} built here is damaged: {problem}",
            hint=f"it was removed; build {name} {version}'s recipe again",
        )

    def lend(self, name: str, version: str, *, source: Image, target: Image) -> CatalogEntry | None:
        """The source image's wheel of NAME VERSION, entered in the target image's catalog
        too where the target's Python installs it; None where it does not (or there is
        none)."""
        entry = self.find(source, name, version)
        if entry is None or not installs(target, entry.wheel):
            return None
        self.add(target, name, version, entry)
        return entry

    def problem(self, entry: CatalogEntry) -> str | None:
        """Why an entry cannot be trusted (its build record does not name its wheel)."""
        record = self.store.read_record(entry.build_key)
        output = (record or {}).get("output", {})
        named = (output.get("wheel"), output.get("sha256")) if isinstance(output, dict) else ()
        if named == (entry.wheel, entry.sha256):
            return None
        return f"its build record {entry.build_key} does not name {entry.wheel} ({entry.sha256})"

    def problems(self) -> Iterator[tuple[Path, str]]:
        """Every entry file that cannot be trusted, and why."""
        for path in sorted(self.root.glob("*/*/*.json")):
            try:
                entry = CatalogEntry.from_json(json.loads(path.read_bytes()))
            except (OSError, ValueError) as exc:
                yield path, str(exc)
                continue
            if (why := self.problem(entry)) is not None:
                yield path, why
