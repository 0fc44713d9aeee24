"""What a wheel must satisfy to be verified and published: the [verify] and [publish]
sections of builder.toml (docs/attestations.md), read without the signing libraries
(the gate's commands read the same file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from builder.names import normalize, parse_glibc
from builder.problems import Problems, choice, table
from builder.recipe import load_recipe

Reproducible = Literal["any", "raw", "normalized"]  # what a policy asks of the rebuilds
REPRODUCIBILITY: tuple[Reproducible, ...] = get_args(Reproducible)
POLICY_KEYS = {
    "builder-ids",
    "reproducible",
    "source-digests",
    "recipes",
    "image-digests",
    "max-age-days",
    "exceptions",
}
# [publish]: what the fleet installing from the index can take.
PUBLISH_KEYS = {"max-glibc"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    builder_ids: tuple[str, ...] = ()
    reproducible: Reproducible = "any"
    source_digests: tuple[str, ...] = ()
    recipes: tuple[dict[str, Any], ...] = ()
    image_digests: tuple[str, ...] = ()
    max_age_days: int | None = None
    # None: any wheel may come from an index; else the names allowed to ([] allows none).
    exceptions: tuple[str, ...] | None = None
    # [publish] max-glibc: the newest glibc a published wheel may need (None: any).
    max_glibc: tuple[int, int] | None = None


def verify_policy(data: Mapping[str, Any], path: Path, p: Problems) -> Policy:
    """The [verify] and [publish] sections of a policy file (builder/policy.py reads the
    file); the recipes it names are read beside it."""
    t = table(data, "verify", POLICY_KEYS, p)
    max_glibc = _max_glibc(table(data, "publish", PUBLISH_KEYS, p), p)
    lists = {}
    for key in ("builder-ids", "source-digests", "recipes", "image-digests", "exceptions"):
        value = t.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            p.add(f"verify.{key}", "expected an array of strings")
            value = []
        lists[key] = tuple(value)
    reproducible = choice(t.get("reproducible", "any"), REPRODUCIBILITY)
    if reproducible is None:
        p.add("verify.reproducible", f"expected one of {', '.join(REPRODUCIBILITY)}")
    age = t.get("max-age-days")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age <= 0):
        p.add("verify.max-age-days", "expected a positive integer")
    p.raise_if_any()
    recipes = tuple(load_recipe(path.parent / r).external_parameters() for r in lists["recipes"])
    return Policy(
        builder_ids=lists["builder-ids"],
        reproducible=reproducible or "any",
        source_digests=tuple(d.removeprefix("sha256:") for d in lists["source-digests"]),
        recipes=recipes,
        image_digests=tuple(d.removeprefix("sha256:") for d in lists["image-digests"]),
        max_age_days=age,
        exceptions=tuple(normalize(n) for n in lists["exceptions"]) if "exceptions" in t else None,
        max_glibc=max_glibc,
    )


def _max_glibc(publish: Mapping[str, Any], p: Problems) -> tuple[int, int] | None:
    if "max-glibc" not in publish:
        return None
    value = publish["max-glibc"]
    parsed = parse_glibc(value) if isinstance(value, str) else None
    if parsed is None:
        p.add("publish.max-glibc", 'expected a glibc version as a string, such as "2.36"')
    return parsed
