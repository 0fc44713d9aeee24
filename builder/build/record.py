"""The build record: every input by sha256, the exact run, and the output.

It is the raw material of provenance (see DESIGN.md, attest); kept in the store under the
build key and written beside the wheel in dist/.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from typing import Any

from builder import __version__
from builder.build.run import BuiltWheel
from builder.build.staging import driver_digest
from builder.fetch.sources import Sources
from builder.images import Image
from builder.names import Sha256
from builder.recipe import Recipe
from builder.store import canonical_json

RECORD_VERSION = 2


def inputs(recipe: Recipe, image: Image, sources: Sources) -> dict[str, Any]:
    """Everything the build reads, by content digest."""
    return {
        "sdist": sources.sdist.as_dict(),
        "requires": [r.as_dict() for r in sources.requires],
        "tools": [t.as_dict() for t in sources.tools],
        "crates": [
            {"name": c.name, "version": c.version, "file": c.file, "sha256": c.sha256}
            for c in sources.crates
        ],
        "image": {
            "name": image.name,
            "digest": f"sha256:{image.digest}",
            "definition_sha256": image.definition_sha256,
            "packages": [asdict(p) for p in image.packages],
        },
        "driver": {"sha256": driver_digest()},
    }


def build_key(recipe: Recipe, image: Image, sources: Sources) -> Sha256:
    """The hash of the recipe and of every input's digest: same key, same build."""
    material = {
        "record_version": RECORD_VERSION,
        "recipe": recipe.external_parameters(),
        "image": image.digest,
        "tools": [t.sha256 for t in sources.tools],
        "crates": [c.sha256 for c in sources.crates],
        "driver": driver_digest(),
    }
    return Sha256(hashlib.sha256(canonical_json(material)).hexdigest())


def make_record(
    *,
    key: Sha256,
    recipe: Recipe,
    image: Image,
    sources: Sources,
    built: BuiltWheel,
    started_on: str,
    finished_on: str,
) -> dict[str, Any]:
    return {
        "record_version": RECORD_VERSION,
        "builder_version": __version__,
        "build_key": key,
        "invocation_id": uuid.uuid4().hex,
        "recipe": {"path": str(recipe.path), "parameters": recipe.external_parameters()},
        "inputs": inputs(recipe, image, sources),
        "run": built.run,
        "started_on": started_on,
        "finished_on": finished_on,
        "durations_s": {"build": built.duration_s, **built.timings},
        "output": {
            "wheel": built.file,
            "sha256": built.sha256,
            "unrepaired_wheel": built.unrepaired_file,
            "repaired": built.file != built.unrepaired_file,
            "grafted_libraries": list(built.grafted_libraries),
        },
        "log": {"sha256": built.log_sha256},
    }
