"""builder.toml: a team's policy in one file, read once. Its sections: the gate's
([indexes], [names], [typosquat], [severity], [advisories]; docs/gate.md), the plan's
([plan]; docs/plan.md), and what a wheel must satisfy to be verified and published
([verify], [publish]; docs/attestations.md). Every command reads the same file the
same way, and every problem in it is said at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.errors import InputError
from builder.gate.policy import GatePolicy, gate_policy
from builder.plan.policy import PlanPolicy, plan_policy
from builder.problems import Problems
from builder.provenance.verify_policy import Policy, verify_policy

SECTIONS = ("indexes", "names", "typosquat", "severity", "advisories", "releases", "plan",
            "verify", "publish")  # fmt: skip
HINT = "docs/gate.md, docs/plan.md and docs/attestations.md list the keys of their sections"


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyFile:
    gate: GatePolicy = field(default_factory=GatePolicy)
    plan: PlanPolicy = field(default_factory=PlanPolicy)
    verify: Policy = field(default_factory=Policy)
    source: str = "defaults"


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


def read_policy(path: Path | None) -> PolicyFile:
    """The policy file at `path` (builder.toml, or a pyproject.toml's [tool.builder]);
    the defaults where there is none."""
    if path is None:
        return PolicyFile()
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the policy: {exc}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("builder", {})
    p = Problems(path, hint=HINT, error=InputError)
    if not isinstance(data, dict):
        p.add("tool.builder", "expected a table")
        p.raise_if_any()
    for unknown in sorted(set(data) - set(SECTIONS)):
        p.add(unknown, f"unknown key (allowed: {', '.join(SECTIONS)})")
    gate, plan = gate_policy(data, path, p), plan_policy(data, path, p)
    verify = verify_policy(data, path, p)
    p.raise_if_any()
    return PolicyFile(gate=gate, plan=plan, verify=verify, source=str(path))


def policy_here(explicit: Path | None) -> PolicyFile:
    """--policy's file, else ./builder.toml, else [tool.builder] in ./pyproject.toml."""
    return read_policy(explicit or find_policy(Path.cwd()))
