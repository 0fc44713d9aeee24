"""The auditor's inputs: a recipe, tools and image read from a provenance alone.

The recipe is the provenance's externalParameters; the inputs are fetched by the digests
it names; the image must be made again from its definition and have the attested digest
(else the error lists the Debian packages whose versions differ). builder.pipeline runs
the build and compares its sha256 with the subject's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key

from builder.errors import ImageError, VerificationFailed
from builder.images import Image
from builder.names import Sha256, is_sha256, normalize
from builder.provenance.bundle import read_statements, the_statement
from builder.provenance.statements import SLSA_PROVENANCE
from builder.recipe import PinnedFile, Recipe, recipe_from_parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestedBuild:
    wheel: str
    sha256: Sha256
    provenance: dict[str, Any]
    signed: bool

    def dependencies(self, role: str) -> list[dict[str, Any]]:
        deps = self.provenance["buildDefinition"]["resolvedDependencies"]
        return [d for d in deps if d.get("annotations", {}).get("role") == role]


def read_provenance(bundle: Path, key: Key | None) -> AttestedBuild:
    """The provenance statement of a bundle; its signature checked when a key is given."""
    statement = the_statement(read_statements(bundle, key), SLSA_PROVENANCE)
    if statement is None:
        raise VerificationFailed(f"{bundle}: no SLSA provenance statement in the bundle")
    if len(statement.subjects) != 1:
        raise VerificationFailed(
            f"{statement.where}: the provenance names {len(statement.subjects)} subjects, "
            "not one wheel"
        )
    (subject,) = statement.subjects
    return AttestedBuild(wheel=subject.name, sha256=Sha256(subject.sha256),
                         provenance=statement.predicate, signed=key is not None)  # fmt: skip


def attested_inputs(attested: AttestedBuild) -> dict[str, Any]:
    """What a provenance says the build took: its external parameters (the recipe) and
    every resolved dependency by name and digest. Two signers attest the same build when
    these are equal."""
    definition = attested.provenance["buildDefinition"]
    deps = sorted((str(d.get("uri") or d.get("name")), json.dumps(d.get("digest"), sort_keys=True))
                  for d in definition["resolvedDependencies"])  # fmt: skip
    return {"externalParameters": definition["externalParameters"], "dependencies": deps}


def _pins(deps: list[dict[str, Any]]) -> tuple[PinnedFile, ...]:
    pins = []
    for d in deps:
        name, version = d["uri"].removeprefix("pkg:pypi/").split("@")
        pins.append(
            PinnedFile(
                name=normalize(name),
                version=version,
                file=d["name"],
                sha256=Sha256(d["digest"]["sha256"]),
            )
        )
    return tuple(pins)


def attested_built(attested: AttestedBuild, index: str | None) -> tuple[PinnedFile, ...]:
    """The wheels built here that the build read, by the sha256 its provenance names,
    to be fetched from `index` (a builder index's simple/ URL) where the store lacks them."""
    deps = [d for d in attested.dependencies("build-requirement")
            if d.get("annotations", {}).get("source") == "built"]  # fmt: skip
    try:
        pins = _pins(deps)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VerificationFailed(
            f"{attested.wheel}: an attested build requirement is malformed: {exc!r}"
        ) from exc
    return tuple(replace(p, source="built", index=index) for p in pins)


def attested_patches(attested: AttestedBuild) -> tuple[Sha256, ...]:
    """The sha256 of every patch the build applied."""
    found = (d.get("digest", {}).get("sha256") for d in attested.dependencies("patch"))
    patches = tuple(Sha256(d) for d in found if is_sha256(d))
    if len(patches) != len(attested.dependencies("patch")):
        raise VerificationFailed(f"{attested.wheel}: the provenance names a patch with no sha256")
    return patches


def _image_dependency(attested: AttestedBuild) -> dict[str, Any]:
    images = attested.dependencies("image")
    if len(images) != 1 or not is_sha256(images[0].get("digest", {}).get("sha256")):
        raise VerificationFailed(f"{attested.wheel}: the provenance names no one image by sha256")
    return images[0]


def attested_image_digest(attested: AttestedBuild) -> Sha256:
    return Sha256(_image_dependency(attested)["digest"]["sha256"])


def attested_image_packages(attested: AttestedBuild) -> list[str]:
    """The image's Debian packages as the provenance lists them (NAME=VERSION)."""
    packages = _image_dependency(attested).get("annotations", {}).get("packages", [])
    return [str(p) for p in packages] if isinstance(packages, list) else []


def check_image(image: Image, attested: AttestedBuild) -> None:
    dep = _image_dependency(attested)
    want = dep["digest"]["sha256"]
    if image.digest == want:
        return
    raise ImageError(
        f"the image {image.name} made here has digest {image.digest}, the attestation's "
        f"has {want}; {package_differences(image, dep.get('annotations', {}).get('packages', []))}",
        hint=f"run `builder image build {image.name} --force` with the Debian mirror of the "
        "attested package versions; a rebuild in another image proves nothing",
    )


def package_differences(image: Image, attested: list[str]) -> str:
    """Which Debian packages explain an image digest that differs, in a few words."""
    here = {p.name: p.version for p in image.packages}
    there = dict(entry.partition("=")[::2] for entry in attested)
    changed = [
        f"{name} {here[name]} here, {there[name]} attested"
        for name in sorted(here.keys() & there.keys())
        if here[name] != there[name]
    ]
    parts = changed[:10]
    if only_here := sorted(here.keys() - there.keys()):
        parts.append(f"{len(only_here)} packages only here ({', '.join(only_here[:5])}...)")
    if only_there := sorted(there.keys() - here.keys()):
        parts.append(f"{len(only_there)} only attested ({', '.join(only_there[:5])}...)")
    return "packages: " + ("; ".join(parts) or "the same versions (the tar differs otherwise)")


def attested_recipe(
    bundle: Path, key: Key | None
) -> tuple[AttestedBuild, Recipe, tuple[PinnedFile, ...]]:
    """The provenance of `bundle` (its signature checked with `key`), the recipe its
    externalParameters describe, and the tools it attests."""
    attested = read_provenance(bundle, key)
    try:
        definition = attested.provenance["buildDefinition"]
        params = definition["externalParameters"]
        limits = definition["internalParameters"].get("limits", {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise VerificationFailed(f"{bundle}: the provenance has no {exc} field") from exc
    recipe = recipe_from_parameters(params, limits, bundle, error=VerificationFailed)
    try:
        tools = _pins(attested.dependencies("tool"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VerificationFailed(f"{bundle}: an attested tool is malformed: {exc!r}") from exc
    return attested, recipe, tools
