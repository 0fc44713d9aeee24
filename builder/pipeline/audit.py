"""The auditor's chain: attestation -> recipe, tools and image (made here, or fetched
by digest from an index) -> the same build, forced -> its sha256 against the subject's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from securesystemslib.signer import Key

from builder.compare.rebuild import independent_rebuild
from builder.encoding import pretty_json
from builder.errors import FetchError
from builder.images import (
    ensure_image,
    image_from_rootfs,
)
from builder.pipeline.build import BuildReport, build, recipe_image
from builder.pipeline.request import BuildRequest, Workspace
from builder.provenance.bundle import attest, bundle_keyids
from builder.provenance.rebuild_from import (
    AttestedBuild,
    attested_built,
    attested_image_digest,
    attested_patches,
    attested_recipe,
    check_image,
)
from builder.publish.remote import RemoteIndex
from builder.store import write_atomic


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
    started = time.monotonic()
    report = build(request, replace(workspace, signing=None))
    if workspace.signing is not None:
        report = _signed(report, attested, bundle_keyids(bundle), workspace,
                         time.monotonic() - started)  # fmt: skip
    return RebuildFromResult(attested=attested, report=report)


def _signed(
    report: BuildReport,
    attested: AttestedBuild,
    attested_by: tuple[str, ...],
    workspace: Workspace,
    seconds: float,
) -> BuildReport:
    """The rebuilder's own bundle: its provenance of the rebuild, and a rebuild statement
    that compares it with the attested build (signed with the rebuilder's key), beside
    the rebuild report in dist/."""
    assert workspace.signing is not None
    independent = independent_rebuild(
        attested_wheel=attested.wheel, attested_sha256=attested.sha256,
        attested_by=attested_by, record=report.record, seconds=seconds,
    )  # fmt: skip
    path = workspace.dist / f"{report.wheel.name}.rebuild.json"
    write_atomic(path, pretty_json(independent))
    bundle = attest(report.wheel, report.record, independent,
                    signer=workspace.signing.signer, folder=workspace.signing.folder)  # fmt: skip
    return replace(report, bundle=bundle, rebuild_path=path)
