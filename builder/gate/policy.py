"""The gate's policy: its sections of builder.toml (docs/gate.md; builder/policy.py reads it).

It names the internal and public indexes, the names that must only ever come from an
internal index (patterns such as `acme-*`), an allow-list, the advisories allowed with a
reason, and what is an error and what a warning.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.gate.place import Place
from builder.gate.rules import DEFAULT_SEVERITY, KINDS, LEVELS, Kind, Level
from builder.index_url import configured_index_url
from builder.names import NormalizedName, normalize
from builder.problems import Problems, reasons, table

NEAR_YEARS = 3  # an established project: on the index this long... (gate/names.py)
NEAR_RELEASES = 10  # ...with at least this many releases
TYPOSQUAT_KEYS = (
    "popular", "flag-popular", "index-signals", "hints", "fetch-index-names",
    "established-years", "established-releases",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    internal_indexes: tuple[str, ...] = ()
    public_indexes: tuple[str, ...] = ()
    # Where internal indexes' files may be, beside the folder holding each index
    # (gate/binding.py).
    internal_files: tuple[str, ...] = ()
    # Indexes that pass the public index's projects on (proxies, merging or not): every
    # file they serve must be the public index's, by sha256; hosting makes no name internal.
    mirrors: tuple[str, ...] = ()
    internal_names: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    # Files of internal names the public index may serve too (the organisation publishes
    # them there): sha256 -> reason. Any other such file is refused.
    published: dict[str, str] = field(default_factory=dict)
    popular: Path | None = None
    flag_popular: bool = False
    index_signals: bool = True  # look a flagged name up on the public index (gate/signals.py)
    hints: bool = True  # with the look-up, the hints too (gate/hints.py)
    # Fetch the index's whole list of names into the store when a run first needs it
    # (gate/names.py); without, only what `builder names refresh` put there is searched.
    fetch_index_names: bool = True
    # The index-name search (gate/names.py): a near project this many years on the index
    # with this many releases or more is established.
    established_years: int = NEAR_YEARS
    established_releases: int = NEAR_RELEASES
    severity: dict[Kind, Level] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    allow_advisories: dict[str, str] = field(default_factory=dict)  # id -> reason
    # [releases]: a public release must be this many days old (0: no cooldown), unless
    # allowed by NAME==VERSION with a reason.
    min_release_age_days: int = 0
    allow_new: dict[str, str] = field(default_factory=dict)  # NAME==VERSION -> reason
    source: str = "defaults"

    def public(self) -> tuple[str, ...]:
        return self.public_indexes or (configured_index_url(),)

    def hosting(self) -> tuple[str, ...]:
        """The internal indexes whose hosting a name makes it internal: not mirrors."""
        mirrors = {Place.of(u) for u in self.mirrors}
        return tuple(u for u in self.internal_indexes if Place.of(u) not in mirrors)

    def is_internal_name(self, name: NormalizedName) -> bool:
        return any(fnmatch.fnmatchcase(name, normalize(p)) for p in self.internal_names)


def gate_policy(data: Mapping[str, Any], path: Path, p: Problems) -> GatePolicy:
    """The gate's sections of a policy file (builder/policy.py reads the file)."""
    indexes = table(data, "indexes", {"internal", "public", "internal-files", "mirrors"}, p)
    names = table(data, "names", {"internal", "allow", "published"}, p)
    typo = table(data, "typosquat", set(TYPOSQUAT_KEYS), p)
    severity = table(data, "severity", set(KINDS), p)
    advisories = table(data, "advisories", {"allow"}, p)
    releases = table(data, "releases", {"min-age-days", "allow"}, p)
    internal_indexes = _strings(indexes, "internal", "indexes.internal", p)
    public_indexes = _strings(indexes, "public", "indexes.public", p)
    internal_files = _strings(indexes, "internal-files", "indexes.internal-files", p)
    mirrors = _strings(indexes, "mirrors", "indexes.mirrors", p)
    internal_names = _strings(names, "internal", "names.internal", p)
    allow = _strings(names, "allow", "names.allow", p)
    levels = dict(DEFAULT_SEVERITY)
    for kind in KINDS:
        level = severity.get(kind, levels[kind])
        if level not in LEVELS:
            p.add(f"severity.{kind}", "expected error, warning or ignore")
        else:
            levels[kind] = level
    popular = typo.get("popular")
    if popular is not None and not isinstance(popular, str):
        p.add("typosquat.popular", "expected a path to a list of names, one per line")
        popular = None
    elif popular is not None and not (path.parent / popular).is_file():
        p.add("typosquat.popular", f"no such file: {path.parent / popular}")
        popular = None
    allow_advisories = reasons(advisories.get("allow", []), "advisories.allow", "id", p)
    flag_popular = _flag(typo, "flag-popular", False, p)
    index_signals = _flag(typo, "index-signals", True, p)
    hints = _flag(typo, "hints", True, p)
    fetch_index_names = _flag(typo, "fetch-index-names", True, p)
    years = _count(typo, "established-years", NEAR_YEARS, p)
    established = _count(typo, "established-releases", NEAR_RELEASES, p)
    return GatePolicy(
        internal_indexes=internal_indexes,
        public_indexes=public_indexes,
        internal_files=internal_files,
        mirrors=mirrors,
        internal_names=internal_names,
        allow=allow,
        published=reasons(names.get("published", []), "names.published", "sha256", p),
        popular=(path.parent / popular) if popular else None,
        flag_popular=flag_popular,
        index_signals=index_signals,
        hints=hints,
        fetch_index_names=fetch_index_names,
        established_years=years,
        established_releases=established,
        severity=levels,
        allow_advisories=allow_advisories,
        min_release_age_days=_count(releases, "min-age-days", 0, p, "releases"),
        allow_new=_releases_allowed(releases, p),
        source=str(path),
    )


def _flag(typo: Any, key: str, default: bool, p: Problems) -> bool:
    """[typosquat] `key`, a boolean."""
    value = typo.get(key, default)
    if not isinstance(value, bool):
        p.add(f"typosquat.{key}", "expected true or false")
        return default
    return value


def _count(section: Any, key: str, default: int, p: Problems, name: str = "typosquat") -> int:
    """[name] `key`, a whole number, 0 or more."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        p.add(f"{name}.{key}", "expected a whole number, 0 or more")
        return default
    return value


def _releases_allowed(releases: Any, p: Problems) -> dict[str, str]:
    """[releases] allow: NAME==VERSION -> reason, each pin exact."""
    allowed = {}
    for release, reason in reasons(
        releases.get("allow", []), "releases.allow", "release", p
    ).items():
        name, _, version = release.partition("==")
        if not name.strip() or not version.strip():
            p.add("releases.allow", f"{release!r}: expected NAME==VERSION")
            continue
        allowed[f"{normalize(name)}=={version.strip()}"] = reason
    return allowed


def _strings(section: Any, key: str, dotted: str, p: Problems) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(dotted, "expected an array of strings")
        return ()
    return tuple(value)
