"""Trees the store derives from its objects (an unpacked image, prepared venvs), each
sealed by a manifest made when it was made.

The manifest lists every entry of the tree: its kind, mode, size, modification time,
and a file's sha256 or a link's target. On each use the tree is checked against it by
`lstat` alone (cheap: no file is read); `builder store verify` hashes every file again.
A tree without a manifest, or that differs from it, is damaged: it is removed, and made
again from the verified object it came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.encoding import canonical_json
from builder.errors import StoreError
from builder.store import CHUNK, Store, remove_tree, write_atomic

EntryKind = Literal["file", "dir", "link", "other"]
MANIFEST_SUFFIX = ".manifest.json"
SHOWN = 5  # differences named in a message


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeEntry:
    path: str
    kind: EntryKind
    mode: int
    size: int = 0
    mtime_ns: int = 0
    sha256: str | None = None  # a file's content; None where it cannot be read
    target: str | None = None  # a link's

    def same_stat(self, other: TreeEntry) -> bool:
        """Equal but for the content digest (what a check on use compares)."""
        return (self.kind, self.mode, self.size, self.mtime_ns, self.target) == (
            other.kind, other.mode, other.size, other.mtime_ns, other.target
        )  # fmt: skip

    def to_json(self) -> list[Any]:
        return [self.path, self.kind, self.mode, self.size, self.mtime_ns,
                self.sha256 if self.kind == "file" else self.target]  # fmt: skip

    @classmethod
    def from_json(cls, row: list[Any]) -> TreeEntry:
        path, kind, mode, size, mtime_ns, last = row
        if kind not in ("file", "dir", "link", "other"):
            raise ValueError(f"unknown entry kind {kind!r}")
        return cls(
            path=str(path), kind=kind, mode=int(mode), size=int(size), mtime_ns=int(mtime_ns),
            sha256=last if kind == "file" else None, target=last if kind == "link" else None,
        )  # fmt: skip


def manifest_path(tree: Path) -> Path:
    return tree.with_name(tree.name + MANIFEST_SUFFIX)


def seal(tree: Path, placed_at: Path) -> None:
    """Write the manifest of `tree`, which is about to be renamed to `placed_at`. Made
    before the rename: a tree in place without its manifest is never trusted."""
    rows = [e.to_json() for e in _walk(tree, contents=True)]
    write_atomic(manifest_path(placed_at), canonical_json({"entries": rows}))


def settle_times(tree: Path, seconds: int) -> None:
    """Give every file and link of `tree` the same modification time. Two runs that make
    the same tree at once (two builds needing the same venvs) then seal it with the same
    manifest, whichever writes it last: a tree in place always matches it."""
    for entry in _walk(tree, contents=False):
        if entry.kind in ("file", "link"):
            os.utime(tree / entry.path, ns=(seconds * 10**9,) * 2, follow_symlinks=False)


def differences(tree: Path, *, contents: bool) -> list[str]:
    """How `tree` differs from its manifest: by lstat, and with `contents` by sha256 too.
    Empty when it is as made."""
    try:
        data = json.loads(manifest_path(tree).read_bytes())
        sealed = {e.path: e for e in map(TreeEntry.from_json, data["entries"])}
    except FileNotFoundError:
        return [f"{manifest_path(tree).name} is missing (made by an older builder, or lost)"]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return [f"{manifest_path(tree).name} is unreadable: {exc}"]
    found: list[str] = []
    seen = set()
    for entry in _walk(tree, contents=contents):
        seen.add(entry.path)
        was = sealed.get(entry.path)
        if was is None:
            found.append(f"{entry.path}: added")
        elif not entry.same_stat(was) or (contents and entry.sha256 != was.sha256):
            found.append(f"{entry.path}: changed")
    found += [f"{path}: removed" for path in sorted(sealed.keys() - seen)]
    return found


def check_on_use(tree: Path, what: str, store: Store) -> bool:
    """True when `tree` is as its manifest says. A tree without a manifest (made by an
    older builder) is removed and False returned: make it anew. A tree that differs from
    its manifest is removed too, and StoreError (exit 9) names the damage; the next run
    makes it again."""
    if not manifest_path(tree).is_file():
        discard(tree, store)
        return False
    found = differences(tree, contents=False)
    if found:
        discard(tree, store)
        raise StoreError(
            f"{what} at {tree} differ from what was made: {summary(found)}",
            hint="they were removed; run again to make them anew from their verified object",
        )
    return True


def discard(tree: Path, store: Store) -> None:
    """Remove a tree's manifest, then the tree: moved into the store's tmp/ first (a build that
    has it mounted keeps it until it ends), then removed."""
    manifest_path(tree).unlink(missing_ok=True)  # first: a tree placed next keeps its own
    with store.temp_dir("damaged-") as work:
        with contextlib.suppress(FileNotFoundError):
            tree.rename(work / tree.name)
        remove_tree(work / tree.name)


def summary(found: list[str]) -> str:
    more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
    return "; ".join(found[:SHOWN]) + more


def _walk(root: Path, *, contents: bool) -> Iterator[TreeEntry]:
    """Every entry below `root`, in a fixed order; directories' times are left out (a
    mount point made later changes them, not what a build reads)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            rel = str(path.relative_to(root))
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISDIR(info.st_mode):
                stack.append(path)
                yield TreeEntry(path=rel, kind="dir", mode=mode)
            elif stat.S_ISLNK(info.st_mode):
                yield TreeEntry(path=rel, kind="link", mode=mode, target=os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                yield TreeEntry(
                    path=rel, kind="file", mode=mode, size=info.st_size,
                    mtime_ns=info.st_mtime_ns, sha256=_sha256(path) if contents else None,
                )  # fmt: skip
            else:
                yield TreeEntry(path=rel, kind="other", mode=mode)


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except PermissionError:
        return None
    return digest.hexdigest()
