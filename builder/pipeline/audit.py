"""The auditor's chain: attestation -> recipe, tools and image (made here, or fetched
by digest from an index) -> the same build, forced -> its sha256 against the subject's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from securesystemslib.signer import Key

from builder.errors import FetchError
from builder.images import (
    ensure_image,
    image_from_rootfs,
)
from builder.pipeline.build import BuildReport, build, recipe_image
from builder.pipeline.request import BuildRequest, Workspace
from builder.provenance.rebuild_from import (
    AttestedBuild,
    attested_built,
    attested_image_digest,
    attested_patches,
    attested_recipe,
    check_image,
)
from builder.publish.remote import RemoteIndex


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildFromResult:
    attested: AttestedBuild
    report: BuildReport

    @property
    def matches(self) -> bool:
        return self.report.sha256 == self.attested.sha256


def rebuild_from_attestation(
    bundle: Path, *, key: Key | None, workspace: Workspace, index: RemoteIndex | None = None
) -> RebuildFromResult:
    """The auditor's path: the recipe is the provenance's externalParameters, the tools
    the attested ones, the image must have the attested digest (fetched by digest from
    `index` when given, else made here from Debian's packages), the wheels built here
    that it read the attested ones by sha256 (from the store, else from `index`, where
    they are published); then the same build, forced (a cache hit proves nothing), and
    its sha256 against the subject's."""
    store, progress, image_search = workspace.store, workspace.progress, workspace.image_search
    attested, recipe, tools = attested_recipe(bundle, key)
    definition = recipe_image(recipe, image_search)
    if index is not None:
        digest = attested_image_digest(attested)
        progress.status(f"fetching the attested image {digest[:12]} from {index.url}")
        index.fetch_image(digest, store)
        image = image_from_rootfs(definition, digest, store)
        python3 = image.package("python3")
        python = f"python3 {python3.version}" if python3 is not None else ""
        progress.status(
            f"image {image.name} {digest[:12]} from the index: {len(image.packages)} Debian "
            f"packages ({python}); `builder image build {image.name} --force` makes it "
            "afresh while Debian serves these versions"
        )
    else:
        image = ensure_image(definition, store, progress)
    check_image(image, attested)
    if index is not None:
        for patch in attested_patches(attested):
            index.fetch_patch(patch, store)
    built = attested_built(attested, None if index is None else index.simple_url)
    missing = [p.file for p in built if not store.has(p.sha256)]
    missing += [f"patch {p[:12]}" for p in attested_patches(attested) if not store.has(p)]
    if index is None and missing:
        raise FetchError(
            f"{attested.wheel} was built with inputs this store lacks: {', '.join(missing)}",
            hint="give --index URL, the builder index that serves them (wheels built here, "
            "patches, the image): each is fetched by the sha256 the provenance names",
        )
    request = BuildRequest(recipe=recipe, tools=tools, force=True, image=image, built_pins=built)
    return RebuildFromResult(attested=attested, report=build(request, workspace))
