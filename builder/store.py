"""The content-addressed store: sha256 -> bytes, plus cache records keyed by build key.

Every write goes to a temporary name inside the store and is renamed into place, so a
crash or a concurrent run never leaves a half-written object under a real digest.
Objects are read-only once stored and are hashed again before each use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import platformdirs

from builder import owner
from builder.encoding import pretty_json
from builder.errors import FetchError, StoreError, UsageError
from builder.names import Sha256, is_sha256

CHUNK = 1 << 20


def default_store_root() -> Path:
    env = os.environ.get("BUILDER_STORE", "").strip()
    return Path(env) if env else Path(platformdirs.user_cache_dir("builder")) / "store"


def sha256_file(path: Path) -> Sha256:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return Sha256(digest.hexdigest())


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary sibling and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreCheck:
    """What `Store.verify` found: `in_progress` lists tmp/ entries of runs still going
    (or of another machine or boot); a dead run's are removed before any check."""

    root: Path
    objects: int
    corrupt: tuple[str, ...]
    misplaced: tuple[str, ...]
    in_progress: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.misplaced

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "objects": self.objects,
            "corrupt": list(self.corrupt),
            "misplaced": list(self.misplaced),
            "in_progress": list(self.in_progress),
        }


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        try:
            for sub in ("objects/sha256", "tmp", "builds", "images"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot use {self.root} as the store: {exc.strerror}",
                hint="--store or $BUILDER_STORE must name a folder builder can write",
            ) from exc

    def path_of(self, digest: Sha256) -> Path:
        return self.root / "objects" / "sha256" / digest[:2] / digest

    def has(self, digest: Sha256) -> bool:
        return self.path_of(digest).is_file()

    def verified_path(self, digest: Sha256, what: str) -> Path:
        """The stored object's path, after checking its bytes still hash to `digest`."""
        path = self.path_of(digest)
        if not path.is_file():
            raise StoreError(f"{what}: sha256 {digest} is not in the store at {self.root}")
        actual = sha256_file(path)
        if actual != digest:
            raise StoreError(
                f"{what}: stored object {path} is corrupt (sha256 {actual}, expected {digest})",
                hint=f"delete {path} and run again to fetch it anew",
            )
        return path

    @contextlib.contextmanager
    def temp_dir(self, prefix: str = "work-") -> Iterator[Path]:
        """A scratch folder in the store's tmp/, named with its owner (builder.owner), so
        that what a killed run leaves is removed by the next (`reap_leftovers`)."""
        path = Path(tempfile.mkdtemp(prefix=_owned(prefix), dir=self.root / "tmp"))
        try:
            yield path
        finally:
            remove_tree(path)

    def reap_leftovers(self) -> list[str]:
        """Remove the scratch files of runs whose builder process is gone; say which."""
        removed = []
        for entry in sorted((self.root / "tmp").iterdir()):
            left_by = owner.Owner.find(entry.name)
            if left_by is not None and left_by.gone():
                remove_tree(entry)
                removed.append(f"{entry} (builder pid {left_by.pid})")
        return removed

    def verify(self) -> StoreCheck:
        """Hash every object again; list what is corrupt, misplaced or left in tmp/."""
        corrupt, misplaced, count = [], [], 0
        for path in sorted((self.root / "objects" / "sha256").rglob("*")):
            if path.is_dir():
                continue
            count += 1
            if not (is_sha256(path.name) and path.parent.name == path.name[:2]):
                misplaced.append(str(path))
            elif sha256_file(path) != path.name:
                corrupt.append(str(path))
        leftovers = [str(p) for p in sorted((self.root / "tmp").iterdir())]
        return StoreCheck(
            root=self.root,
            objects=count,
            corrupt=tuple(corrupt),
            misplaced=tuple(misplaced),
            in_progress=tuple(leftovers),
        )

    def add_stream(self, chunks: Iterable[bytes], *, expected: Sha256 | None, what: str) -> Sha256:
        """Store a stream of bytes; with `expected`, refuse bytes that hash otherwise."""
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=_owned("obj-"), suffix=".tmp", dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            actual = Sha256(digest.hexdigest())
            if expected is not None and actual != expected:
                raise FetchError(
                    f"{what}: sha256 mismatch: pinned {expected}, got {actual}",
                    hint="the file changed upstream or the pin is wrong; nothing was stored",
                )
            target = self.path_of(actual)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            return actual
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def add_file(self, src: Path, *, expected: Sha256 | None = None, what: str = "") -> Sha256:
        with src.open("rb") as f:
            return self.add_stream(_chunks(f), expected=expected, what=what or str(src))

    def add_bytes(self, data: bytes) -> Sha256:
        return self.add_stream([data], expected=None, what="bytes")

    def record_path(self, build_key: str) -> Path:
        return self.root / "builds" / f"{build_key}.json"

    def read_record(self, build_key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.record_path(build_key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def write_record(self, build_key: str, record: dict[str, Any]) -> None:
        write_atomic(self.record_path(build_key), pretty_json(record))


def _owned(prefix: str) -> str:
    return f"{prefix}{owner.current().token}-"


OUTPUT_MARK = ".made-by-builder"  # in each folder new_folder makes: what may be replaced


@contextlib.contextmanager
def new_folder(out: Path, *, made_by: str, force: bool = False) -> Iterator[Path]:
    """A new, empty folder beside `out` to fill. When the block ends without an error it
    replaces `out` whole (renamed into place, the old one moved aside first): `out` is
    never half-written. When the block fails, it is removed and `out` stays as it was.
    An `out` that is a file, or a folder with files builder did not make, is refused
    (exit 2) unless `force`: nothing the user did not ask for is deleted."""
    _refuse_foreign(out, made_by, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield work
        (work / OUTPUT_MARK).write_text(f"{made_by}\n", encoding="utf-8")
        old = out.with_name(f".{out.name}.old")
        if out.is_dir() and not out.is_symlink():
            out.rename(old)
        elif out.exists() or out.is_symlink():
            out.unlink()
        work.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(work)


def _refuse_foreign(out: Path, made_by: str, force: bool) -> None:
    if force or not (out.exists() or out.is_symlink()):
        return
    if not out.is_dir() or out.is_symlink():
        raise UsageError(
            f"{out} exists and is not a folder; {made_by} writes a folder there",
            hint="name another folder, or pass --force to replace the file",
        )
    if any(out.iterdir()) and not (out / OUTPUT_MARK).is_file():
        raise UsageError(
            f"{out} holds files builder did not make; {made_by} replaces the folder whole",
            hint="name a new or empty folder, or pass --force to replace it",
        )


def remove_tree(path: Path) -> None:
    """Remove a file or folder, read-only folders inside it included."""
    if not path.is_dir() or path.is_symlink():
        path.unlink(missing_ok=True)
        return
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:  # before os.walk goes in: it must be able to list it
            inside = os.path.join(dirpath, name)
            if os.path.islink(inside):  # a link to a folder (a venv's lib64): not walked
                continue
            with contextlib.suppress(OSError):
                os.chmod(inside, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk
