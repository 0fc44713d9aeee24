"""Reading and unpacking archives (sdists, crates, the venvs, a build's /out) as hostile.

Tar members go through the standard library's own extraction filter (`tarfile.data_filter`:
no paths or links out of the tree, no devices, no owners, sane modes), once when the whole
archive is checked and again as each member is extracted against what is on disk. On top
of it, builder's own rules: no absolute names, no name twice (but a file repeated byte for
byte, which is skipped), no member below a link, at most so many members and bytes. Zip
members are checked by builder (no links at all, no name twice). Errors name the member.

Standard library only: this module also runs inside build containers.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from builder.errors import ArchiveError

DEFAULT_MAX_BYTES = 2 << 30
DEFAULT_MAX_MEMBERS = 200_000
_CHUNK = 1 << 20
# Where `check` pretends to unpack: a path that does not exist, so that tarfile's filter
# judges names and link targets as written, with no link of the host's on the way.
_NOWHERE = Path("/nonexistent-builder-archive-check")


# How members become files. "data": sdists, crates, a build's /out: tarfile's data filter,
# modes 0644 or 0755, no times or owners. "tree": the build venvs a sandbox run made (no
# package code runs there): links to absolute paths kept (bin/python -> /usr/bin/python3,
# followed only inside a sandbox), modes, times and owners as archived.
UnpackKind = Literal["data", "tree"]


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_members: int = DEFAULT_MAX_MEMBERS


def _safe_name(archive: Path, name: str) -> str:
    """The member's path, normalized, or an ArchiveError if it could leave the tree."""
    if "\x00" in name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{archive}: member {name!r} has an absolute path")
    norm = posixpath.normpath(name.replace("\\", "/"))
    if norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
        raise ArchiveError(f"{archive}: member {name!r} points outside the archive (..)")
    return norm


def _check_link(archive: Path, member: str, target: str) -> None:
    """A link between members: relative, and inside the tree even read lexically."""
    if target.startswith("/"):
        raise ArchiveError(f"{archive}: member {member!r} links to absolute path {target!r}")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    if joined == ".." or joined.startswith("../"):
        raise ArchiveError(f"{archive}: member {member!r} links outside the archive ({target!r})")


# tarfile's extraction filters came with Python 3.12 and 3.11.4. builder itself needs
# them; the driver runs on an image's own Python, which may be older (Debian bookworm's
# 3.11.2): there builder's own rules alone check each member again (the host checked the
# archive with the filters before the build began, and the unpack writes only in the
# build's throwaway folders).
HAS_FILTERS = hasattr(tarfile, "data_filter")
_FILTER_ERROR: type[Exception] | tuple[()] = getattr(tarfile, "FilterError", ())
# What each refusal of tarfile's own filters means, said with the member's name.
_FILTER_REASONS: dict[str, str] = {
    "AbsolutePathError": "has an absolute path",
    "OutsideDestinationError": "points outside the archive (..)",
    "SpecialFileError": "is a device or fifo",
    "AbsoluteLinkError": "links to absolute path",
    "LinkOutsideDestinationError": "links outside the archive",
}


def _library_filter(
    archive: Path, m: tarfile.TarInfo, dest: Path, absolute_links: bool
) -> tarfile.TarInfo:
    """The standard library's extraction filter: 'data' (no links out of the tree, no
    special files, no owners, sane modes), or 'tar' where links to absolute paths are
    the archive's own business (a venv's bin/python), which builder never follows."""
    if not HAS_FILTERS:
        return m
    library = tarfile.tar_filter if absolute_links else tarfile.data_filter
    try:
        return library(m, str(dest))
    except _FILTER_ERROR as exc:
        reason = _FILTER_REASONS.get(type(exc).__name__, "is refused by tarfile's filter")
        target = f" ({m.linkname!r})" if m.islnk() or m.issym() else ""
        raise ArchiveError(f"{archive}: member {m.name!r} {reason}{target}") from exc


# A repeated member is compared with the first by reading both back (a compressed tar
# seeks back by decompressing again): so few are accepted.
MAX_REPEATS = 16


def _walk_tar(
    tar: tarfile.TarFile,
    archive: Path,
    dest: Path,
    limits: ArchiveLimits,
    *,
    absolute_links: bool = False,
) -> Iterator[tuple[tarfile.TarInfo, str]]:
    """Every member once, as filtered for extraction into `dest`, with its normalized name:
    tarfile's filter first, then builder's own checks on top of it: no absolute names
    (which the filter would strip), no duplicates, no member below a link (a chain of
    links can leave the tree where no single one does), only files, folders and links,
    at most `limits` members and bytes (member sizes: what a tar's data really holds)."""
    seen: set[str] = set()
    files: dict[str, tarfile.TarInfo] = {}
    links: set[str] = set()
    used = repeats = 0
    try:
        for count, m in enumerate(tar):
            _check_count(archive, limits, count)
            name = _safe_name(archive, m.name)
            filtered = _library_filter(archive, m, dest, absolute_links)
            if below := _below_a_link(name, links):
                raise ArchiveError(f"{archive}: member {m.name!r} lies below the link {below!r}")
            if name in seen and not m.isdir():
                repeats += 1
                if repeats > MAX_REPEATS:
                    raise ArchiveError(f"{archive}: more than {MAX_REPEATS} repeated members")
                if m.isfile():  # reading it back costs what unpacking it would
                    used = _budget(archive, limits, used, m.size, m.name)
                if _same_file(tar, files.get(name), m):
                    continue  # the same bytes again (pyarrow's LICENSE.txt): nothing to add
                raise ArchiveError(
                    f"{archive}: member {m.name!r} appears more than once, not the same file"
                )
            if m.issym():
                if not absolute_links or not m.linkname.startswith("/"):
                    _check_link(archive, name, m.linkname)
                links.add(name)
            elif m.islnk() and _safe_name(archive, m.linkname) not in seen:
                raise ArchiveError(
                    f"{archive}: hard link {m.name!r} points outside ({m.linkname!r})"
                )
            elif not (m.isfile() or m.isdir() or m.islnk()):
                raise ArchiveError(f"{archive}: member {m.name!r} has an unsupported type")
            if m.isfile():
                used = _budget(archive, limits, used, m.size, m.name)
                files[name] = m
            seen.add(name)
            yield filtered, name
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive}: corrupt tar archive: {exc}") from exc


def _same_file(tar: tarfile.TarFile, first: tarfile.TarInfo | None, again: tarfile.TarInfo) -> bool:
    """A repeated member that changes nothing: a regular file both times, with the same
    size, executable bit and bytes (read back from the archive; the walk goes on where it
    was). Any other repeat is ambiguous: which one a tool keeps decides what is built."""
    if first is None or not again.isfile() or first.size != again.size:
        return False
    if (first.mode ^ again.mode) & 0o111:
        return False
    return _digest(tar, first) == _digest(tar, again)


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    data = tar.extractfile(member)
    if data is None:
        return b""
    digest = hashlib.sha256()
    with data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def _below_a_link(name: str, links: set[str]) -> str | None:
    parent = posixpath.dirname(name)
    while parent:
        if parent in links:
            return parent
        parent = posixpath.dirname(parent)
    return None


def _check_zip_member(archive: Path, info: zipfile.ZipInfo, seen: set[str]) -> str:
    name = _safe_name(archive, info.filename)
    if name in seen and not info.is_dir():
        raise ArchiveError(f"{archive}: member {info.filename!r} appears more than once")
    mode = info.external_attr >> 16
    if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ArchiveError(f"{archive}: member {info.filename!r} is a link or special file")
    seen.add(name)
    return name


def _budget(archive: Path, limits: ArchiveLimits, used: int, more: int, member: str) -> int:
    used += more
    if used > limits.max_bytes:
        raise ArchiveError(
            f"{archive}: unpacking member {member!r} exceeds the limit of {limits.max_bytes} bytes",
            hint="a decompression bomb, or a very large sdist: raise the limit if it is genuine",
        )
    return used


def _copy_limited(
    src: IO[bytes],
    dst: IO[bytes] | _Discard,
    archive: Path,
    limits: ArchiveLimits,
    used: int,
    member: str,
) -> int:
    while chunk := src.read(_CHUNK):
        used = _budget(archive, limits, used, len(chunk), member)
        dst.write(chunk)
    return used


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{archive}: not a readable tar archive: {exc}") from exc


def _is_zip(archive: Path) -> bool:
    return archive.name.endswith(".zip")


def unpack(
    archive: Path,
    dest: Path,
    limits: ArchiveLimits | None = None,
    *,
    kind: UnpackKind = "data",
) -> None:
    """Unpack a tar or zip into `dest` (which must be empty), member by member, each
    checked first; on any refusal `dest` is emptied again."""
    limits = limits or ArchiveLimits()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if _is_zip(archive):
            _unpack_zip(archive, dest, limits)
        else:
            _unpack_tar(archive, dest, limits, kind)
    except ArchiveError:
        for child in dest.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def _unpack_tar(archive: Path, dest: Path, limits: ArchiveLimits, kind: UnpackKind) -> None:
    """Each member is extracted by tarfile through the same filter again, now against
    what is on disk (so a link planted by an earlier member is seen for what it is)."""
    tree = kind == "tree"
    with _open_tar(archive) as tar:
        for m, name in _walk_tar(tar, archive, dest, limits, absolute_links=tree):
            filters = {"filter": "tar" if tree else "data"} if HAS_FILTERS else {}
            try:
                tar.extract(m, dest, set_attrs=tree, **filters)  # type: ignore[arg-type]
            except _FILTER_ERROR as exc:
                raise ArchiveError(f"{archive}: member {m.name!r} is refused: {exc}") from exc
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ArchiveError(f"{archive}: cannot unpack member {m.name!r}: {exc}") from exc
            if m.isfile() and not tree:
                os.chmod(dest / name, 0o755 if m.mode & 0o111 else 0o644)


def _unpack_zip(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    seen: set[str] = set()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(f"{archive}: more than {limits.max_members} members")
        names = [_check_zip_member(archive, info, seen) for info in infos]
        used = 0
        for info, name in zip(infos, names, strict=True):
            target = dest / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as out:
                used = _copy_limited(src, out, archive, limits, used, info.filename)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def check(archive: Path, limits: ArchiveLimits | None = None) -> None:
    """Every check `unpack` makes, the unpacked size included, without writing anything:
    the host refuses a hostile sdist before any build starts, naming the member."""
    limits = limits or ArchiveLimits()
    if _is_zip(archive):
        _check_zip(archive, limits)
        return
    with _open_tar(archive) as tar:
        for _ in _walk_tar(tar, archive, _NOWHERE, limits):
            pass


def _check_zip(archive: Path, limits: ArchiveLimits) -> None:
    seen: set[str] = set()
    used = 0
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive: {exc}") from exc
    with zf:
        for count, info in enumerate(zf.infolist()):
            _check_count(archive, limits, count)
            _check_zip_member(archive, info, seen)
            if not info.is_dir():
                with zf.open(info) as src:
                    used = _copy_limited(src, _Discard(), archive, limits, used, info.filename)


def _check_count(archive: Path, limits: ArchiveLimits, count: int) -> None:
    if count >= limits.max_members:
        raise ArchiveError(f"{archive}: more than {limits.max_members} members")


def read_members(archive: Path, basename: str, max_bytes: int = 16 << 20) -> dict[str, bytes]:
    """Every member whose file name is `basename`, by path, without unpacking anything."""
    found: dict[str, bytes] = {}
    seen: set[str] = set()
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = _check_zip_member(archive, info, seen)
                if posixpath.basename(name) == basename and not info.is_dir():
                    found[name] = _read_capped(zf.open(info), archive, name, max_bytes)
        return found
    with _open_tar(archive) as tar:
        for m, name in _walk_tar(tar, archive, _NOWHERE, ArchiveLimits(max_bytes=1 << 62)):
            if posixpath.basename(name) == basename and m.isfile():
                f = tar.extractfile(m)
                if f is not None:
                    found[name] = _read_capped(f, archive, name, max_bytes)
    return found


def _read_capped(f: IO[bytes], archive: Path, name: str, max_bytes: int) -> bytes:
    with f:
        data: bytes = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArchiveError(f"{archive}: member {name!r} is larger than {max_bytes} bytes")
    return data


def compiled_members(wheel: Path) -> list[str]:
    """The wheel's ELF files (extension modules, libraries): what auditwheel repairs."""
    with zipfile.ZipFile(wheel) as zf:
        return [
            info.filename
            for info in zf.infolist()
            if not info.is_dir() and zf.open(info).read(4) == b"\x7fELF"
        ]


def latest_mtime(archive: Path) -> int:
    """The newest member time: a SOURCE_DATE_EPOCH that is a function of the sdist's bytes."""
    if _is_zip(archive):
        import datetime as dt

        with zipfile.ZipFile(archive) as zf:
            times = [
                int(dt.datetime(*i.date_time, tzinfo=dt.UTC).timestamp()) for i in zf.infolist()
            ]
    else:
        with _open_tar(archive) as tar:
            times = [int(m.mtime) for m in tar]
    if not times:
        raise ArchiveError(f"{archive}: empty archive")
    return max(times)


def single_top_dir(root: Path, archive: Path) -> Path:
    """An sdist unpacks into one NAME-VERSION directory (PEP 625); return it."""
    entries = list(root.iterdir())
    if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
        names = sorted(e.name for e in entries)
        raise ArchiveError(f"{archive}: expected one top-level directory, found {names}")
    return entries[0]
