"""builder.toml: a team's policy in one file, read once. Its sections: the gate's
([indexes], [names], [typosquat], [severity], [advisories]; docs/gate.md), the plan's
([plan]; docs/plan.md), and what a wheel must satisfy to be verified and published
([verify], [publish]; docs/attestations.md). Every command reads the same file the
same way, and every problem in it is said at once.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
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


POLICY_ENV = "BUILDER_POLICY"  # the organisation's policy file, where a team keeps it


def find_policy(start: Path) -> Path | None:
    """The organisation's builder.toml: $BUILDER_POLICY, else the first builder.toml in
    `start` or a folder above it."""
    if named := os.environ.get(POLICY_ENV):
        return Path(named)
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / "builder.toml").is_file():
            return folder / "builder.toml"
    return None


def project_policy(start: Path) -> Path | None:
    """The checked project's own [tool.builder] (in its pyproject.toml), if it has one."""
    pyproject = start / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    tool = data.get("tool")
    return pyproject if isinstance(tool, dict) and "builder" in tool else None


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


def policy_here(explicit: Path | None, checked: Path | None = None) -> PolicyFile:
    """The policy a command runs under: --policy's file, else the organisation's
    (find_policy, from the checked path's folder up), else the defaults; tightened by the
    checked project's own [tool.builder], which can never weaken it (a project under
    check may be anyone's)."""
    start = checked or Path.cwd()
    organisation = explicit or find_policy(start)
    project = project_policy(start)
    if project is None or (organisation is not None and project.samefile(organisation)):
        return read_policy(organisation)
    strict = read_policy(organisation)  # the defaults, where there is none
    own = read_policy(project)
    source = f"{strict.source}, tightened by {own.source}"
    gate = replace(tightened(strict.gate, own.gate), source=source)
    return replace(strict, gate=gate, source=source)


_ORDER = {"ignore": 0, "warning": 1, "error": 2}


def tightened(policy: GatePolicy, project: GatePolicy) -> GatePolicy:
    """`policy` with what a project's own policy may add: higher severities, more
    internal names, a longer cooldown. Never its allow-lists, indexes or look-ups (a
    project cannot declare its own index internal, nor allow a name)."""
    severity = {k: max(v, project.severity[k], key=_ORDER.__getitem__)
                for k, v in policy.severity.items()}  # fmt: skip
    return replace(
        policy,
        severity=severity,
        internal_names=tuple(dict.fromkeys((*policy.internal_names, *project.internal_names))),
        min_release_age_days=max(policy.min_release_age_days, project.min_release_age_days),
    )


def unguarded(policy: PolicyFile) -> str | None:
    """What to say where no policy was found but pip is configured with an index of its
    own: an organisation with a private index has internal names to guard."""
    if not policy.source.startswith("defaults"):
        return None
    from builder.index_url import explicit_index_url

    configured = explicit_index_url()
    if configured is None:
        return None
    return (f"no policy found ({POLICY_ENV}, builder.toml here or above, --policy) while "
            f"pip is configured with the index {configured}: internal names are not "
            "guarded against dependency confusion (docs/gate.md)")  # fmt: skip
