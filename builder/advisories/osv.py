"""One OSV entry (https://ossf.github.io/osv-schema/), as far as PyPI releases go.

An entry names affected packages by ecosystem and name, with explicit versions and
ranges of events (introduced, fixed, last_affected, limit). builder keeps the PyPI ones
and decides whether a release is affected the way the OSV schema says to evaluate them.
What cannot be read is never a silent pass: an entry without an id is an error, and a
range builder cannot evaluate makes the entry affect every version of its package (the
refresh says which entries that is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from builder.errors import AdvisoryError
from builder.names import normalize

# The top-level fields of OSV schema 1.7; others are kept out and named by the refresh.
KNOWN_FIELDS = frozenset({
    "schema_version", "id", "modified", "published", "withdrawn", "aliases", "upstream",
    "related", "summary", "details", "severity", "affected", "references", "credits",
    "database_specific",
})  # fmt: skip
EVENT_KEYS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True, slots=True)
class Range:
    """One ECOSYSTEM (or SEMVER) range: its events, in the order the entry gives them."""

    events: tuple[tuple[str, str], ...]

    def affects(self, version: Version) -> bool:
        affected = False
        for key, at in sorted(self.events, key=_event_order):
            if key == "introduced":
                affected = affected or at == "0" or version >= Version(at)
            elif _ends(key, at, version):
                affected = False
        return affected

    def fixed(self) -> tuple[str, ...]:
        return tuple(at for key, at in self.events if key == "fixed")


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    package: str  # PEP 503 name
    summary: str
    aliases: tuple[str, ...]
    modified: str
    malicious: bool
    versions: tuple[str, ...] = ()
    ranges: tuple[Range, ...] = ()
    every_version: bool = False  # what the entry says could not be read: the safe side

    def affects(self, version: str | None) -> bool:
        """Whether `version` is affected; None (no version asked) asks whether every
        version is (a malicious package's usual entry: introduced 0, nothing fixed)."""
        if self.every_version:
            return True
        if version is None:
            return any(not r.fixed() and _open_from_zero(r) for r in self.ranges)
        try:
            wanted = Version(version)
        except InvalidVersion:
            return version in self.versions
        if any(_same(wanted, v) for v in self.versions):
            return True
        return any(r.affects(wanted) for r in self.ranges)

    def fixed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for r in self.ranges for f in r.fixed()))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "package": self.package, "summary": self.summary,
            "aliases": list(self.aliases), "modified": self.modified,
            "malicious": self.malicious, "versions": list(self.versions),
            "ranges": [[list(e) for e in r.events] for r in self.ranges],
            "every_version": self.every_version,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Advisory:
        return cls(
            id=data["id"], package=data["package"], summary=data["summary"],
            aliases=tuple(data["aliases"]), modified=data["modified"],
            malicious=data["malicious"], versions=tuple(data["versions"]),
            ranges=tuple(Range(tuple((k, v) for k, v in r)) for r in data["ranges"]),
            every_version=data["every_version"],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one entry gave: its PyPI advisories, and what the refresh should say."""

    advisories: tuple[Advisory, ...]
    unknown_fields: tuple[str, ...] = ()
    unreadable_range: bool = False
    withdrawn: bool = False


def parse_entry(data: Any, where: str) -> Parsed:
    """The PyPI advisories of one OSV entry; `where` names it in errors."""
    if not isinstance(data, dict):
        raise AdvisoryError(f"{where}: an OSV entry must be a JSON object")
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        raise AdvisoryError(f"{where}: the OSV entry has no id")
    modified = data.get("modified")
    if not isinstance(modified, str):
        raise AdvisoryError(f"{where}: the OSV entry {ident} has no modified time")
    unknown = tuple(sorted(set(data) - KNOWN_FIELDS))
    if data.get("withdrawn"):
        return Parsed((), unknown, withdrawn=True)
    affected = data.get("affected", [])
    if not isinstance(affected, list):
        raise AdvisoryError(f"{where}: {ident}: affected must be an array")
    aliases = tuple(a for a in data.get("aliases", []) or [] if isinstance(a, str))
    malicious = any(i.startswith("MAL-") for i in (ident, *aliases))
    found: list[Advisory] = []
    unreadable = False
    for entry in affected:
        package = entry.get("package", {}) if isinstance(entry, dict) else {}
        if not isinstance(package, dict) or package.get("ecosystem") != "PyPI":
            continue
        name = package.get("name")
        if not isinstance(name, str) or not name:
            raise AdvisoryError(f"{where}: {ident}: a PyPI package without a name")
        ranges, bad = _ranges(entry.get("ranges", []))
        unreadable = unreadable or bad
        versions = tuple(v for v in entry.get("versions", []) or [] if isinstance(v, str))
        found.append(Advisory(
            id=ident, package=normalize(name), summary=str(data.get("summary", ""))[:300],
            aliases=aliases, modified=modified, malicious=malicious, versions=versions,
            ranges=ranges, every_version=bad or (not ranges and not versions),
        ))  # fmt: skip
    return Parsed(tuple(found), unknown, unreadable)


def _ranges(raw: Any) -> tuple[tuple[Range, ...], bool]:
    """The ranges builder can evaluate, and whether any could not be read (GIT ranges
    name commits, not releases: they are left to the versions list)."""
    if not isinstance(raw, list):
        return (), True
    ranges: list[Range] = []
    bad = False
    for r in raw:
        kind = r.get("type") if isinstance(r, dict) else None
        if kind == "GIT":
            continue
        events = r.get("events") if isinstance(r, dict) else None
        if kind not in ("ECOSYSTEM", "SEMVER") or not isinstance(events, list):
            bad = True
            continue
        pairs = [_event(e) for e in events]
        if any(p is None for p in pairs) or not pairs:
            bad = True
            continue
        ranges.append(Range(tuple(p for p in pairs if p is not None)))
    return tuple(ranges), bad


def _event(e: Any) -> tuple[str, str] | None:
    if not isinstance(e, dict) or len(e) != 1:
        return None
    key, at = next(iter(e.items()))
    if key not in EVENT_KEYS or not isinstance(at, str):
        return None
    if at != "0":
        try:
            Version(at)
        except InvalidVersion:
            return None
    return key, at


def _ends(key: str, at: str, version: Version) -> bool:
    """Whether the event ends an affected stretch before `version`."""
    if key in ("fixed", "limit"):
        return version >= Version(at)
    return key == "last_affected" and version > Version(at)


def _event_order(event: tuple[str, str]) -> tuple[Version, int]:
    key, at = event
    return (Version("0") if at == "0" else Version(at)), EVENT_KEYS.index(key)


def _open_from_zero(r: Range) -> bool:
    return any(k == "introduced" and at == "0" for k, at in r.events) and not any(
        k in ("last_affected", "limit") for k, _ in r.events
    )


def _same(wanted: Version, text: str) -> bool:
    try:
        return Version(text) == wanted
    except InvalidVersion:
        return False
