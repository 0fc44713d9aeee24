"""The index configuration pip, uv and builder will run with: every index a name could
resolve from, read from the environment, pip's configuration files, uv.toml and
pyproject.toml's [tool.uv] (the gate checks it against the policy)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.pip_config import pip_config_entries


@dataclass(frozen=True, slots=True)
class ConfiguredIndex:
    """An index pip, uv or builder is configured with: where it is set, its URL, and
    whether it replaces the default index (else it is searched beside it)."""

    where: str
    url: str
    primary: bool


def index_configuration(cwd: Path | None = None) -> list[ConfiguredIndex]:
    """Every index pip, uv or builder is configured to resolve a name from: builder's and
    pip's primary index, uv's default and extra indexes, from the environment, pip's
    configuration files, uv.toml and pyproject.toml's [tool.uv]."""
    primary = ("BUILDER_INDEX_URL", "PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX")
    found = [ConfiguredIndex(v, os.environ[v], True) for v in primary if os.environ.get(v)]
    for var in ("UV_EXTRA_INDEX_URL", "UV_INDEX"):
        for entry in os.environ.get(var, "").split():
            url = entry.partition("=")[2] if "=" in entry.split("/")[0] else entry
            found.append(ConfiguredIndex(var, url, False))
    for name, value in pip_config_entries("index-url"):
        found.append(ConfiguredIndex(f"pip's configuration ({name})", value, True))
    for path, settings in uv_settings(cwd or Path.cwd()):
        for key in ("index-url", "extra-index-url"):
            values = settings.get(key)
            for url in [values] if isinstance(values, str) else values or []:
                found.append(ConfiguredIndex(f"{path} ({key})", str(url), key == "index-url"))
        for index in settings.get("index", []):
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                where = f"{path} ([[index]] {index.get('name', '')})"
                found.append(ConfiguredIndex(where, index["url"], index.get("default") is True))
    return found


def merging_indexes() -> list[tuple[str, str]]:
    """(where, value) of every extra index pip is configured with: pip merges candidates
    from them all."""
    found = [("PIP_EXTRA_INDEX_URL", v) for v in [os.environ.get("PIP_EXTRA_INDEX_URL")] if v]
    return found + [(f"pip's configuration ({name})", value)
                    for name, value in pip_config_entries("extra-index-url")]  # fmt: skip


def find_links(cwd: Path | None = None) -> list[tuple[str, str]]:
    """(where, value) of every find-links pip or uv is configured with: files found there
    are candidates beside every index's."""
    found = [(var, v) for var in ("PIP_FIND_LINKS", "UV_FIND_LINKS") if (v := os.environ.get(var))]
    found += [(f"pip's configuration ({name})", value)
              for name, value in pip_config_entries("find-links")]  # fmt: skip
    for path, settings in uv_settings(cwd or Path.cwd()):
        values = settings.get("find-links")
        for link in [values] if isinstance(values, str) else values or []:
            found.append((f"{path} (find-links)", str(link)))
    return found


def uv_settings(here: Path) -> list[tuple[Path, dict[str, Any]]]:
    """uv's settings, from every file uv reads them: UV_CONFIG_FILE, else the project's
    (uv.toml or pyproject.toml's [tool.uv], in `here` or the nearest folder above that
    has one), the user's and the system's uv.toml; none under UV_NO_CONFIG."""
    if os.environ.get("UV_NO_CONFIG", "") not in ("", "0", "false"):
        return []
    if named := os.environ.get("UV_CONFIG_FILE"):
        return _uv_file(Path(named), ())
    found: list[tuple[Path, dict[str, Any]]] = []
    for folder in (here, *here.parents):
        found = _uv_file(folder / "uv.toml", ()) + _uv_file(folder / "pyproject.toml",
                                                            ("tool", "uv"))  # fmt: skip
        if found:
            break
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    for user in (config / "uv" / "uv.toml", *(Path(d) / "uv" / "uv.toml" for d in
                 dirs.split(":")), Path("/etc/uv/uv.toml")):  # fmt: skip
        found += _uv_file(user, ())
    return found


def _uv_file(path: Path, inner: tuple[str, ...]) -> list[tuple[Path, dict[str, Any]]]:
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    for key in inner:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return [(path, data)] if isinstance(data, dict) and data else []


SourceKind = Literal["url", "git", "path", "index"]


@dataclass(frozen=True, slots=True)
class UvSource:
    """A [tool.uv.sources] entry: where, for which name, of which kind, and its URL or
    path (for an index: the named index's URL)."""

    where: str
    name: str
    kind: SourceKind
    value: str


def uv_sources(here: Path) -> list[UvSource]:
    """Each [tool.uv.sources] entry uv takes from elsewhere than an index (url, git, path)
    or from a named index."""
    found = []
    for path, settings in uv_settings(here):
        indexes = {i.get("name"): i.get("url") for i in settings.get("index", [])
                   if isinstance(i, dict)}  # fmt: skip
        sources = settings.get("sources", {})
        for name, entries in sources.items() if isinstance(sources, dict) else ():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                kinds: tuple[SourceKind, ...] = ("url", "git", "path")
                for kind in kinds:
                    if isinstance(entry.get(kind), str):
                        found.append(UvSource(f"{path} (sources.{name}.{kind})", name, kind,
                                              entry[kind]))  # fmt: skip
                if isinstance(entry.get("index"), str):
                    url = indexes.get(entry["index"]) or f"an undefined index {entry['index']}"
                    found.append(UvSource(f"{path} (sources.{name}.index)", name, "index",
                                          str(url)))  # fmt: skip
    return found
