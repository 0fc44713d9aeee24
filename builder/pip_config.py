"""pip's configuration files, read in process as pip reads them: the same files in the
same override order (global, user, the environment's site, PIP_CONFIG_FILE), the same
sections and key names. Running `pip config list` instead costs most of a second each
time; a test holds this reading to pip's own."""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

import platformdirs

CONFIG_BASENAME = "pip.conf"


def config_files() -> list[Path]:
    """pip's configuration files, the later overriding the earlier (pip's order: global,
    user unless PIP_CONFIG_FILE names a file that exists, site, PIP_CONFIG_FILE; none
    when PIP_CONFIG_FILE is os.devnull)."""
    named = os.environ.get("PIP_CONFIG_FILE")
    if named == os.devnull:
        return []
    site_dirs = platformdirs.site_config_dir("pip", appauthor=False, multipath=True)
    files = [Path(d) / CONFIG_BASENAME for d in site_dirs.split(os.pathsep)]
    files.append(Path("/etc") / CONFIG_BASENAME)
    if not (named and os.path.exists(named)):
        user = platformdirs.user_config_dir("pip", appauthor=False, roaming=True)
        files += [Path.home() / ".pip" / CONFIG_BASENAME, Path(user) / CONFIG_BASENAME]
    files.append(Path(sys.prefix) / CONFIG_BASENAME)
    return [*files, Path(named)] if named else files


def pip_configuration() -> dict[str, str]:
    """Every "section.key" of pip's configuration files and its value, as `pip config
    list` shows them. Files that cannot be read are skipped (pip fails on them)."""
    found: dict[str, str] = {}
    for path in config_files():
        parser = configparser.RawConfigParser()
        parser.optionxform = _normalize  # type: ignore[assignment,method-assign]
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in parser.sections():
            found |= {f"{section}.{key}": value for key, value in parser.items(section)}
    return found


def pip_config_value(key: str, command: str = "install") -> str | None:
    """What pip's `command` takes for `key` from its files: its own section's, else
    [global]'s (PIP_* variables are read apart)."""
    settings = pip_configuration()
    return settings.get(f"{command}.{key}", settings.get(f"global.{key}"))


def pip_config_entries(key: str) -> list[tuple[str, str]]:
    """Every section's `key` in pip's files, as ("section.key", value)."""
    return [(name, value) for name, value in pip_configuration().items()
            if name.partition(".")[2] == key]  # fmt: skip


def _normalize(name: str) -> str:
    """pip's key names: lower case, `-` for `_`, no leading `--`."""
    return name.lower().replace("_", "-").removeprefix("--")
