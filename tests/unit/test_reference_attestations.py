"""The committed reference attestations: one per reference recipe, each signed by the
committed public key and about that recipe's sdist (the rebuild itself is in the slow tier)."""

from __future__ import annotations

import json

from builder.provenance.bundle import read_bundle
from builder.provenance.signing import load_public_key, open_envelope
from builder.provenance.statements import SLSA_PROVENANCE
from builder.recipe import load_recipe
from tests.conftest import REPO

REFERENCE = REPO / "attestations" / "reference"


def test_every_reference_recipe_has_a_committed_bundle_that_verifies() -> None:
    key = load_public_key(REFERENCE / "builder-reference.pub.json")
    attested = {}
    for bundle in sorted(REFERENCE.glob("*.intoto.jsonl")):
        for i, raw in enumerate(read_bundle(bundle)):
            statement = json.loads(open_envelope(raw, key, f"{bundle}[{i}]").payload)
            assert statement["subject"][0]["name"] == bundle.name.removesuffix(".intoto.jsonl")
            if statement["predicateType"] == SLSA_PROVENANCE:
                params = statement["predicate"]["buildDefinition"]["externalParameters"]
                attested[params["name"]] = params
    for path in sorted((REPO / "recipes").glob("*.toml")):
        recipe = load_recipe(path)
        assert attested.get(recipe.name) == recipe.external_parameters(), f"{path} changed"
