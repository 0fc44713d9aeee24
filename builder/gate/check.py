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
import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from packaging.version import Version

from builder.errors import FetchError, RecipeError
from builder.gate.signals import Evidence, history, judge
from builder.gate.typosquat import Detector, load_popular
from builder.index import Index, configured_index_url, pip_config_value
from builder.names import NormalizedName, normalize
from builder.problems import Problems, reasons, table
from builder.store import default_store_root

if TYPE_CHECKING:  # the advisory modules load when a snapshot is read
    from builder.advisories.snapshot import Snapshot

KINDS = (
    "typosquat", "confusion", "unclaimed", "configuration", "direct-url", "malicious",
    "vulnerable",
)  # fmt: skip
DEFAULT_SEVERITY = {
    "malicious": "error",
    "vulnerable": "warning",
    "typosquat": "error",
    "confusion": "error",
    "unclaimed": "warning",
    "configuration": "error",
    "direct-url": "warning",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    internal_indexes: tuple[str, ...] = ()
    public_indexes: tuple[str, ...] = ()
    internal_names: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    popular: Path | None = None
    flag_popular: bool = False
    index_signals: bool = True  # look a flagged name up on the public index (gate/signals.py)
    severity: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    allow_advisories: dict[str, str] = field(default_factory=dict)  # id -> reason
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
    allowed = {"indexes", "names", "typosquat", "severity", "verify", "plan", "advisories"}
    for unknown in sorted(set(data) - allowed):
        p.add(unknown, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    indexes = table(data, "indexes", {"internal", "public"}, p)
    names = table(data, "names", {"internal", "allow"}, p)
    typo = table(data, "typosquat", {"popular", "flag-popular", "index-signals"}, p)
    severity = table(data, "severity", set(KINDS), p)
    advisories = table(data, "advisories", {"allow"}, p)
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
    allow_advisories = reasons(advisories.get("allow", []), "advisories.allow", "id", p)
    p.raise_if_any()
    return GatePolicy(
        internal_indexes=internal_indexes,
        public_indexes=public_indexes,
        internal_names=internal_names,
        allow=allow,
        popular=(path.parent / popular) if popular else None,
        flag_popular=bool(typo.get("flag-popular", False)),
        index_signals=bool(typo.get("index-signals", True)),
        severity=levels,
        allow_advisories=allow_advisories,
        source=str(path),
    )


def _strings(section: Any, key: str, dotted: str, p: Problems) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(dotted, "expected an array of strings")
        return ()
    return tuple(value)


def files_on(index: Index, name: NormalizedName) -> dict[Version, dict[str, str | None]]:
    """Every version the index offers for `name`, with its files' sha256 by file name
    (empty if it does not know the name)."""
    try:
        files = index.files(name)
    except FetchError as exc:
        if "no such project" in exc.message:
            return {}
        raise
    found: dict[Version, dict[str, str | None]] = {}
    for f in files:
        if (version := f.version) is not None:
            found.setdefault(version, {})[f.filename] = f.sha256
    return dict(sorted(found.items()))


class Gate:
    """Checks names against a policy; index clients are made once per index URL."""

    def __init__(self, policy: GatePolicy, store_root: Path | None = None) -> None:
        self.policy = policy
        self.store_root = store_root
        self._snapshot: Snapshot | None = None
        self._snapshot_read = False
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
            issues += self.advised(raw, None)
        return [i for i in issues if i.severity != "ignore"]

    def releases(self, pinned: Iterable[tuple[str, str]]) -> list[Issue]:
        """Known-malicious and known-vulnerable releases among (name, version) pins."""
        issues = [i for n, v in dict.fromkeys(pinned) for i in self.advised(normalize(n), v)]
        return [i for i in issues if i.severity != "ignore"]

    @property
    def snapshot(self) -> Snapshot | None:
        """The store's advisory snapshot, read once; None where there is none."""
        if not self._snapshot_read:
            from builder.advisories.snapshot import load

            self._snapshot = load(self.store_root or default_store_root())
            self._snapshot_read = True
        return self._snapshot

    def advisories_said(self) -> str:
        """What the gate knew of advisories: said beside every report."""
        if self.snapshot is None:
            return ("no advisory snapshot in the store: releases were not checked against "
                    "advisories (builder advisories refresh --from FILE|URL)")  # fmt: skip
        return self.snapshot.describe()

    def advised(self, name: NormalizedName, version: str | None) -> list[Issue]:
        if self.snapshot is None:
            return []
        from builder.advisories.match import findings

        issues = []
        for found in findings(self.snapshot, name, version):
            issue = self._issue(
                name, found.kind, found.message(), advisory=found.advisory.id,
                aliases=list(found.advisory.aliases), version=version,
                fixed=list(found.advisory.fixed()),
            )  # fmt: skip
            reason = self.policy.allow_advisories.get(found.advisory.id)
            if reason is not None:
                said = f"{issue.message}; allowed by the policy: {reason}"
                issue = Issue(**{**asdict(issue), "severity": "note", "message": said})
            issues.append(issue)
        return issues

    def _issue(self, name: str, kind: str, message: str, **details: Any) -> Issue:
        return Issue(
            name=name,
            kind=kind,
            severity=self.policy.severity[kind],
            message=message,
            details=details,
        )

    def configuration(self) -> list[Issue]:
        """The index configuration pip and uv will run with, against the policy: pip's
        extra-index-url merges candidates across indexes (the torchtriton route), and an
        index that is not internal, as the primary one or as a uv extra index (searched
        first), would serve internal names."""
        if not (self.policy.internal_indexes or self.policy.internal_names):
            return []
        merging = [("PIP_EXTRA_INDEX_URL", os.environ.get("PIP_EXTRA_INDEX_URL"))]
        merging.append(
            ("pip's configuration (extra-index-url)", pip_config_value("extra-index-url"))
        )
        issues = [
            self._issue(
                "*",
                "configuration",
                f"{where} is set: pip merges candidates from every index and picks the "
                "highest version, so a public package can shadow an internal name",
                extra_index_url=value,
            )
            for where, value in merging
            if value
        ]
        internal = {_url_key(u) for u in self.policy.internal_indexes}
        for where, url in index_configuration():
            if _url_key(url) not in internal:
                issues.append(
                    self._issue(
                        "*",
                        "configuration",
                        f"{where} is {url}, which the policy does not name internal: "
                        "internal names would resolve from it",
                        index_url=url,
                    )
                )
        return issues

    def direct_urls(self, requested: Iterable[tuple[str, str, str]]) -> list[Issue]:
        """Requirements by direct URL (name, URL, where): an internal name must point into
        an internal index, and any URL should be pinned by a hash fragment."""
        internal = {_origin(u) for u in self.policy.internal_indexes}
        issues = []
        for raw, url, where in requested:
            name = normalize(raw)
            if self.policy.is_internal_name(name) and _origin(url) not in internal:
                issues.append(self._issue(
                    name, "confusion",
                    f"{where}: {name} is an internal name, asked for by a direct URL outside "
                    f"the internal indexes ({url})", url=url,
                ))  # fmt: skip
            if not re.search(r"#(sha256|sha384|sha512)=[0-9a-f]+", url):
                issues.append(self._issue(
                    name, "direct-url",
                    f"{where}: {name} by a direct URL not pinned by hash ({url}): add "
                    "#sha256=<digest> so that only those bytes install", url=url,
                ))  # fmt: skip
        return [i for i in issues if i.severity != "ignore"]

    def typosquats(self, name: NormalizedName, *, look_up: bool = True) -> list[Issue]:
        """The typosquat finding on `name`, with its history on the public index unless
        `look_up` is false or the policy turns index signals off."""
        if self.policy.is_internal_name(name):
            return []  # the organisation's own name: the confusion rules judge it
        findings = self.detector.check(name)
        if not findings:
            return []
        best = next((f for f in findings if f.grade == "error"), findings[0])
        issue = self._issue(
            name, "typosquat",
            f"{name} resembles {best.resembles} ({best.rule}: {best.detail}; "
            f"score {best.score:.2f})",
            resembles=[asdict(f) for f in findings[:5]],
        )  # fmt: skip
        policy = issue.severity
        graded = "warning" if best.grade == "warning" and policy == "error" else policy
        issue = Issue(**{**asdict(issue), "severity": graded})
        if not (look_up and self.policy.index_signals) or policy == "ignore":
            return [issue]
        evidence = self.index_evidence(name)
        severity = graded
        if evidence.severity == "warning" and severity == "error":
            severity = "warning"
        elif evidence.severity == "error":
            severity = policy  # a new or thin project: the shape plugins share is no excuse
        said = f"{issue.message}; index: {evidence.said}"
        details = {**issue.details, "index": evidence.said}
        return [Issue(name=name, kind="typosquat", severity=severity, message=said,
                      details=details)]  # fmt: skip

    def index_evidence(self, name: NormalizedName) -> Evidence:
        """What the public index's history of `name` says; where it cannot say, why."""
        url = self.policy.public()[0]
        try:
            return judge(history(self.index(url), name))
        except FetchError as exc:
            return Evidence(None, f"cannot be read ({exc.message}): name rules alone")
        except (ValueError, TypeError, KeyError) as exc:
            return Evidence(None, f"its page for {name} is malformed ({exc}): name rules alone")

    def confusion(self, name: NormalizedName) -> list[Issue]:
        if not self.policy.internal_indexes:
            return []
        internal = {u: files_on(self.index(u), name) for u in self.policy.internal_indexes}
        if not any(internal.values()) and not self.policy.is_internal_name(name):
            return []
        public = {u: files_on(self.index(u), name) for u in self.policy.public()}
        details = {
            "internal": {u: [str(v) for v in vs] for u, vs in internal.items()},
            "public": {u: [str(v) for v in vs] for u, vs in public.items()},
        }
        if not any(public.values()):
            return [
                self._issue(
                    name,
                    "unclaimed",
                    f"{name} is internal and unclaimed on the public index: an attacker could "
                    "register it there",
                    **details,
                )
            ]
        return [self._confusion_issue(name, _merged(internal), _merged(public), details)]

    def _confusion_issue(
        self,
        name: NormalizedName,
        internal: dict[Version, dict[str, str | None]],
        public: dict[Version, dict[str, str | None]],
        details: dict[str, Any],
    ) -> Issue:
        shown = ", ".join(str(v) for v in list(public)[-5:])
        newest = max(public)
        latest = max(internal) if internal else None
        if latest is None or newest > latest:
            message = (
                f"{name} is an internal name, and the public index has {shown} (newer than "
                f"internal {latest or 'none'}): pip with --extra-index-url would install the "
                "public one"
            )
            return self._issue(name, "confusion", message, **details)
        if newest == latest and public[newest] != internal[latest]:
            message = (
                f"{name} is an internal name, and the public index has the same version "
                f"{newest} with a different file: which file pip takes is up to its "
                "tie-breaking between indexes"
            )
            return self._issue(name, "confusion", message, **details)
        if newest == latest:
            message = (
                f"{name} is an internal name, and the public index serves the same files of "
                f"{latest} (a mirror?); a newer public version would shadow it any day"
            )
        else:
            message = (
                f"{name} is an internal name that also exists on the public index ({shown}); "
                f"internal {latest} is newer today, which can change any day"
            )
        issue = self._issue(name, "confusion", message, **details)
        return Issue(**{**asdict(issue), "severity": "warning"})


def _merged(
    by_index: dict[str, dict[Version, dict[str, str | None]]],
) -> dict[Version, dict[str, str | None]]:
    """Every index's versions and files as one (what a resolver merging them sees)."""
    merged: dict[Version, dict[str, str | None]] = {}
    for versions in by_index.values():
        for version, files in versions.items():
            merged.setdefault(version, {}).update(files)
    return merged


def index_configuration(cwd: Path | None = None) -> list[tuple[str, str]]:
    """(where, URL) of every index pip, uv or builder is configured to resolve a name from:
    builder's and pip's primary index, uv's default and extra indexes, from the
    environment, pip's configuration files, uv.toml and pyproject.toml's [tool.uv]."""
    found = [(var, os.environ[var]) for var in ("BUILDER_INDEX_URL", "PIP_INDEX_URL",
             "UV_INDEX_URL", "UV_DEFAULT_INDEX") if os.environ.get(var)]  # fmt: skip
    for var in ("UV_EXTRA_INDEX_URL", "UV_INDEX"):
        for entry in os.environ.get(var, "").split():
            found.append((var, entry.partition("=")[2] if "=" in entry.split("/")[0] else entry))
    if value := pip_config_value("index-url"):
        found.append(("pip's configuration (index-url)", value))
    here = cwd or Path.cwd()
    for path, settings in _uv_settings(here):
        for key in ("index-url", "extra-index-url"):
            values = settings.get(key)
            for url in [values] if isinstance(values, str) else values or []:
                found.append((f"{path} ({key})", str(url)))
        for index in settings.get("index", []):
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                found.append((f"{path} ([[index]] {index.get('name', '')})", index["url"]))
    return found


def _uv_settings(here: Path) -> list[tuple[Path, dict[str, Any]]]:
    """uv's settings from uv.toml and pyproject.toml's [tool.uv] in `here`."""
    found = []
    for path, inner in ((here / "uv.toml", ()), (here / "pyproject.toml", ("tool", "uv"))):
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        for key in inner:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if isinstance(data, dict) and data:
            found.append((path, data))
    return found


def _url_key(url: str) -> str:
    return url.rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
