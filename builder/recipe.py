"""Load and validate recipes: TOML files that pin one wheel build.

Every problem in a file is collected and reported at once, each naming the file and the
dotted key, so a user fixes a recipe in one pass instead of one error per run.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from builder.errors import BuilderError, RecipeError
from builder.limits import LIMIT_MAXIMA, Limits
from builder.names import NormalizedName, Sha256, is_sha256, normalize
from builder.problems import Problems, choice, reasons, required_str, table
from builder.variation import KINDS

Repair = Literal["auto", "skip"]  # auditwheel repair, or the wheel as built
REPAIR_MODES: tuple[Repair, ...] = get_args(Repair)
ENV_RESERVED = frozenset(
    {"SOURCE_DATE_EPOCH", "TZ", "LC_ALL", "PYTHONHASHSEED", "TMPDIR", "HOME", "PATH", "CARGO_HOME"}
)


# Where a wheel a build reads comes from: downloaded from an index (an exception to "built
# here from source", see docs/recipes.md), or built here by builder from its sdist.
Source = Literal["index", "built"]
SOURCES: tuple[Source, ...] = get_args(Source)


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedFile:
    """One file, by name and content digest, that a build reads."""

    name: NormalizedName
    version: str
    file: str
    sha256: Sha256
    index: str | None = None  # the one index this file comes from, where the lock says
    source: Source = "index"

    def as_dict(self) -> dict[str, str]:
        pin = {"name": self.name, "version": self.version, "file": self.file, "sha256": self.sha256}
        pin |= {"index": self.index} if self.index else {}
        return pin | ({"source": self.source} if self.source != "index" else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PinnedFile:
        """From `as_dict`'s form (KeyError or TypeError when it is not that)."""
        return cls(
            name=normalize(data["name"]),
            version=str(data["version"]),
            file=str(data["file"]),
            sha256=Sha256(data["sha256"]),
            index=data.get("index"),
            source=_source(data.get("source", "index")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltRequirement:
    """A build requirement builder builds here from its own recipe: the wheel is the one
    the store holds for this name and version in the build's image (the build of a graph
    makes it first); its sha256 is resolved when the build starts, and is part of the build
    key and the provenance."""

    name: NormalizedName
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "source": "built"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Patch:
    """A patch applied to the unpacked sdist before the build (`patch -p1`), in the
    recipe's order: a file beside the recipe, pinned by sha256 (part of the build key and
    of the provenance)."""

    file: str
    sha256: Sha256
    path: Path  # where it is read from: beside the recipe

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildPolicy:
    """Which rebuild variations this recipe's output may not withstand, and why.

    `fixed` leaves default variations out (each needs a reason: it documents a real
    dependence of the build on its environment); `also` adds opt-in ones such as umask.
    """

    fixed: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    reason: str = ""

    def kinds(self, defaults: frozenset[str]) -> frozenset[str]:
        return (defaults - set(self.fixed)) | set(self.also)

    def as_dict(self) -> dict[str, Any]:
        return {"fixed": list(self.fixed), "also": list(self.also), "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    path: Path
    name: NormalizedName
    version: str
    sdist: PinnedFile
    image: str
    requires: tuple[PinnedFile, ...]
    built: tuple[BuiltRequirement, ...] = ()
    extra_packages: tuple[str, ...] = ()  # Debian packages added to the image
    compiled: bool = False  # the wheel must hold compiled code (no fallback to pure Python)
    patches: tuple[Patch, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    source_date_epoch: int | None = None
    repair: Repair = "auto"
    limits: Limits = field(default_factory=Limits)
    rebuild: RebuildPolicy = field(default_factory=RebuildPolicy)
    # pickle members whose dangerous imports a person looked at and accepted: member -> why
    accepted_pickles: Mapping[str, str] = field(default_factory=dict)
    # PEP 517 config settings for the build hook (meson-python's setup-args, ...)
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def external_parameters(self) -> dict[str, Any]:
        """The recipe as data: exactly what a user chose, nothing the machine added."""
        return (
            {
                "name": self.name,
                "version": self.version,
                "sdist": {"file": self.sdist.file, "sha256": self.sdist.sha256}
                | ({"index": self.sdist.index} if self.sdist.index else {}),
                "image": self.image,
                "requires": [
                    *(r.as_dict() for r in self.requires),
                    *(b.as_dict() for b in self.built),
                ],
                "env": dict(sorted(self.env.items())),
                "source_date_epoch": self.source_date_epoch,
                "repair": self.repair,
                "rebuild": self.rebuild.as_dict(),
            }
            | ({"patches": [p.as_dict() for p in self.patches]} if self.patches else {})
            | ({"extra_packages": list(self.extra_packages)} if self.extra_packages else {})
            | ({"compiled": True} if self.compiled else {})
            | ({"accept_pickles": self._accepted()} if self.accepted_pickles else {})
            | ({"config_settings": self._settings()} if self.config_settings else {})
        )

    def _settings(self) -> dict[str, str | list[str]]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in sorted(self.config_settings.items())}  # fmt: skip

    def _accepted(self) -> list[dict[str, str]]:
        return [{"member": m, "reason": r} for m, r in sorted(self.accepted_pickles.items())]


def _check_sha256(value: str) -> str | None:
    return None if is_sha256(value) else f"expected 64 lowercase hex characters, got {value!r}"


def _check_version(value: str) -> str | None:
    try:
        Version(value)
    except InvalidVersion:
        return f"not a valid PEP 440 version: {value!r}"
    return None


def _check_sdist_file(value: str) -> str | None:
    try:
        parse_sdist_filename(value)
    except InvalidSdistFilename:
        return f"not an sdist file name (NAME-VERSION.tar.gz or .zip): {value!r}"
    return None


def _check_wheel_file(value: str) -> str | None:
    try:
        parse_wheel_filename(value)
    except InvalidWheelFilename:
        return f"not a wheel file name: {value!r}"
    return None


def _pinned_sdist(
    table: Mapping[str, Any], name: str, version: str, p: Problems, prefix: str = ""
) -> PinnedFile:
    file = required_str(table, "file", f"{prefix}sdist.file", p, _check_sdist_file)
    sha = required_str(table, "sha256", f"{prefix}sdist.sha256", p, _check_sha256)
    index = _optional_index(table, f"{prefix}sdist.index", p)
    if file and _check_sdist_file(file) is None and name and _check_version(version) is None:
        sd_name, sd_version = parse_sdist_filename(file)
        if sd_name != normalize(name) or sd_version != Version(version):
            p.add(f"{prefix}sdist.file", f"{file!r} is not {name} {version}")
    return PinnedFile(
        name=normalize(name), version=version, file=file, sha256=Sha256(sha), index=index
    )


def _optional_index(table: Mapping[str, Any], dotted: str, p: Problems) -> str | None:
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
        version = required_str(entry, "version", f"{key}.version", p, _check_version)
        file = required_str(entry, "file", f"{key}.file", p, _check_wheel_file)
        sha = required_str(entry, "sha256", f"{key}.sha256", p, _check_sha256)
        if (
            file
            and name
            and _check_wheel_file(file) is None
            and (parse_wheel_filename(file)[0] != normalize(name))
        ):
            p.add(f"{key}.file", f"{file!r} is not a wheel of {name!r}")
        pins.append(
            PinnedFile(
                name=normalize(name),
                version=version,
                file=file,
                sha256=Sha256(sha),
                index=_optional_index(entry, f"{key}.index", p),
                source=source,
            )
        )
    return tuple(pins)


def _build_requirements(
    value: Any, array: str, p: Problems
) -> tuple[tuple[PinnedFile, ...], tuple[BuiltRequirement, ...]]:
    """[[build.requires]]: wheels pinned by sha256 (from an index), and `source = "built"`
    entries, by name and version only (built here; resolved when the build starts)."""
    if not isinstance(value, list):
        return parse_pinned_wheels(value, array, p), ()
    pinned, built = [], []
    for i, entry in enumerate(value):
        if isinstance(entry, Mapping) and entry.get("source") == "built":
            built.append(_built(entry, f"{array}[{i}]", p))
        else:
            pinned.append(entry)
    return parse_pinned_wheels(pinned, array, p), tuple(built)


def _built(entry: Mapping[str, Any], key: str, p: Problems) -> BuiltRequirement:
    for unknown in sorted(set(entry) - {"name", "version", "source"}):
        resolved = unknown in ("file", "sha256", "index")
        why = "resolved when the build starts" if resolved else "unknown key"
        p.add(f"{key}.{unknown}", f"{why} (allowed with source = 'built': name, version)")
    name = required_str(entry, "name", f"{key}.name", p)
    version = required_str(entry, "version", f"{key}.version", p, _check_version)
    return BuiltRequirement(name=normalize(name), version=version)


_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def _flag(value: Any, dotted: str, p: Problems) -> bool:
    if not isinstance(value, bool):
        p.add(dotted, f"expected true or false, got {value!r}")
        return False
    return value


def _package_names(value: Any, dotted: str, p: Problems) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _DEBIAN_NAME.fullmatch(v) for v in value
    ):
        p.add(dotted, f"expected an array of Debian package names, got {value!r}")
        return ()
    return tuple(value)


def _patches(value: Any, array: str, beside: Path, p: Problems) -> tuple[Patch, ...]:
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
        sha = required_str(entry, "sha256", f"{key}.sha256", p, _check_sha256)
        if file and ("/" in file.strip("./") or file.startswith("/")):
            p.add(f"{key}.file", f"a file name beside the recipe, not a path: {file!r}")
        patches.append(Patch(file=Path(file).name, sha256=Sha256(sha), path=beside / file))
    return tuple(patches)


def _config_settings(value: Any, dotted: str, p: Problems) -> dict[str, str | tuple[str, ...]]:
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


def _env(value: Any, dotted: str, p: Problems) -> dict[str, str]:
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


def _epoch(value: Any, dotted: str, p: Problems) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        p.add(dotted, f"expected a non-negative integer, got {value!r}")
        return None
    return value


def _repair(value: Any, dotted: str, p: Problems) -> Repair:
    if (mode := choice(value, REPAIR_MODES)) is None:
        p.add(dotted, f"expected one of {', '.join(REPAIR_MODES)}, got {value!r}")
        return "auto"
    return mode


def _source(value: object) -> Source:
    if (source := choice(value, SOURCES)) is None:
        raise TypeError(f"source {value!r} is not one of {SOURCES}")
    return source


def _limits(table: Mapping[str, Any], dotted: str, p: Problems) -> Limits:
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


def _present(patches: tuple[Patch, ...], p: Problems) -> tuple[Patch, ...]:
    """The patches, each said when its file is not beside the recipe."""
    for i, patch in enumerate(patches):
        if not patch.path.is_file():
            p.add(f"patches[{i}].file", f"no such file: {patch.path}")
    return patches


def _rebuild_policy(table: Mapping[str, Any], dotted: str, p: Problems) -> RebuildPolicy:
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


_TOP_KEYS = {"package", "sdist", "build", "limits", "rebuild", "patches", "accept-pickles"}
_BUILD_KEYS = {
    "image", "requires", "env", "source-date-epoch", "repair", "extra-packages", "compiled",
    "config-settings",
}  # fmt: skip
_SDIST_KEYS = {"file", "sha256", "index"}
_REBUILD_KEYS = {"fixed", "also", "reason"}


def parse_recipe(data: Mapping[str, Any], path: Path) -> Recipe:
    """A recipe from its TOML tables; every problem reported at once."""
    p = Problems(path)
    for unknown in sorted(set(data) - _TOP_KEYS):
        p.add(unknown, f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    package = table(data, "package", {"name", "version"}, p)
    name = required_str(package, "name", "package.name", p)
    version = required_str(package, "version", "package.version", p, _check_version)
    build = table(data, "build", _BUILD_KEYS, p)
    requires, built = _build_requirements(build.get("requires", []), "build.requires", p)
    recipe = Recipe(
        path=path,
        name=normalize(name),
        version=version,
        sdist=_pinned_sdist(table(data, "sdist", _SDIST_KEYS, p), name, version, p),
        image=required_str(build, "image", "build.image", p),
        requires=requires,
        built=built,
        extra_packages=_package_names(build.get("extra-packages", []), "build.extra-packages", p),
        compiled=_flag(build.get("compiled", False), "build.compiled", p),
        patches=_present(_patches(data.get("patches", []), "patches", path.parent, p), p),
        env=_env(build.get("env", {}), "build.env", p),
        source_date_epoch=_epoch(build.get("source-date-epoch"), "build.source-date-epoch", p),
        repair=_repair(build.get("repair", "auto"), "build.repair", p),
        limits=_limits(table(data, "limits", set(Limits().as_dict()), p), "limits", p),
        rebuild=_rebuild_policy(table(data, "rebuild", _REBUILD_KEYS, p), "rebuild", p),
        accepted_pickles=reasons(data.get("accept-pickles", []), "accept-pickles", "member", p),
        config_settings=_config_settings(
            build.get("config-settings", {}), "build.config-settings", p
        ),
    )
    p.raise_if_any()
    return recipe


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Per-package settings beside a plan's recipes (an override file): what `builder
    plan` puts into the package's recipe on top of what it pins."""

    image: str | None = None  # another image than the plan's
    env: Mapping[str, str] = field(default_factory=dict)
    extra_packages: tuple[str, ...] = ()
    compiled: bool = False
    limits: Mapping[str, Any] = field(default_factory=dict)
    rebuild: RebuildPolicy = field(default_factory=RebuildPolicy)
    patches: tuple[Patch, ...] = ()
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)


def load_settings(path: Path) -> Settings:
    """An override file: [build] image, env, extra-packages, compiled, config-settings,
    [limits], [rebuild], [[patches]] (files beside it), each checked as in a recipe, every
    problem at once."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read the override: {exc}") from exc
    p = Problems(path, hint="docs/plan.md lists what an override may set")
    for unknown in sorted(set(data) - {"build", "limits", "rebuild", "patches"}):
        p.add(unknown, "unknown key (allowed: build, limits, rebuild, patches)")
    build = table(
        data, "build", {"image", "env", "extra-packages", "compiled", "config-settings"}, p
    )
    image = build.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        p.add("build.image", f"expected the name of an image definition, got {image!r}")
        image = None
    limits = table(data, "limits", set(Limits().as_dict()), p)
    _limits(limits, "limits", p)
    settings = Settings(
        image=image,
        env=_env(build.get("env", {}), "build.env", p),
        extra_packages=_package_names(build.get("extra-packages", []), "build.extra-packages", p),
        compiled=_flag(build.get("compiled", False), "build.compiled", p),
        limits=dict(limits),
        rebuild=_rebuild_policy(table(data, "rebuild", _REBUILD_KEYS, p), "rebuild", p),
        patches=_patches(data.get("patches", []), "patches", path.parent, p),
        config_settings=_config_settings(
            build.get("config-settings", {}), "build.config-settings", p
        ),
    )
    for patch in settings.patches:
        if not patch.path.is_file():
            p.add("patches", f"no such file: {patch.path}")
    p.raise_if_any()
    return settings


def load_recipe(path: Path) -> Recipe:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(
            f"{path}: no such recipe", hint="recipes live in recipes/*.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: not valid TOML: {exc}") from exc
    return parse_recipe(data, path)


_PARAMETER_KEYS = {
    "name", "version", "sdist", "image", "requires", "env", "source_date_epoch", "repair",
    "rebuild", "patches", "extra_packages", "compiled", "accept_pickles", "config_settings",
}  # fmt: skip


def recipe_from_parameters(
    params: Any, limits: Any, where: Path, error: type[BuilderError] = RecipeError
) -> Recipe:
    """The recipe an attestation's externalParameters describe (Recipe.external_parameters
    is their form), with the limits of its internalParameters; validated field by field
    as a recipe file is. `where` names the attestation in any error."""
    p = Problems(
        where, hint="the attestation does not describe a recipe builder knows", error=error
    )
    prefix = "externalParameters."
    if not isinstance(params, Mapping):
        p.add("externalParameters", "expected an object")
        p.raise_if_any()
    for unknown in sorted(set(params) - _PARAMETER_KEYS):
        p.add(f"{prefix}{unknown}", "unknown key")
    name = required_str(params, "name", f"{prefix}name", p)
    version = required_str(params, "version", f"{prefix}version", p, _check_version)
    sdist = table(params, "sdist", _SDIST_KEYS, p, prefix)
    limits_table = limits if isinstance(limits, Mapping) else {}
    requires, built = _build_requirements(params.get("requires", []), f"{prefix}requires", p)
    recipe = Recipe(
        path=where,
        name=normalize(name),
        version=version,
        sdist=_pinned_sdist(sdist, name, version, p, prefix),
        image=required_str(params, "image", f"{prefix}image", p),
        requires=requires,
        built=built,
        extra_packages=_package_names(
            params.get("extra_packages", []), f"{prefix}extra_packages", p
        ),
        compiled=_flag(params.get("compiled", False), f"{prefix}compiled", p),
        # an auditor puts the patch files beside the attestation; their sha256 decides
        patches=_patches(params.get("patches", []), f"{prefix}patches", where.parent, p),
        env=_env(params.get("env", {}), f"{prefix}env", p),
        source_date_epoch=_epoch(params.get("source_date_epoch"), f"{prefix}source_date_epoch", p),
        repair=_repair(params.get("repair", "auto"), f"{prefix}repair", p),
        limits=_limits(limits_table, "internalParameters.limits", p),
        rebuild=_rebuild_policy(
            table(params, "rebuild", _REBUILD_KEYS, p, prefix), f"{prefix}rebuild", p
        ),
        accepted_pickles=reasons(
            params.get("accept_pickles", []), f"{prefix}accept_pickles", "member", p
        ),
        config_settings=_config_settings(
            params.get("config_settings", {}), f"{prefix}config_settings", p
        ),
    )
    p.raise_if_any()
    return recipe
