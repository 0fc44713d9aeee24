"""Verify a wheel against its attestation bundle, then against a policy.

Checks run in a fixed order, and every check says what it expected and what it found:
for each envelope, the signature over PAE (nothing else in an envelope is trusted before
it), the payload type, the statement type, the subject (the wheel's file name and
sha256) and the predicate type; then that a provenance statement is there; then the
policy: builder ids, reproducibility, sources or recipes, images, age.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key

from builder.errors import PolicyViolation, VerificationFailed
from builder.names import normalize
from builder.provenance.bundle import read_bundle
from builder.provenance.signing import PAYLOAD_TYPE, open_envelope
from builder.provenance.statements import (
    PREDICATE_TYPES,
    REBUILD_PREDICATE,
    SLSA_PROVENANCE,
    STATEMENT_TYPE,
)
from builder.provenance.verify_policy import Policy, Reproducible
from builder.store import sha256_file

# The roles of the wheels a build reads: each must be built here unless the policy names it.
WHEEL_ROLES = ("build-requirement", "tool")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    expected: str
    found: str
    policy: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    wheel: str
    sha256: str
    attestation: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": not self.failed}

    def raise_for_failures(self) -> None:
        failed = self.failed
        if not failed:
            return
        names = ", ".join(c.name for c in failed)
        message = f"{self.wheel}: {len(failed)} check(s) failed: {names}"
        if all(c.policy for c in failed):
            raise PolicyViolation(message)
        raise VerificationFailed(message, hint=f"attestation: {self.attestation}")


def verify(
    wheel: Path,
    attestation: Path,
    key: Key,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> Verification:
    sha = sha256_file(wheel)
    checks: list[Check] = []
    statements = _verified_statements(read_bundle(attestation), wheel.name, sha, key, checks)
    provenance = [s["predicate"] for s in statements if s["predicateType"] == SLSA_PROVENANCE]
    checks.append(
        Check(
            "provenance statement",
            len(provenance) == 1,
            "exactly one",
            f"{len(provenance)} among {len(statements)} verified statements",
        )
    )
    if len(provenance) == 1 and policy is not None:
        rebuilds = [s["predicate"] for s in statements if s["predicateType"] == REBUILD_PREDICATE]
        checks += policy_checks(policy, provenance[0], rebuilds, now or dt.datetime.now(dt.UTC))
    return Verification(
        wheel=wheel.name, sha256=sha, attestation=str(attestation), checks=tuple(checks)
    )


def _verified_statements(
    envelopes: Sequence[dict[str, Any]], name: str, sha: str, key: Key, checks: list[Check]
) -> list[dict[str, Any]]:
    """The statements whose envelope checks all pass; a Check for each step either way."""
    good = []
    for i, raw in enumerate(envelopes):
        where = f"envelope[{i}]"
        try:
            envelope = open_envelope(raw, key, where)
        except VerificationFailed as exc:
            checks.append(Check(f"{where} signature", False, f"signed by {key.keyid}", exc.message))
            continue
        checks.append(Check(f"{where} signature", True, f"signed by {key.keyid}", "verified"))
        statement = _statement_checks(envelope.payload_type, envelope.payload, where, checks)
        if statement is None:
            continue
        ok = _subject_check(statement, name, sha, where, checks)
        ptype = statement.get("predicateType")
        known = ptype in PREDICATE_TYPES
        checks.append(
            Check(f"{where} predicate type", known, " or ".join(PREDICATE_TYPES), repr(ptype))
        )
        if ok and known:
            good.append(statement)
    return good


def _statement_checks(
    payload_type: str, payload: bytes, where: str, checks: list[Check]
) -> dict[str, Any] | None:
    type_ok = payload_type == PAYLOAD_TYPE
    checks.append(Check(f"{where} payload type", type_ok, PAYLOAD_TYPE, repr(payload_type)))
    try:
        statement = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        checks.append(Check(f"{where} statement", False, "a JSON in-toto Statement", str(exc)))
        return None
    kind = statement.get("_type") if isinstance(statement, dict) else None
    checks.append(
        Check(f"{where} statement type", kind == STATEMENT_TYPE, STATEMENT_TYPE, repr(kind))
    )
    return statement if type_ok and kind == STATEMENT_TYPE else None


def _subject_check(
    statement: dict[str, Any], name: str, sha: str, where: str, checks: list[Check]
) -> bool:
    subjects = statement.get("subject")
    found = [
        (s.get("name"), (s.get("digest") or {}).get("sha256"))
        for s in subjects or []
        if isinstance(s, dict)
    ]
    ok = (name, sha) in found
    checks.append(
        Check(
            f"{where} subject",
            ok,
            f"{name} sha256:{sha}",
            ", ".join(f"{n} sha256:{d}" for n, d in found) or "no subject",
        )
    )
    return ok


def _one_of(name: str, found: str, allowed: Sequence[str]) -> Check:
    return Check(f"policy: {name}", found in allowed, " or ".join(allowed), found, True)


def policy_checks(
    policy: Policy,
    provenance: dict[str, Any],
    rebuilds: list[dict[str, Any]],
    now: dt.datetime,
) -> list[Check]:
    definition, run = provenance["buildDefinition"], provenance["runDetails"]
    params = definition["externalParameters"]
    checks = []
    if policy.builder_ids:
        checks.append(_one_of("builder id", run["builder"]["id"], policy.builder_ids))
    if policy.reproducible != "any":
        checks.append(_reproducibility(policy.reproducible, rebuilds))
    if policy.source_digests:
        checks.append(_one_of("source digest", params["sdist"]["sha256"], policy.source_digests))
    if policy.recipes:
        attested = f"{params['name']} {params['version']} as attested"
        expected = f"one of {len(policy.recipes)} recipes"
        checks.append(Check("policy: recipe", params in policy.recipes, expected, attested, True))
    if policy.image_digests:
        images = [
            d["digest"]["sha256"]
            for d in definition["resolvedDependencies"]
            if d.get("annotations", {}).get("role") == "image"
        ]
        ok = bool(images) and all(i in policy.image_digests for i in images)
        expected = " or ".join(policy.image_digests)
        checks.append(
            Check("policy: image digest", ok, expected, ", ".join(images) or "none", True)
        )
    if policy.exceptions is not None:
        checks.append(_exceptions(policy.exceptions, definition["resolvedDependencies"]))
    if policy.max_age_days is not None:
        finished_on = run["metadata"]["finishedOn"]
        age = now - dt.datetime.fromisoformat(finished_on.replace("Z", "+00:00"))
        ok = age <= dt.timedelta(days=policy.max_age_days)
        limit, found = (
            f"at most {policy.max_age_days} days",
            f"{age.days} days (finished {finished_on})",
        )
        checks.append(Check("policy: age", ok, limit, found, True))
    return checks


def _exceptions(allowed: Sequence[str], dependencies: list[dict[str, Any]]) -> Check:
    """Every wheel the build read was built here, or is an exception the policy names.
    A provenance that does not say where a wheel came from says it came from an index."""
    downloaded = []
    for d in dependencies:
        annotations = d.get("annotations", {})
        if annotations.get("role") in WHEEL_ROLES and annotations.get("source", "index") != "built":
            name = str(d.get("uri", "")).removeprefix("pkg:pypi/").split("@")[0]
            downloaded.append(normalize(name) if name else str(d.get("name")))
    refused = sorted(set(downloaded) - set(allowed))
    expected = "every wheel built here" + (f", except {', '.join(allowed)}" if allowed else "")
    found = f"from an index: {', '.join(refused)}" if refused else "none outside the policy"
    return Check("policy: exceptions", not refused, expected, found, True)


def _reproducibility(required: Reproducible, rebuilds: list[dict[str, Any]]) -> Check:
    expected = "bit-for-bit rebuilds" if required == "raw" else "rebuilds equal after normalization"
    if not rebuilds:
        return Check("policy: reproducible", False, expected, "no rebuild statement", True)
    report = rebuilds[0]
    raw = bool(report.get("raw_equal")) and report.get("builds", 0) >= 2
    normalized = bool((report.get("normalized") or {}).get("equal"))
    ok = raw if required == "raw" else raw or normalized
    found = f"{report.get('builds')} builds, raw equal: {raw}, normalized equal: {normalized}"
    return Check("policy: reproducible", ok, expected, found, True)
