"""The wheel the configured index serves for a build, fetched for comparison.

Same file name first (same tags); else a wheel of the same name and version whose tags
overlap the build's. The download is checked against the index's digest and stored.
And whether upstream compiles a release at all: its compiled wheels that the build
image's Python installs, where builder's wheel holds no compiled code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from builder.errors import FetchError
from builder.images import Image
from builder.images.tags import installs
from builder.index import Index, IndexFile
from builder.names import normalize
from builder.progress import Progress
from builder.store import Store


def find_upstream_wheel(index: Index, wheel_name: str) -> IndexFile | None:
    name, version, _, tags = parse_wheel_filename(wheel_name)
    candidates = []
    for f, other_version, other_tags in _wheels(index, name):
        if f.filename == wheel_name:
            return f
        if other_version == version and tags & other_tags:
            candidates.append(f)
    return sorted(candidates, key=lambda f: f.filename)[0] if candidates else None


def compiled_upstream(index: Index, name: str, version: str, image: Image) -> tuple[str, ...]:
    """The index's wheels of `name` `version` with compiled code (a platform tag) that the
    image's Python installs, by file name: what pip there would take over a pure wheel."""
    wanted = Version(version)
    found = []
    for f, other_version, tags in _wheels(index, name):
        compiled = any(t.platform != "any" for t in tags)
        if other_version == wanted and compiled and not f.yanked and installs(image, f.filename):
            found.append(f.filename)
    return tuple(sorted(found))


def _wheels(index: Index, name: str) -> Iterator[tuple[IndexFile, Version, frozenset[Tag]]]:
    """The project's wheels on the index, each with the version and tags its name says."""
    for f in index.files(normalize(name)):
        try:
            _, version, _, tags = parse_wheel_filename(f.filename)
        except InvalidWheelFilename:
            continue
        yield f, version, tags


@dataclass(frozen=True, slots=True)
class UpstreamWheel:
    filename: str
    path: Path  # in the store, verified


def fetch_upstream_wheel(
    index: Index, wheel_name: str, store: Store, progress: Progress
) -> UpstreamWheel | None:
    """The upstream wheel, stored and verified, or None when the index serves none."""
    found = find_upstream_wheel(index, wheel_name)
    if found is None:
        return None
    if found.sha256 is None:
        raise FetchError(f"{found.filename}: the index {index.url} lists no sha256 for it")
    if not store.has(found.sha256):
        progress.status(f"fetching the upstream wheel {found.filename}")
        store.add_stream(index.download(found), expected=found.sha256, what=found.filename)
    return UpstreamWheel(found.filename, store.verified_path(found.sha256, found.filename))
