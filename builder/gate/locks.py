"""What a resolution or a lock file takes: each release with its files and where it says
they come from. Lock files are read entry by entry (pylock.toml, uv.lock, a recipe,
requirements pinned by --hash); gate/outcome.py reads what a resolver takes into the
same shape.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from builder.errors import InputError
from builder.gate.inputs import hashed_lines, requirement
from builder.names import NormalizedName, normalize


@dataclass(frozen=True, slots=True)
class LockedFile:
    """A file a resolution or a lock takes: its URL and sha256 where known."""

    url: str | None
    filename: str
    sha256: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Taken:
    """A release a resolution or a lock takes, with where it says it comes from."""

    name: NormalizedName
    version: str
    files: tuple[LockedFile, ...] = ()
    index: str | None = None  # the index the lock or resolver records
    direct: str | None = None  # a VCS, archive or path source instead of an index
    where: str = ""  # the lock file and entry, or the resolver


def file_of(url: str, sha256: str | None = None) -> LockedFile:
    bare, fragment = urldefrag(url)
    if sha256 is None and fragment.startswith("sha256="):
        sha256 = fragment.removeprefix("sha256=")
    return LockedFile(url=bare, filename=bare.rsplit("/", 1)[-1], sha256=sha256)


def locked_in(path: Path) -> list[Taken] | None:
    """The entries of a lock file (pylock.toml, uv.lock, a recipe, requirements pinned
    by --hash: gate/locks.py); None where `path` is none of those."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    return lock_entries(path, text)


def lock_entries(path: Path, text: str) -> list[Taken] | None:
    """Every release a lock file records, with its files and sources; None where `path`
    is not a lock (pylock.toml, uv.lock, a recipe, or a requirements file pinning by
    --hash)."""
    if path.suffix in (".toml", ".lock"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None  # said by the name reader
        if "package" in data and "sdist" in data:
            return recipe_entries(data, str(path))
        if path.name == "uv.lock" or ("version" in data and isinstance(data.get("package"), list)):
            return uv_lock_entries(data, str(path))
        if "packages" in data and "lock-version" in data:
            return pylock_entries(data, str(path))
        return None
    return hashed_requirements(text, path)


def recipe_entries(data: Mapping[str, Any], where: str) -> list[Taken]:
    """A recipe's pinned sdist and build requirements (each by file name and sha256, from
    its `index`, else the configured one)."""
    package, sdist, build = (_table(data, k) for k in ("package", "sdist", "build"))
    pins: list[tuple[str, Mapping[str, Any]]] = [(f"{where}: [sdist]", {**package, **sdist})]
    pins += [
        (f"{where}: build.requires[{i}]", r)
        for i, r in enumerate(_tables(build.get("requires", []), where, "build.requires"))
    ]
    return [Taken(name=normalize(_str(pin, "name", at)), version=str(pin.get("version", "")),
                  files=(LockedFile(url=None, filename=_str(pin, "file", at),
                                    sha256=_str(pin, "sha256", at)),),
                  index=pin.get("index") if isinstance(pin.get("index"), str) else None,
                  where=at) for at, pin in pins]  # fmt: skip


def pylock_entries(data: Mapping[str, Any], where: str) -> list[Taken]:
    """A pylock.toml's packages (PEP 751)."""
    taken = []
    for i, entry in enumerate(_tables(data.get("packages"), where, "packages")):
        at = f"{where}: packages[{i}]"
        files = [entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []
        files += _tables(entry.get("wheels", []), at, "wheels")
        direct = _pylock_direct(entry)
        taken.append(Taken(
            name=normalize(_str(entry, "name", at)), version=str(entry.get("version", "")),
            files=tuple(_locked(f, at) for f in files if f.get("url") or f.get("name")),
            index=entry.get("index") if isinstance(entry.get("index"), str) else None,
            direct=direct, where=at,
        ))  # fmt: skip
    return taken


def _pylock_direct(entry: Mapping[str, Any]) -> str | None:
    for key in ("vcs", "archive", "directory"):
        source = entry.get(key)
        if isinstance(source, dict):
            return str(source.get("url") or source.get("path") or key)
    return None


def uv_lock_entries(data: Mapping[str, Any], where: str) -> list[Taken]:
    """A uv.lock's packages: `source` is a registry (an index) or a direct source."""
    taken = []
    for i, entry in enumerate(_tables(data.get("package"), where, "package")):
        at = f"{where}: package[{i}]"
        source = _table(entry, "source")
        if "virtual" in source or "editable" in source:
            continue  # the project itself
        files = [entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []
        files += _tables(entry.get("wheels", []), at, "wheels")
        registry = source.get("registry")
        direct = next((str(source[k]) for k in ("git", "url", "path", "directory")
                       if k in source), None)  # fmt: skip
        taken.append(Taken(
            name=normalize(_str(entry, "name", at)), version=str(entry.get("version", "")),
            files=tuple(_locked(f, at) for f in files if f.get("url")),
            index=registry if isinstance(registry, str) else None, direct=direct, where=at,
        ))  # fmt: skip
    return taken


def hashed_requirements(text: str, path: Path) -> list[Taken] | None:
    """A requirements file's `name==version --hash=sha256:…` pins (None if it has none)."""
    taken = []
    for line, hashes, where in hashed_lines(text, path):
        if not hashes:
            continue
        req = requirement(line, where)
        pinned = [s.version for s in req.specifier if s.operator in ("==", "===")]
        files = tuple(LockedFile(url=None, filename="", sha256=h) for h in hashes)
        taken.append(Taken(name=normalize(req.name), version=pinned[0] if pinned else "",
                           files=files, direct=req.url, where=where))  # fmt: skip
    return taken or None


def _tables(value: Any, where: str, key: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(f"{where}: {key} is not an array of tables")
    return value


def _table(entry: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def _str(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: no {key}")
    return value


def _locked(f: Mapping[str, Any], where: str) -> LockedFile:
    digest = _table(f, "hashes").get("sha256")
    if digest is None and isinstance(f.get("hash"), str) and f["hash"].startswith("sha256:"):
        digest = f["hash"].removeprefix("sha256:")  # uv.lock
    url = f.get("url") if isinstance(f.get("url"), str) else None
    if url is not None:
        return file_of(url, digest)
    name = f.get("name")
    if not isinstance(name, str):
        raise InputError(f"{where}: a file with neither url nor name")
    return LockedFile(url=None, filename=name, sha256=digest)
