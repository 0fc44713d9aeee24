"""The gate every resolved name passes: typosquats and dependency confusion.

The policy (builder.toml, or [tool.builder] in pyproject.toml) names the internal and
public indexes, the names that must only ever come from an internal index (patterns such
as `acme-*`), an allow-list, and what is an error and what a warning. Each name resolves
from exactly one index: internal names from the internal indexes, every other name from
the public ones (as uv's first-index strategy and PEP 708 intend); a configuration that
would merge candidates across indexes (pip's extra-index-url) is refused.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from builder.errors import FetchError, RecipeError
from builder.gate.typosquat import Detector, load_popular
from builder.index import Index, configured_index_url, pip_config_value
from builder.names import NormalizedName, normalize
from builder.problems import Problems, table

KINDS = ("typosquat", "confusion", "unclaimed", "configuration")
DEFAULT_SEVERITY = {
    "typosquat": "error",
    "confusion": "error",
    "unclaimed": "warning",
    "configuration": "error",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    internal_indexes: tuple[str, ...] = ()
    public_indexes: tuple[str, ...] = ()
    internal_names: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    popular: Path | None = None
    flag_popular: bool = False
    severity: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    source: str = "defaults"

    def public(self) -> tuple[str, ...]:
        return self.public_indexes or (configured_index_url(),)

    def is_internal_name(self, name: NormalizedName) -> bool:
        return any(fnmatch.fnmatchcase(name, normalize(p)) for p in self.internal_names)


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    name: str
    kind: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def find_policy(start: Path) -> Path | None:
    """builder.toml, else a pyproject.toml with [tool.builder], in `start`."""
    if (start / "builder.toml").is_file():
        return start / "builder.toml"
    pyproject = start / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return None
        if "builder" in data.get("tool", {}):
            return pyproject
    return None


def load_gate_policy(path: Path | None) -> GatePolicy:
    if path is None:
        return GatePolicy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read the policy: {exc}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("builder", {})
    p = Problems(path, hint="docs/gate.md lists every key of a policy")
    allowed = {"indexes", "names", "typosquat", "severity", "verify", "plan"}
    for unknown in sorted(set(data) - allowed):
        p.add(unknown, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    indexes = table(data, "indexes", {"internal", "public"}, p)
    names = table(data, "names", {"internal", "allow"}, p)
    typo = table(data, "typosquat", {"popular", "flag-popular"}, p)
    severity = table(data, "severity", set(KINDS), p)
    internal_indexes = _strings(indexes, "internal", "indexes.internal", p)
    public_indexes = _strings(indexes, "public", "indexes.public", p)
    internal_names = _strings(names, "internal", "names.internal", p)
    allow = _strings(names, "allow", "names.allow", p)
    levels = dict(DEFAULT_SEVERITY)
    for kind, level in severity.items():
        if level not in ("error", "warning", "ignore"):
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
    p.raise_if_any()
    return GatePolicy(
        internal_indexes=internal_indexes,
        public_indexes=public_indexes,
        internal_names=internal_names,
        allow=allow,
        popular=(path.parent / popular) if popular else None,
        flag_popular=bool(typo.get("flag-popular", False)),
        severity=levels,
        source=str(path),
    )


def _strings(section: Any, key: str, dotted: str, p: Problems) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(dotted, "expected an array of strings")
        return ()
    return tuple(value)


def versions_on(index: Index, name: NormalizedName) -> list[Version]:
    """Every version the index offers for `name` (empty if it does not know the name)."""
    try:
        files = index.files(name)
    except FetchError as exc:
        if "no such project" in exc.message:
            return []
        raise
    found = set()
    for f in files:
        try:
            if f.filename.endswith(".whl"):
                version = parse_wheel_filename(f.filename)[1]
            else:
                version = parse_sdist_filename(f.filename)[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        found.add(version)
    return sorted(found)


class Gate:
    """Checks names against a policy; index clients are made once per index URL."""

    def __init__(self, policy: GatePolicy) -> None:
        self.policy = policy
        self.detector = Detector(
            load_popular(policy.popular), allow=policy.allow, flag_popular=policy.flag_popular
        )
        self._indexes: dict[str, Index] = {}

    def index(self, url: str) -> Index:
        if url not in self._indexes:
            self._indexes[url] = Index(url)
        return self._indexes[url]

    def check(self, names: Iterable[str]) -> list[Issue]:
        issues = self.configuration()
        for raw in dict.fromkeys(normalize(n) for n in names):
            issues += self.typosquats(raw)
            issues += self.confusion(raw)
        return [i for i in issues if i.severity != "ignore"]

    def _issue(self, name: str, kind: str, message: str, **details: Any) -> Issue:
        return Issue(
            name=name,
            kind=kind,
            severity=self.policy.severity[kind],
            message=message,
            details=details,
        )

    def configuration(self) -> list[Issue]:
        """pip's extra-index-url merges candidates across indexes: the torchtriton route."""
        if not (self.policy.internal_indexes or self.policy.internal_names):
            return []
        found = [("PIP_EXTRA_INDEX_URL", os.environ.get("PIP_EXTRA_INDEX_URL"))]
        found.append(("pip's configuration (extra-index-url)", pip_config_value("extra-index-url")))
        return [
            self._issue(
                "*",
                "configuration",
                f"{where} is set: pip merges candidates from every index and picks the "
                "highest version, so a public package can shadow an internal name",
                extra_index_url=value,
            )
            for where, value in found
            if value
        ]

    def typosquats(self, name: NormalizedName) -> list[Issue]:
        findings = self.detector.check(name)
        if not findings:
            return []
        best = findings[0]
        return [
            self._issue(
                name,
                "typosquat",
                f"{name} resembles {best.resembles} ({best.rule}: {best.detail}; "
                f"score {best.score:.2f})",
                resembles=[asdict(f) for f in findings[:5]],
            )
        ]

    def confusion(self, name: NormalizedName) -> list[Issue]:
        if not self.policy.internal_indexes:
            return []
        internal = {u: versions_on(self.index(u), name) for u in self.policy.internal_indexes}
        internal_versions = sorted(v for vs in internal.values() for v in vs)
        if not internal_versions and not self.policy.is_internal_name(name):
            return []
        public = {u: versions_on(self.index(u), name) for u in self.policy.public()}
        public_versions = sorted(v for vs in public.values() for v in vs)
        details = {
            "internal": {u: [str(v) for v in vs] for u, vs in internal.items()},
            "public": {u: [str(v) for v in vs] for u, vs in public.items()},
        }
        if not public_versions:
            return [
                self._issue(
                    name,
                    "unclaimed",
                    f"{name} is internal and unclaimed on the public index: an attacker could "
                    "register it there",
                    **details,
                )
            ]
        return [self._confusion_issue(name, internal_versions, public_versions, details)]

    def _confusion_issue(
        self,
        name: NormalizedName,
        internal: Sequence[Version],
        public: Sequence[Version],
        details: dict[str, Any],
    ) -> Issue:
        shown = ", ".join(str(v) for v in public[-5:])
        if not internal or public[-1] > internal[-1]:
            latest = internal[-1] if internal else "none"
            message = (
                f"{name} is an internal name, and the public index has {shown} (newer than "
                f"internal {latest}): pip with --extra-index-url would install the public one"
            )
            return self._issue(name, "confusion", message, **details)
        issue = self._issue(
            name,
            "confusion",
            f"{name} is an internal name that also exists on the public index ({shown}); "
            f"internal {internal[-1]} is newer today, which can change any day",
            **details,
        )
        return Issue(**{**asdict(issue), "severity": "warning"})
