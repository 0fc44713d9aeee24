"""How each value of a recipe is read: checked, every problem added to the file's
Problems under its dotted key, a typed value returned (a neutral one after a problem)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from builder.limits import LIMIT_MAXIMA, Limits
from builder.names import Sha256, is_sha256, normalize
from builder.problems import Problems, choice, required_str, table_value
from builder.recipe.values import (
    ENV_RESERVED,
    REPAIR_MODES,
    SOURCES,
    BuiltRequirement,
    Patch,
    PinnedFile,
    RebuildPolicy,
    Repair,
)
from builder.variation import KINDS

REBUILD_KEYS = {"fixed", "also", "reason"}


def check_sha256(value: str) -> str | None:
    return None if is_sha256(value) else f"expected 64 lowercase hex characters, got {value!r}"


def check_version(value: str) -> str | None:
    try:
        Version(value)
    except InvalidVersion:
        return f"not a valid PEP 440 version: {value!r}"
    return None


def check_sdist_file(value: str) -> str | None:
    try:
        parse_sdist_filename(value)
    except InvalidSdistFilename:
        return f"not an sdist file name (NAME-VERSION.tar.gz or .zip): {value!r}"
    return None


def check_wheel_file(value: str) -> str | None:
    try:
        parse_wheel_filename(value)
    except InvalidWheelFilename:
        return f"not a wheel file name: {value!r}"
    return None


def pinned_sdist(
    table: Mapping[str, Any], name: str, version: str, p: Problems, prefix: str = ""
) -> PinnedFile:
    file = required_str(table, "file", f"{prefix}sdist.file", p, check_sdist_file)
    sha = required_str(table, "sha256", f"{prefix}sdist.sha256", p, check_sha256)
    index = optional_index(table, f"{prefix}sdist.index", p)
    if file and check_sdist_file(file) is None and name and check_version(version) is None:
        sd_name, sd_version = parse_sdist_filename(file)
        if sd_name != normalize(name) or sd_version != Version(version):
            p.add(f"{prefix}sdist.file", f"{file!r} is not {name} {version}")
    return PinnedFile(
        name=normalize(name), version=version, file=file, sha256=Sha256(sha), index=index
    )


def optional_index(table: Mapping[str, Any], dotted: str, p: Problems) -> str | None:
    value = table.get("index")
    if value is not None and (not isinstance(value, str) or "://" not in value):
        p.add(dotted, f"expected an index URL, got {value!r}")
        return None
    return value


def parse_pinned_wheels(value: Any, array: str, p: Problems) -> tuple[PinnedFile, ...]:
    """An array of [[array]] entries, each one wheel file pinned by name, version and sha256."""
    if not isinstance(value, list):
        p.add(array, f"expected an array of tables ([[{array}]])")
        return ()
    pins = []
    for i, entry in enumerate(value):
        key = f"{array}[{i}]"
        if not isinstance(entry, Mapping):
            p.add(key, "expected a table with name, version, file, sha256")
            continue
        allowed = {"name", "version", "file", "sha256", "index", "source"}
        for unknown in sorted(set(entry) - allowed):
            p.add(f"{key}.{unknown}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        source = choice(entry.get("source", "index"), SOURCES)
        if source is None:
            p.add(f"{key}.source", f"expected one of {', '.join(SOURCES)}, "
                  f"got {entry['source']!r}")  # fmt: skip
            source = "index"
        name = required_str(entry, "name", f"{key}.name", p)
        version = required_str(entry, "version", f"{key}.version", p, check_version)
        file = required_str(entry, "file", f"{key}.file", p, check_wheel_file)
        sha = required_str(entry, "sha256", f"{key}.sha256", p, check_sha256)
        if (
            file
            and name
            and check_wheel_file(file) is None
            and (parse_wheel_filename(file)[0] != normalize(name))
        ):
            p.add(f"{key}.file", f"{file!r} is not a wheel of {name!r}")
        pins.append(
            PinnedFile(
                name=normalize(name),
                version=version,
                file=file,
                sha256=Sha256(sha),
                index=optional_index(entry, f"{key}.index", p),
                source=source,
            )
        )
    return tuple(pins)


def build_requirements(
    value: Any, array: str, p: Problems
) -> tuple[tuple[PinnedFile, ...], tuple[BuiltRequirement, ...]]:
    """[[build.requires]]: wheels pinned by sha256 (from an index), and `source = "built"`
    entries, by name and version only (built here; resolved when the build starts)."""
    if not isinstance(value, list):
        return parse_pinned_wheels(value, array, p), ()
    pinned, built = [], []
    for i, entry in enumerate(value):
        if isinstance(entry, Mapping) and entry.get("source") == "built":
            built.append(built_requirement(entry, f"{array}[{i}]", p))
        else:
            pinned.append(entry)
    return parse_pinned_wheels(pinned, array, p), tuple(built)


def built_requirement(entry: Mapping[str, Any], key: str, p: Problems) -> BuiltRequirement:
    for unknown in sorted(set(entry) - {"name", "version", "source"}):
        resolved = unknown in ("file", "sha256", "index")
        why = "resolved when the build starts" if resolved else "unknown key"
        p.add(f"{key}.{unknown}", f"{why} (allowed with source = 'built': name, version)")
    name = required_str(entry, "name", f"{key}.name", p)
    version = required_str(entry, "version", f"{key}.version", p, check_version)
    return BuiltRequirement(name=normalize(name), version=version)


_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def flag(value: Any, dotted: str, p: Problems) -> bool:
    if not isinstance(value, bool):
        p.add(dotted, f"expected true or false, got {value!r}")
        return False
    return value


def package_names(value: Any, dotted: str, p: Problems) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _DEBIAN_NAME.fullmatch(v) for v in value
    ):
        p.add(dotted, f"expected an array of Debian package names, got {value!r}")
        return ()
    return tuple(value)


def patches(value: Any, array: str, p: Problems, beside: Path) -> tuple[Patch, ...]:
    """[[patches]]: file (beside the recipe) and sha256, applied in this order."""
    if not isinstance(value, list):
        p.add(array, "expected an array of tables ([[patches]] with file and sha256)")
        return ()
    patches = []
    for i, entry in enumerate(value):
        key = f"{array}[{i}]"
        if not isinstance(entry, Mapping):
            p.add(key, "expected a table with file and sha256")
            continue
        for unknown in sorted(set(entry) - {"file", "sha256"}):
            p.add(f"{key}.{unknown}", "unknown key (allowed: file, sha256)")
        file = required_str(entry, "file", f"{key}.file", p)
        sha = required_str(entry, "sha256", f"{key}.sha256", p, check_sha256)
        if file and ("/" in file.strip("./") or file.startswith("/")):
            p.add(f"{key}.file", f"a file name beside the recipe, not a path: {file!r}")
        patches.append(Patch(file=Path(file).name, sha256=Sha256(sha), path=beside / file))
    return tuple(patches)


def config_settings(value: Any, dotted: str, p: Problems) -> dict[str, str | tuple[str, ...]]:
    """PEP 517 config settings: each a string or an array of strings."""
    if not isinstance(value, Mapping):
        p.add(dotted, 'expected a table of KEY = "value" or KEY = ["value", ...]')
        return {}
    settings: dict[str, str | tuple[str, ...]] = {}
    for key, val in value.items():
        if isinstance(val, str):
            settings[key] = val
        elif isinstance(val, list) and all(isinstance(v, str) for v in val):
            settings[key] = tuple(val)
        else:
            p.add(f"{dotted}.{key}", f"expected a string or an array of strings, got {val!r}")
    return settings


def env(value: Any, dotted: str, p: Problems) -> dict[str, str]:
    if not isinstance(value, Mapping):
        p.add(dotted, 'expected a table of NAME = "value" strings')
        return {}
    env = {}
    for key, val in value.items():
        if not isinstance(val, str):
            p.add(f"{dotted}.{key}", f"expected a string, got {val!r}")
        elif not key or "=" in key or "\0" in key:
            p.add(
                f"{dotted}.{key!r}", "a variable's name holds no '=' and no NUL, and is not empty"
            )
        elif "\0" in val:
            p.add(f"{dotted}.{key}", "a variable's value cannot hold a NUL character")
        elif key in ENV_RESERVED:
            p.add(f"{dotted}.{key}", "set by builder for reproducibility; remove it")
        else:
            env[str(key)] = val
    return env


def epoch(value: Any, dotted: str, p: Problems) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        p.add(dotted, f"expected a non-negative integer, got {value!r}")
        return None
    return value


def repair(value: Any, dotted: str, p: Problems) -> Repair:
    if (mode := choice(value, REPAIR_MODES)) is None:
        p.add(dotted, f"expected one of {', '.join(REPAIR_MODES)}, got {value!r}")
        return "auto"
    return mode


def limits(value: Any, dotted: str, p: Problems) -> Limits:
    table = table_value(value, dotted, set(Limits().as_dict()), p)
    defaults = Limits()
    values: dict[str, Any] = {}
    for key, default in defaults.as_dict().items():
        if key not in table:
            continue
        val = table[key]
        most = LIMIT_MAXIMA[key]
        if isinstance(val, bool) or not isinstance(val, type(default) | int):
            p.add(f"{dotted}.{key}", f"expected a positive number, got {val!r}")
        elif not (math.isfinite(val) and 0 < val <= most):
            p.add(f"{dotted}.{key}", f"expected a number above 0 and at most {most}, got {val!r}")
        else:
            values[key] = val
    return Limits(**values)


def present(patches: tuple[Patch, ...], p: Problems) -> tuple[Patch, ...]:
    """The patches, each said when its file is not beside the recipe."""
    for i, patch in enumerate(patches):
        if not patch.path.is_file():
            p.add(f"patches[{i}].file", f"no such file: {patch.path}")
    return patches


def rebuild_policy(value: Any, dotted: str, p: Problems) -> RebuildPolicy:
    table = table_value(value, dotted, REBUILD_KEYS, p)
    lists = {}
    for key in ("fixed", "also"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v in KINDS for v in value):
            p.add(f"{dotted}.{key}", f"expected a list of variations among {', '.join(KINDS)}")
            value = []
        lists[key] = tuple(value)
    reason = table.get("reason", "")
    if not isinstance(reason, str) or (lists["fixed"] and not reason.strip()):
        p.add(f"{dotted}.reason", "say why the build depends on what `fixed` keeps fixed")
        reason = ""
    return RebuildPolicy(fixed=lists["fixed"], also=lists["also"], reason=reason)
