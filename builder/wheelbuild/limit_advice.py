"""Which `[limits]` key a run reached, from its result and its log, said as advice.

A limit that breaks a build fails it and is named: the sandbox sees the wall clock, the
memory and the pids limits itself; a full tmpfs or a file over the size limit shows only
as the build's own error (`No space left on device`, `File too large`).
"""

from __future__ import annotations

from collections.abc import Sequence

from builder.limits import Limits
from builder.sandbox import RunResult

NO_SPACE = "No space left on device"
TOO_LARGE = "File too large"


def limits_reached(result: RunResult, lines: Sequence[str], limits: Limits) -> tuple[str, ...]:
    """Each limit the run reached, as `key = value` of the recipe's [limits]."""
    reached = []
    if result.timed_out:
        reached.append(f"timeout_s = {limits.timeout_s}")
    if result.oom_killed:
        reached.append(f"memory_mib = {limits.memory_mib}")
    if result.pids_refused:
        reached.append(f"pids = {limits.pids}")
    if any(NO_SPACE in line or TOO_LARGE in line for line in lines):
        reached.append(f"tmpfs_mib = {limits.tmpfs_mib} or out_mib = {limits.out_mib}")
    return tuple(reached)


def limit_advice(reached: Sequence[str]) -> str:
    """The hint for a run that reached `reached`."""
    keys = " / ".join(r.split(" = ", 1)[0] for r in reached)
    advice = (
        f"the build reached [limits] {'; '.join(reached)}: raise {keys} in the recipe's "
        "[limits] (docs/recipes.md)"
    )
    if "tmpfs_mib" in keys:
        advice += "; where bubblewrap cannot size a tmpfs (before 0.9), each file is capped "
        advice += "at the smaller of tmpfs_mib and out_mib"
    return advice
