"""Which advisories of a snapshot concern a release, and what the gate says of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from builder.advisories.osv import Advisory
from builder.advisories.snapshot import Snapshot
from builder.names import normalize


@dataclass(frozen=True, slots=True)
class Finding:
    advisory: Advisory
    name: str
    version: str | None  # None: the advisory covers every version of the name

    @property
    def kind(self) -> Literal["malicious", "vulnerable"]:
        return "malicious" if self.advisory.malicious else "vulnerable"

    def message(self) -> str:
        a = self.advisory
        what = f"{self.name} {self.version}" if self.version else f"every version of {self.name}"
        if a.malicious:
            return f"{what}: known malicious ({a.id}: {a.summary or 'no summary'})"
        fixed = ", ".join(a.fixed())
        return f"{what}: {a.id} ({a.summary or 'no summary'}); " + (
            f"fixed in {fixed}" if fixed else "no fixed version"
        )


def findings(snapshot: Snapshot, name: str, version: str | None) -> list[Finding]:
    """The advisories affecting `name` at `version`; without a version, only those that
    affect every version (a malicious package, as its entry usually says)."""
    package = normalize(name)
    return [
        Finding(a, package, version)
        for a in snapshot.about(package)
        if a.affects(version) and (version is not None or a.malicious)
    ]
