"""The only place the stages are chained, one module per chain: build (a recipe's build,
rebuilds and attestations), audit (a rebuild from an attestation), graph (a plan's graph),
publish (into an index, and back out of it)."""

from builder.pipeline.audit import RebuildFromResult, rebuild_from_attestation
from builder.pipeline.build import BuildReport, LazySandbox, Signing, build_recipe, recipe_image
from builder.pipeline.graph import NodeOutcome, build_graphs
from builder.pipeline.publish import publish_wheels, verify_published

__all__ = [
    "BuildReport",
    "LazySandbox",
    "NodeOutcome",
    "RebuildFromResult",
    "Signing",
    "build_graphs",
    "build_recipe",
    "publish_wheels",
    "rebuild_from_attestation",
    "recipe_image",
    "verify_published",
]
