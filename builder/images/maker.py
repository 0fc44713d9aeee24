"""How an image is made, and found again: the ImageMaker protocol (a root filesystem tar
from a definition, and the packages in it), the store's record of the image made last
from each definition, and the image of a root filesystem fetched instead (an auditor's).

Debian's mmdebstrap is the one maker (images/debian.py); another kind of image is another
ImageMaker.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from builder.encoding import pretty_json
from builder.images.debian import DEBIAN
from builder.images.definition import DebPackage, Image, ImageDefinition
from builder.names import Sha256
from builder.progress import Progress
from builder.store import Store, write_atomic


class ImageMaker(Protocol):
    def make_rootfs(self, defn: ImageDefinition, out_tar: Path, progress: Progress) -> None:
        """Write the root filesystem tar of `defn` to `out_tar`: the same definition and
        package versions give the same bytes (ImageError when it cannot)."""

    def packages(self, rootfs_tar: Path) -> tuple[DebPackage, ...]:
        """The packages installed in a root filesystem tar (ImageError when it cannot say)."""


def make_image(
    defn: ImageDefinition, store: Store, progress: Progress, maker: ImageMaker = DEBIAN
) -> Image:
    """Make the root filesystem, store it by digest and record its package list."""
    with store.temp_dir("image-") as tmp:
        tar_path = tmp / "rootfs.tar"
        maker.make_rootfs(defn, tar_path, progress)
        progress.status(f"hashing the root filesystem of {defn.name}")
        digest = store.add_file(tar_path, what=f"image {defn.name} root filesystem")
    image = Image(
        name=defn.name,
        digest=digest,
        definition_sha256=defn.rootfs_sha256,
        packages=maker.packages(store.path_of(digest)),
        tools=defn.tools,
        made_on=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    write_atomic(_metadata_path(store, defn.name), pretty_json(image.to_json()))
    return image


def _metadata_path(store: Store, name: str) -> Path:
    return store.root / "images" / f"{name}.json"


def current_image(defn: ImageDefinition, store: Store) -> Image | None:
    """The image last made from this exact definition, if its root filesystem is stored."""
    try:
        data = json.loads(_metadata_path(store, defn.name).read_text(encoding="utf-8"))
        image = Image.from_json(data)
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None
    if image.definition_sha256 != defn.rootfs_sha256 or not store.has(image.digest):
        return None
    return replace(image, tools=defn.tools)


def image_from_rootfs(
    defn: ImageDefinition, digest: Sha256, store: Store, maker: ImageMaker = DEBIAN
) -> Image:
    """An image whose root filesystem was fetched, not made here (an auditor's, from an
    index, by the digest a provenance names): the tar in the store is the image; its
    package list is read from it as for one made here. Not recorded as the current image
    of its definition: the next build makes (or finds) its own."""
    store.verified_path(digest, f"image {defn.name} root filesystem")
    return Image(
        name=defn.name,
        digest=digest,
        definition_sha256=defn.rootfs_sha256,
        packages=maker.packages(store.path_of(digest)),
        tools=defn.tools,
        made_on="fetched",
    )


def ensure_image(defn: ImageDefinition, store: Store, progress: Progress) -> Image:
    return current_image(defn, store) or make_image(defn, store, progress)
