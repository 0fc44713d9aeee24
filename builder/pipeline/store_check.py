"""Every part of the store checked, and with `repair` mended: objects hashed again,
unpacked images and prepared venvs against their manifests (every file hashed), build
records against what they name, the catalog of wheels built here against its records.

Repair removes what is damaged; an unpacked image is unpacked again at once from its
verified object, the rest is made again when a build next needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.built_catalog import BuiltCatalog
from builder.names import Sha256, is_sha256
from builder.sandbox.bwrap import place_rootfs
from builder.store import Store, StoreCheck
from builder.store_trees import MANIFEST_SUFFIX, differences, discard, summary
from builder.wheelbuild.record import RECORD_VERSION, BuildRecord, RecordError
from builder.wheelbuild.record_check import record_problems

Part = Literal["object", "unpacked image", "prepared venvs", "build record", "built catalog"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Damage:
    part: Part
    path: Path
    why: str

    def to_json(self) -> dict[str, str]:
        return {"part": self.part, "path": str(self.path), "why": self.why}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreReport:
    objects: StoreCheck
    damage: tuple[Damage, ...]
    repaired: bool

    @property
    def ok(self) -> bool:
        return not self.damage or self.repaired

    def to_json(self) -> dict[str, Any]:
        return self.objects.to_json() | {
            "damage": [d.to_json() for d in self.damage],
            "repaired": self.repaired,
        }


def check_store(store: Store, *, repair: bool = False) -> StoreReport:
    """Check every part of the store; with `repair`, mend what is damaged."""
    objects = store.verify()
    damage = [
        *(Damage(part="object", path=Path(p), why="its bytes do not hash to its name")
          for p in objects.corrupt),
        *(Damage(part="object", path=Path(p), why="not named by its sha256")
          for p in objects.misplaced),
    ]  # fmt: skip
    if repair:  # first: a removed object makes the records that name it stale
        for d in damage:
            d.path.unlink(missing_ok=True)
    found = [*_trees(store, "rootfs"), *_trees(store, "venvs"), *_records(store)]
    found += _catalog(store)
    if repair:
        for d in found:
            _mend(d, store)
    return StoreReport(objects=objects, damage=(*damage, *found), repaired=repair)


def _trees(store: Store, kind: Literal["rootfs", "venvs"]) -> Iterator[Damage]:
    part: Part = "unpacked image" if kind == "rootfs" else "prepared venvs"
    folder = store.root / kind
    if not folder.is_dir():
        return
    for tree in sorted(folder.iterdir()):
        if tree.name.endswith(MANIFEST_SUFFIX) or not tree.is_dir():
            continue
        found = differences(tree, contents=True)
        if found:
            yield Damage(part=part, path=tree, why=summary(found))


def _records(store: Store) -> Iterator[Damage]:
    for path in sorted((store.root / "builds").glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            yield Damage(part="build record", path=path, why=f"not JSON: {exc}")
            continue
        if isinstance(data, dict) and data.get("record_version") != RECORD_VERSION:
            continue  # another layout's: never a cache hit, so never served
        try:
            record = BuildRecord.from_json(data)
        except RecordError as exc:
            yield Damage(part="build record", path=path, why=f"not a build record: {exc}")
            continue
        if not is_sha256(path.stem):
            yield Damage(part="build record", path=path, why="not named by a build key")
            continue
        problems = record_problems(record, Sha256(path.stem), store)
        if problems:
            yield Damage(part="build record", path=path, why="; ".join(problems))


def _catalog(store: Store) -> Iterator[Damage]:
    for path, why in BuiltCatalog(store).problems():
        yield Damage(part="built catalog", path=path, why=why)


def _mend(damage: Damage, store: Store) -> None:
    if damage.part in ("unpacked image", "prepared venvs"):
        discard(damage.path, store)
        digest = damage.path.name
        if damage.part == "unpacked image" and is_sha256(digest) and store.has(Sha256(digest)):
            place_rootfs(Sha256(digest), store, what=f"image {digest[:12]}")
    else:
        damage.path.unlink(missing_ok=True)
