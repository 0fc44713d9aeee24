"""Reading and unpacking sdists as hostile input.

Every member is checked before anything is written: no absolute or parent-relative paths,
no links that leave the tree, no device files, no duplicate names, and a cap on the total
size actually unpacked (not the size the archive claims). Errors name the member.

Standard library only: this module also runs inside build containers.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from builder.errors import ArchiveError

DEFAULT_MAX_BYTES = 2 << 30
DEFAULT_MAX_MEMBERS = 200_000
_CHUNK = 1 << 20


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
    if target.startswith("/"):
        raise ArchiveError(f"{archive}: member {member!r} links to absolute path {target!r}")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    if joined == ".." or joined.startswith("../"):
        raise ArchiveError(f"{archive}: member {member!r} links outside the archive ({target!r})")


def _check_tar_member(archive: Path, m: tarfile.TarInfo, seen: set[str]) -> str:
    name = _safe_name(archive, m.name)
    if name in seen and not m.isdir():
        raise ArchiveError(f"{archive}: member {m.name!r} appears more than once")
    if m.isdev() or m.isfifo() or m.ischr() or m.isblk():
        raise ArchiveError(f"{archive}: member {m.name!r} is a device or fifo")
    if m.issym():
        _check_link(archive, name, m.linkname)
    elif m.islnk():
        try:
            target = _safe_name(archive, m.linkname)
        except ArchiveError:
            raise ArchiveError(
                f"{archive}: hard link {m.name!r} points outside ({m.linkname!r}, absolute path)"
            ) from None
        if target not in seen:
            raise ArchiveError(f"{archive}: hard link {m.name!r} points outside ({m.linkname!r})")
    elif not (m.isfile() or m.isdir()):
        raise ArchiveError(f"{archive}: member {m.name!r} has an unsupported type")
    seen.add(name)
    return name


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


def _copy_limited(src, dst, archive: Path, limits: ArchiveLimits, used: int, member: str) -> int:  # type: ignore[no-untyped-def]
    while chunk := src.read(_CHUNK):
        used = _budget(archive, limits, used, len(chunk), member)
        dst.write(chunk)
    return used


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{archive}: not a readable tar archive: {exc}") from None


def _is_zip(archive: Path) -> bool:
    return archive.name.endswith(".zip")


def unpack(archive: Path, dest: Path, limits: ArchiveLimits | None = None) -> None:
    """Unpack a tar or zip into `dest` (which must be empty), checking every member first."""
    limits = limits or ArchiveLimits()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if _is_zip(archive):
            _unpack_zip(archive, dest, limits)
        else:
            _unpack_tar(archive, dest, limits)
    except ArchiveError:
        for child in dest.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def _unpack_tar(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    seen: set[str] = set()
    with _open_tar(archive) as tar:
        members = []
        try:
            for m in tar:
                if len(members) >= limits.max_members:
                    raise ArchiveError(f"{archive}: more than {limits.max_members} members")
                members.append((m, _check_tar_member(archive, m, seen)))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{archive}: corrupt tar archive: {exc}") from None
        used = 0
        for m, name in members:
            used = _write_tar_member(tar, m, name, dest, archive, limits, used)


def _write_tar_member(
    tar: tarfile.TarFile,
    m: tarfile.TarInfo,
    name: str,
    dest: Path,
    archive: Path,
    limits: ArchiveLimits,
    used: int,
) -> int:
    target = dest / name
    if m.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return used
    target.parent.mkdir(parents=True, exist_ok=True)
    if m.issym():
        os.symlink(m.linkname, target)
        return used
    if m.islnk():
        shutil.copyfile(dest / _safe_name(archive, m.linkname), target)
        return used
    src = tar.extractfile(m)
    if src is None:
        raise ArchiveError(f"{archive}: member {m.name!r} has no data")
    with src, open(target, "xb") as out:
        used = _copy_limited(src, out, archive, limits, used, m.name)
    os.chmod(target, 0o755 if m.mode & 0o111 else 0o644)
    return used


def _unpack_zip(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    seen: set[str] = set()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive: {exc}") from None
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
    seen: set[str] = set()
    used = 0
    if _is_zip(archive):
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveError(f"{archive}: not a readable zip archive: {exc}") from None
        with zf:
            for count, info in enumerate(zf.infolist()):
                _check_count(archive, limits, count)
                _check_zip_member(archive, info, seen)
                if not info.is_dir():
                    with zf.open(info) as src:
                        used = _copy_limited(src, _Discard(), archive, limits, used, info.filename)
        return
    with _open_tar(archive) as tar:
        try:
            for count, m in enumerate(tar):
                _check_count(archive, limits, count)
                _check_tar_member(archive, m, seen)
                if m.isfile() and (src := tar.extractfile(m)) is not None:
                    with src:
                        used = _copy_limited(src, _Discard(), archive, limits, used, m.name)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{archive}: corrupt tar archive: {exc}") from None


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
        for m in tar:
            name = _check_tar_member(archive, m, seen)
            if posixpath.basename(name) == basename and m.isfile():
                f = tar.extractfile(m)
                if f is not None:
                    found[name] = _read_capped(f, archive, name, max_bytes)
    return found


def _read_capped(f, archive: Path, name: str, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]
    with f:
        data: bytes = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArchiveError(f"{archive}: member {name!r} is larger than {max_bytes} bytes")
    return data


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
