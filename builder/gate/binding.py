"""Which indexes may serve which names: the policy's rule, checked where builder fetches.

Internal names (the policy's patterns) come only from internal indexes; no name comes
from an index that is neither internal nor public (the declared public indexes, else the
one pip is configured with). Places are URL prefixes: scheme, host, port and path, after
`.` and `..` are resolved, so a URL on an index's host but outside its path is not the
index's. Checked three times:

- a recipe's `index`, before anything is fetched (a recipe is reviewed text: an edited
  one could point an internal name at an attacker's index and pin the attacker's bytes);
- every project page, at its final URL after redirects: under an index the name may
  come from;
- every file of an internal name, at its final URL after redirects: under an internal
  index's files (the folder holding the index's `simple/`, or `[indexes] internal-files`).
  Other names' files are where the bound page says, their bytes held to its sha256.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import GateFailed
from builder.gate.place import Place
from builder.gate.policy import GatePolicy
from builder.names import NormalizedName, normalize

HINT = ("fetch internal names only from internal indexes: correct the index, or declare "
        "it in the policy's [indexes] (docs/gate.md)")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexBinding:
    policy: GatePolicy

    @property
    def binds(self) -> bool:
        """Whether the policy says anything about indexes at all."""
        p = self.policy
        return bool(p.internal_indexes or p.public_indexes or p.internal_names or p.mirrors)

    def _internal(self) -> list[Place]:
        return [Place.of(u) for u in self.policy.internal_indexes]

    def _any(self) -> list[Place]:
        """Every index a name that is not internal may come from: internal, mirrors or
        public (declared, or the configured one)."""
        public = (*self.policy.mirrors, *self.policy.public())
        return self._internal() + [Place.of(u) for u in public]

    def internal(self, name: NormalizedName) -> bool:
        return self.policy.is_internal_name(name)

    def refusal(self, name: NormalizedName, url: str) -> str | None:
        """Why the index at `url`, or a page at `url`, may not serve `name`; None where
        it may."""
        where = Place.of(url)
        if self.internal(name):
            if any(p.holds(where) for p in self._internal()):
                return None
            return (f"{name} is internal by the policy's names.internal, and {url} is not "
                    "an internal index")  # fmt: skip
        if not any(p.holds(where) for p in self._any()):
            return f"{url} is none of the indexes the policy declares (or pip's configured one)"
        return None

    def file_refusal(self, name: NormalizedName, url: str) -> str | None:
        """Why a file of `name` may not come from `url` (its final URL); None where it may."""
        if not self.internal(name):
            return None
        where = Place.of(url)
        files = [p.parent for p in self._internal()]
        files += [Place.of(u) for u in self.policy.internal_files]
        if any(p.holds(where) for p in files):
            return None
        return (f"{name} is internal by the policy's names.internal, and its file came from "
                f"{url}, outside the internal indexes' files")  # fmt: skip

    def check(self, name: str, url: str, what: str) -> None:
        """GateFailed (exit 14) where the index or page at `url` may not serve `name`."""
        self._refuse(self.refusal(normalize(name), url), what)

    def check_file(self, name: str, url: str, what: str) -> None:
        """GateFailed (exit 14) where a file of `name` may not come from `url`."""
        self._refuse(self.file_refusal(normalize(name), url), what)

    @staticmethod
    def _refuse(why: str | None, what: str) -> None:
        if why is not None:
            raise GateFailed(f"{what}: {why}; nothing was stored", hint=HINT)


def binding_of(policy: GatePolicy) -> IndexBinding | None:
    """The policy's binding, or None where it declares no index and no internal name."""
    binding = IndexBinding(policy=policy)
    return binding if binding.binds else None
