"""The index configuration pip, uv and builder will run with: every index a name could
resolve from, read from the environment, pip's configuration files, uv.toml and
pyproject.toml's [tool.uv] (the gate checks it against the policy)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from builder.pip_config import pip_config_entries


def index_configuration(cwd: Path | None = None) -> list[tuple[str, str]]:
    """(where, URL) of every index pip, uv or builder is configured to resolve a name from:
    builder's and pip's primary index, uv's default and extra indexes, from the
    environment, pip's configuration files, uv.toml and pyproject.toml's [tool.uv]."""
    found = [(var, os.environ[var]) for var in ("BUILDER_INDEX_URL", "PIP_INDEX_URL",
             "UV_INDEX_URL", "UV_DEFAULT_INDEX") if os.environ.get(var)]  # fmt: skip
    for var in ("UV_EXTRA_INDEX_URL", "UV_INDEX"):
        for entry in os.environ.get(var, "").split():
            found.append((var, entry.partition("=")[2] if "=" in entry.split("/")[0] else entry))
    for name, value in pip_config_entries("index-url"):
        found.append((f"pip's configuration ({name})", value))
    here = cwd or Path.cwd()
    for path, settings in uv_settings(here):
        for key in ("index-url", "extra-index-url"):
            values = settings.get(key)
            for url in [values] if isinstance(values, str) else values or []:
                found.append((f"{path} ({key})", str(url)))
        for index in settings.get("index", []):
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                found.append((f"{path} ([[index]] {index.get('name', '')})", index["url"]))
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


def uv_sources(here: Path) -> list[tuple[str, str, str]]:
    """(where, name, source) of each [tool.uv.sources] entry uv takes from elsewhere than
    an index (url, git, path) or from a named index (source: the index's URL)."""
    found = []
    for path, settings in uv_settings(here):
        indexes = {i.get("name"): i.get("url") for i in settings.get("index", [])
                   if isinstance(i, dict)}  # fmt: skip
        sources = settings.get("sources", {})
        for name, entries in sources.items() if isinstance(sources, dict) else ():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                for key in ("url", "git", "path"):
                    if isinstance(entry.get(key), str):
                        found.append((f"{path} (sources.{name}.{key})", name, entry[key]))
                if isinstance(entry.get("index"), str):
                    url = indexes.get(entry["index"]) or f"an undefined index {entry['index']}"
                    found.append((f"{path} (sources.{name}.index)", name, str(url)))
    return found


def url_key(url: str) -> str:
    return url.rstrip("/")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
