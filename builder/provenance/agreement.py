"""Whether k trusted signers agree on a wheel: each bundle verified with its signer's key
(and the policy), the verified ones grouped by the build inputs they attest; the quorum
holds when one group holds k distinct signers of the trust file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import VerificationFailed
from builder.provenance.bundle import bundle_keyids
from builder.provenance.rebuild_from import attested_inputs, read_provenance
from builder.provenance.trust import Trust
from builder.provenance.verify import Verification, verify
from builder.provenance.verify_policy import Policy
from builder.store import sha256_file


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    wheel: str
    sha256: str
    quorum: int
    agreed: tuple[str, ...]  # the signers of the largest group that attests the same build
    not_counted: tuple[str, ...]  # "SIGNER or KEY: why", for every other bundle
    verifications: tuple[Verification, ...]

    @property
    def holds(self) -> bool:
        return len(self.agreed) >= self.quorum

    def to_json(self) -> dict[str, Any]:
        return {"wheel": self.wheel, "sha256": self.sha256, "quorum": self.quorum,
                "agreed": list(self.agreed), "not_counted": list(self.not_counted),
                "holds": self.holds,
                "verifications": [v.to_json() for v in self.verifications]}  # fmt: skip

    def raise_unless_holds(self) -> None:
        if self.holds:
            return
        agreed = ", ".join(self.agreed) or "none"
        others = f"; not counted: {'; '.join(self.not_counted)}" if self.not_counted else ""
        raise VerificationFailed(
            f"{self.wheel}: {len(self.agreed)} of the {self.quorum} signers the quorum needs "
            f"agree ({agreed}){others}",
            hint="the index serves a file once its quorum agrees (publish --quorum); this "
            "one did not, or was changed since",
        )


def agreement(
    wheel: Path, bundles: Sequence[Path], trust: Trust, policy: Policy | None
) -> Agreement:
    """Who of the trust file agrees on `wheel`, from its `bundles`."""
    groups: dict[str, list[str]] = {}
    not_counted, verifications = [], []
    for bundle in bundles:
        keyids = bundle_keyids(bundle)
        signer = trust.signer_of(keyids)
        if signer is None:
            named = ", ".join(k[:16] for k in keyids) or "no key"
            not_counted.append(f"{named}: not a signer of the trust file")
            continue
        result = verify(wheel, bundle, signer.key, policy)
        verifications.append(result)
        if result.failed:
            failed = ", ".join(c.name for c in result.failed)
            not_counted.append(f"{signer.name}: failed {failed}")
            continue
        inputs = json.dumps(attested_inputs(read_provenance(bundle, signer.key)), sort_keys=True)
        group = groups.setdefault(inputs, [])
        if signer.name not in group:
            group.append(signer.name)
    ranked = sorted(groups.values(), key=len, reverse=True)
    agreed = tuple(ranked[0]) if ranked else ()
    not_counted += [f"{name}: attests other build inputs" for group in ranked[1:] for name in group]
    return Agreement(wheel=wheel.name, sha256=sha256_file(wheel),
                     quorum=trust.quorum, agreed=agreed, not_counted=tuple(not_counted),
                     verifications=tuple(verifications))  # fmt: skip
