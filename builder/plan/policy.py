"""The plan's policy: where each package of a closure may come from other than a build
here, and how build cycles are broken. The `[plan]` table of builder.toml (or
`[tool.builder.plan]` in pyproject.toml), beside the gate's and verify's tables:

    [plan]
    bootstrap = ["flit-core"]               # cycles: build these first, from index wheels
    image-packages = { ninja = "ninja-build" }  # the image's Debian package stands in
    [plan.exceptions]                       # wheels taken from the index, each with why
    acme-binary = "the vendor publishes wheels only"

Documented in docs/plan.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.names import NormalizedName, normalize
from builder.problems import Problems, table


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPolicy:
    exceptions: Mapping[NormalizedName, str] = field(default_factory=dict)
    bootstrap: tuple[NormalizedName, ...] = ()
    image_packages: Mapping[NormalizedName, str] = field(default_factory=dict)
    source: str = "defaults"


def plan_policy(data: Mapping[str, Any], path: Path, p: Problems) -> PlanPolicy:
    """The [plan] section of a policy file (builder/policy.py reads the file)."""
    plan = table(data, "plan", {"exceptions", "bootstrap", "image-packages"}, p)
    exceptions = _reasons(plan.get("exceptions", {}), "plan.exceptions", p)
    packages = _reasons(plan.get("image-packages", {}), "plan.image-packages", p)
    bootstrap = plan.get("bootstrap", [])
    if not isinstance(bootstrap, list) or not all(isinstance(b, str) for b in bootstrap):
        p.add("plan.bootstrap", "expected an array of package names")
        bootstrap = []
    return PlanPolicy(
        exceptions=exceptions,
        bootstrap=tuple(normalize(b) for b in bootstrap),
        image_packages=packages,
        source=str(path),
    )


def _reasons(value: Any, dotted: str, p: Problems) -> dict[NormalizedName, str]:
    if not isinstance(value, Mapping):
        p.add(dotted, 'expected a table of NAME = "text"')
        return {}
    found = {}
    for name, text in value.items():
        if not isinstance(text, str) or not text.strip():
            p.add(f"{dotted}.{name}", "expected a non-empty string (the reason, or the package)")
        else:
            found[normalize(str(name))] = text
    return found
