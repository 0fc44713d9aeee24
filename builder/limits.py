"""The resource limits of one run: a recipe's [limits], or a phase's own."""

from __future__ import annotations

from dataclasses import dataclass, replace

# The largest value a recipe may give each limit: beyond them a limit is a typo (or
# overflows what docker and the kernel take), not a wish.
LIMIT_MAXIMA: dict[str, int] = {
    "memory_mib": 1 << 20,  # 1 TiB
    "pids": 4_194_304,  # the kernel's own maximum
    "cpus": 1024,
    "timeout_s": 7 * 24 * 3600,
    "tmpfs_mib": 1 << 20,
    "out_mib": 1 << 20,
    "unpack_mib": 1 << 20,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    memory_mib: int = 4096
    pids: int = 1024
    cpus: float = 2.0
    timeout_s: int = 1800
    tmpfs_mib: int = 4096
    out_mib: int = 1024
    unpack_mib: int = 2048

    def on_one_cpu(self) -> Limits:
        """The same limits for a run pinned to one CPU (the cpus variation): the same
        work may take as many times longer as it had CPUs, so the wall clock grows alike."""
        return replace(self, timeout_s=round(self.timeout_s * max(1.0, self.cpus)))

    def as_dict(self) -> dict[str, int | float]:
        return {
            "memory_mib": self.memory_mib,
            "pids": self.pids,
            "cpus": self.cpus,
            "timeout_s": self.timeout_s,
            "tmpfs_mib": self.tmpfs_mib,
            "out_mib": self.out_mib,
            "unpack_mib": self.unpack_mib,
        }
