"""Which indexes may serve which names: the policy's rule, checked where builder fetches.
Internal names (the policy's patterns) come only from internal indexes; no name comes
from an index that is neither internal nor public (the declared public indexes, else the
one pip is configured with). A recipe's `index` is checked before
anything is fetched (a recipe is reviewed text: an edited one could point an internal
name at an attacker's index and pin the attacker's bytes)."""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import GateFailed
from builder.gate.configuration import url_key
from builder.gate.policy import GatePolicy
from builder.names import NormalizedName, normalize


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexBinding:
    policy: GatePolicy

    @property
    def binds(self) -> bool:
        """Whether the policy says anything about indexes at all."""
        p = self.policy
        return bool(p.internal_indexes or p.public_indexes or p.internal_names)

    def refusal(self, name: NormalizedName, url: str) -> str | None:
        """Why `url` may not serve `name`; None where it may."""
        internal = {url_key(u) for u in self.policy.internal_indexes}
        where = url_key(url)
        if self.policy.is_internal_name(name):
            if where in internal:
                return None
            return (f"{name} is internal by the policy's names.internal, and {url} is not "
                    "an internal index")  # fmt: skip
        public = {url_key(u) for u in self.policy.public()}  # declared, or the configured one
        if where not in internal | public:
            return f"{url} is none of the indexes the policy declares (or pip's configured one)"
        return None

    def check(self, name: str, url: str, what: str) -> None:
        """GateFailed (exit 14) where `url` may not serve `name`, naming both and why."""
        why = self.refusal(normalize(name), url)
        if why is not None:
            raise GateFailed(
                f"{what}: {why}; nothing was fetched",
                hint="fetch internal names only from internal indexes: correct the "
                "recipe's index, or declare the index in the policy (docs/gate.md)",
            )
