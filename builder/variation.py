"""What a rebuild changes: everything that must not matter, nothing that is pinned.

Build N (N >= 1) of a recipe runs with the variations chosen: another build root (the
prefix maps follow it), hostname, user id, CPU count, extra and reordered environment,
reversed directory listing order, and, where asked, another umask. The clock differs on
its own. The reference build (N = 0) varies nothing, so its build key and its record are
those of a plain `builder build`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from builder.errors import BuilderError
from builder.inside import layout as inside
from builder.inside.layout import BUILD_USER, HOSTNAME

KINDS = {
    "build-path": "the build root is another directory (prefix maps follow it)",
    "hostname": "another hostname",
    "uid": "another user and group id",
    "cpus": "one CPU instead of all (cpuset)",
    "env": "an extra unrelated variable, and the variables in reverse order",
    "fs-order": "directory entries listed in reverse order",
    "umask": "umask 002 instead of 022 (only where the recipe's output allows it)",
}
DEFAULT_KINDS = frozenset(KINDS) - {"umask"}
ALWAYS = "clock: builds run at different times (no faked time is needed)"


def parse_kinds(text: str) -> frozenset[str]:
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = names - set(KINDS)
    if unknown:
        raise BuilderError(
            f"unknown variation {', '.join(sorted(unknown))}",
            hint=f"known variations: {', '.join(KINDS)}",
        )
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Variation:
    index: int = 0
    kinds: frozenset[str] = frozenset()

    def _on(self, kind: str) -> bool:
        return self.index > 0 and kind in self.kinds

    @property
    def applied(self) -> list[str]:
        return sorted(k for k in self.kinds if self._on(k))

    @property
    def build_root(self) -> str:
        if not self._on("build-path"):
            return str(inside.BUILD)
        return f"{inside.BUILD}-rebuild-{self.index}"

    @property
    def hostname(self) -> str:
        return f"rebuild-{self.index}" if self._on("hostname") else HOSTNAME

    @property
    def user(self) -> str:
        if not self._on("uid"):
            return BUILD_USER
        uid = 1000 + self.index * 7
        return f"{uid}:{uid}"

    @property
    def cpuset(self) -> str | None:
        return "0" if self._on("cpus") else None

    @property
    def umask(self) -> str:
        return "002" if self._on("umask") else "022"

    @property
    def reverse_listing_order(self) -> bool:
        return self._on("fs-order")

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The build's environment, with an unrelated variable added and the order reversed."""
        if not self._on("env"):
            return env
        noisy = {**env, "BUILDER_UNRELATED_VARIABLE": f"rebuild-{self.index}"}
        return dict(reversed(noisy.items()))

    def describe(self) -> dict[str, object]:
        return {
            "index": self.index,
            "applied": self.applied,
            "build_root": self.build_root,
            "hostname": self.hostname,
            "user": self.user,
            "cpuset": self.cpuset,
            "umask": self.umask,
            "always": ALWAYS,
        }


REFERENCE = Variation()


def rebuild_variations(count: int, kinds: Iterable[str]) -> list[Variation]:
    chosen = frozenset(kinds)
    return [Variation(index=i, kinds=chosen) for i in range(1, count + 1)]
