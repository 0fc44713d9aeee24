"""A recipe's settings, one entry each: where a setting sits in a recipe file and in the
provenance, how it is read and written, and whether an override may set it.

Parsing a recipe, reading one back from an attestation's externalParameters, reading an
override and writing a recipe (`recipe new`, `plan`) all go through SETTINGS: a new
setting is an entry here and a field of Recipe (and of Settings, where an override may
set it). What a recipe pins (package, sdist, image, requires) is read in recipe/load.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from builder.limits import Limits
from builder.problems import Problems, reasons
from builder.recipe import fields
from builder.recipe.values import RebuildPolicy

# A recipe file, an attestation's externalParameters, or an override file.
Form = Literal["recipe", "parameters", "override"]
Reader = Callable[[Any, str, Problems, Path], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    field: str  # Recipe's attribute (and Settings', where an override may set it)
    toml: tuple[str, ...]  # its place in a recipe file: ("build", "env"), ("patches",)
    read: Reader  # the value as found -> the checked value, problems said
    write: Callable[[Any], Any]  # the checked value -> its TOML and JSON form
    default: Callable[[], Any]
    in_provenance: bool = True  # in externalParameters (limits are internalParameters)
    always: bool = False  # in externalParameters even when it is the default
    override: bool = False  # an override file may set it

    @property
    def parameter(self) -> str:
        """Its key in externalParameters."""
        return self.toml[-1].replace("-", "_")

    def dotted(self, form: Form) -> str:
        return (
            f"externalParameters.{self.parameter}" if form == "parameters" else ".".join(self.toml)
        )


def _simple(read: Callable[[Any, str, Problems], Any]) -> Reader:
    return lambda value, dotted, p, beside: read(value, dotted, p)


def _sorted_settings(value: Mapping[str, str | tuple[str, ...]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(value.items())}


def _set_limits(value: Limits) -> dict[str, int | float]:
    defaults = Limits().as_dict()
    return {k: v for k, v in value.as_dict().items() if v != defaults[k]}


SETTINGS: tuple[Setting, ...] = (
    Setting(
        field="extra_packages", toml=("build", "extra-packages"),
        read=_simple(fields.package_names), write=list, default=tuple, override=True,
    ),
    Setting(
        field="compiled", toml=("build", "compiled"), read=_simple(fields.flag),
        write=bool, default=bool, override=True,
    ),
    Setting(
        field="env", toml=("build", "env"), read=_simple(fields.env),
        write=lambda v: dict(sorted(v.items())), default=dict, always=True, override=True,
    ),
    Setting(
        field="source_date_epoch", toml=("build", "source-date-epoch"),
        read=_simple(fields.epoch), write=lambda v: v, default=lambda: None, always=True,
    ),
    Setting(
        field="repair", toml=("build", "repair"), read=_simple(fields.repair),
        write=str, default=lambda: "auto", always=True,
    ),
    Setting(
        field="config_settings", toml=("build", "config-settings"),
        read=_simple(fields.config_settings), write=_sorted_settings, default=dict,
        override=True,
    ),
    Setting(
        field="limits", toml=("limits",), read=_simple(fields.limits), write=_set_limits,
        default=Limits, in_provenance=False, override=True,
    ),
    Setting(
        field="rebuild", toml=("rebuild",), read=_simple(fields.rebuild_policy),
        write=RebuildPolicy.as_dict, default=RebuildPolicy, always=True, override=True,
    ),
    Setting(
        field="patches", toml=("patches",), read=fields.patches,
        write=lambda v: [p.as_dict() for p in v], default=tuple, override=True,
    ),
    Setting(
        field="accepted_pickles", toml=("accept-pickles",),
        read=lambda value, dotted, p, beside: reasons(value, dotted, "member", p),
        write=lambda v: [{"member": m, "reason": r} for m, r in sorted(v.items())],
        default=dict,
    ),
)  # fmt: skip
OVERRIDABLE = tuple(s for s in SETTINGS if s.override)


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """Where a form keeps its settings: the table of `build` keys, and the top level."""

    build: Mapping[str, Any]
    top: Mapping[str, Any]
    beside: Path  # where files it names (patches) are
    form: Form


def keys_of(form: Form, table: Literal["build", "top"]) -> set[str]:
    """The setting keys a form's table may hold."""
    chosen = OVERRIDABLE if form == "override" else SETTINGS
    if form == "parameters":
        return {s.parameter for s in chosen if s.in_provenance}
    return {s.toml[-1] for s in chosen if (s.toml[0] == "build") == (table == "build")}


def read_settings(found: Found, p: Problems) -> dict[str, Any]:
    """The settings a form holds, by field, each read (and checked) as its entry says;
    absent ones at their defaults."""
    values = {}
    for setting in OVERRIDABLE if found.form == "override" else SETTINGS:
        if found.form == "parameters" and not setting.in_provenance:
            continue
        where = found.build if setting.toml[0] == "build" else found.top
        key = setting.parameter if found.form == "parameters" else setting.toml[-1]
        if key in where:
            value = setting.read(where[key], setting.dotted(found.form), p, found.beside)
        else:
            value = setting.default()
        values[setting.field] = value
    return values


def external_parameters(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as the provenance's externalParameters hold them: those a user set,
    and those always said."""
    return {
        s.parameter: s.write(settings[s.field])
        for s in SETTINGS
        if s.in_provenance and (s.always or settings[s.field] != s.default())
    }


def toml_settings(settings: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """The settings a recipe file says, by their place in it: those not at their default."""
    return {
        s.toml: s.write(settings[s.field])
        for s in SETTINGS
        if s.field in settings and settings[s.field] != s.default()
    }
