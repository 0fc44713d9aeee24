"""The publishing chains: verify -> index (and upload); and the index read back the
same way: fetch -> check against the pages -> verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from packaging.utils import parse_wheel_filename
from securesystemslib.signer import Key

from builder.errors import PolicyViolation, PublishError, VerificationFailed
from builder.images.archive import SUFFIX, compressed_archive
from builder.images.tags import wheel_platform
from builder.names import NormalizedName, Sha256, is_sha256, normalize
from builder.progress import Progress
from builder.provenance.agreement import Agreement, agreement
from builder.provenance.bundle import bundle_keyids, find_bundle
from builder.provenance.rebuild_from import (
    AttestedBuild,
    attested_image_digest,
    attested_image_packages,
    attested_inputs,
    read_provenance,
)
from builder.provenance.trust import Trust, TrustedSigner
from builder.provenance.verify import Verification, verify
from builder.provenance.verify_policy import Policy
from builder.publish.quorum import Quorum, Submission
from builder.publish.remote import RemoteIndex
from builder.publish.static import Added, StaticIndex
from builder.publish.upload import upload
from builder.store import Store, sha256_file


def publish_wheels(
    wheels: Sequence[Path],
    *,
    index: StaticIndex | None,
    key: Key,
    policy: Policy | None,
    attestations: Path,
    store: Store | None,
    progress: Progress,
    upload_to: str | None = None,
) -> list[Added]:
    """Every wheel verified under the policy first (one that does not is refused, and
    then none is published); then each with its provenance, and its build image by
    digest where the store holds it, into the static `index`; and uploaded to the server
    at `upload_to` when given."""
    checked = []
    for wheel in wheels:
        bundle = find_bundle(wheel, attestations)
        verification = verify(wheel, bundle, key, policy)
        verification.raise_for_failures()
        checked.append((wheel, bundle))
    if policy is not None and policy.max_glibc is not None:
        _installable(wheels, policy.max_glibc)
    if upload_to is not None:
        progress.status(f"uploading {len(checked)} wheel(s) to {upload_to} with twine")
        upload([wheel for wheel, _ in checked], upload_to)
    if index is None:
        return []
    added = []
    with index.locked():
        for wheel, bundle in checked:  # every other signer's agrees, before anything is written
            _agrees(index, wheel, bundle, key)
        for wheel, bundle in checked:
            result = index.add(wheel, bundle)
            said = ("published" if result.new else "attested by another signer" if
                    result.attested else "already published")  # fmt: skip
            progress.status(f"{said}: {wheel.name}")
            added.append(result)
            if store is not None:
                _publish_inputs(index, read_provenance(bundle, key), store, progress)
    return added


def submit_wheels(
    wheels: Sequence[Path],
    *,
    index: StaticIndex,
    trust: Trust,
    policy: Policy | None,
    attestations: Path,
    store: Store | None,
    progress: Progress,
) -> list[Submission]:
    """Publishing under a quorum: every wheel's bundle verified with the key of the
    trusted signer who signed it, and under the policy (one that does not is refused, and
    then none is submitted); every bundle checked against the others of its sha256; then
    each submitted: staged until the trust file's quorum agrees, listed when it does, the
    file quarantined when a trusted signer's sha256 differs. Images are served by digest
    at once: the other signers rebuild in them."""
    checked = []
    for wheel in wheels:
        bundle = find_bundle(wheel, attestations)
        signer = trusted_signer(trust, bundle)
        verify(wheel, bundle, signer.key, policy).raise_for_failures()
        checked.append((wheel, bundle, signer))
    if policy is not None and policy.max_glibc is not None:
        _installable(wheels, policy.max_glibc)
    quorum = Quorum(index, trust)
    submitted = []
    with index.locked():
        for wheel, bundle, _ in checked:
            quorum.check(wheel, bundle)
        for wheel, bundle, signer in checked:
            said = quorum.submit(wheel, bundle, signer)
            progress.status(_submitted(said))
            submitted.append(said)
            if store is not None:
                _publish_inputs(index, read_provenance(bundle, signer.key), store, progress)
    return submitted


def trusted_signer(trust: Trust, bundle: Path) -> TrustedSigner:
    """The trust file's signer who signed this bundle (else VerificationFailed, exit 12)."""
    keyids = bundle_keyids(bundle)
    signer = trust.signer_of(keyids)
    if signer is None:
        raise VerificationFailed(
            f"{bundle}: signed by {', '.join(keyids) or 'no key'}, which the trust file "
            f"{trust.path} does not name",
            hint=f"the trust file names {', '.join(trust.names)}; add a signer there first",
        )
    return signer


def _submitted(said: Submission) -> str:
    agreed = f"{len(said.agreed)} of {said.quorum} agree ({', '.join(said.agreed)})"
    return {
        "staged": f"staged, {agreed}: {said.filename}",
        "published": f"published, {agreed}: {said.filename}",
        "attested": f"attested by {said.signer} too, {agreed}: {said.filename}",
        "already": f"already attested by {said.signer}: {said.filename}",
        "quarantined": f"QUARANTINED: {said.filename}: {said.why}",
    }[said.outcome]


def _agrees(index: StaticIndex, wheel: Path, bundle: Path, key: Key) -> None:
    """A wheel already on the index, attested by another signer: both provenances must
    name the same build inputs (recipe, sdist, wheels, image), else it is refused
    (PublishError, exit 15) and nothing is published."""
    name = normalize(parse_wheel_filename(wheel.name)[0])
    existing = index.project(name).file(wheel.name)
    if existing is None or existing.sha256 != sha256_file(wheel):
        return  # new here, or another file under a published name: index.add says so
    theirs = attested_inputs(read_provenance(index.bundle_path(name, wheel.name), None))
    ours = attested_inputs(read_provenance(bundle, key))
    if theirs != ours:
        differ = [k for k in ours if ours[k] != theirs.get(k)]
        raise PublishError(
            f"{wheel.name}: this attestation and the one on the index name other build "
            f"inputs ({', '.join(differ)}): not added, nothing was published",
            hint="independent rebuilders agree only from the same recipe, sdist, build "
            "requirements and image; builder report compares the two",
        )


def _installable(wheels: Sequence[Path], max_glibc: tuple[int, int]) -> None:
    """Every wheel installs on a glibc no newer than the policy's `[publish] max-glibc`:
    a pure wheel, or one whose manylinux tags allow that glibc (an unrepaired linux_*
    wheel installs nowhere but where it was built)."""
    limit = f"{max_glibc[0]}.{max_glibc[1]}"
    refused = []
    for wheel in wheels:
        platform = wheel_platform(wheel.name)
        if platform.pure:
            continue
        if platform.glibc is None or platform.glibc > max_glibc:
            refused.append(f"{wheel.name} ({platform.describe()})")
    if refused:
        raise PolicyViolation(
            f"{len(refused)} wheel(s) need a glibc newer than the policy's max-glibc {limit}: "
            + "; ".join(refused),
            hint="build them in an image whose glibc is no newer (docs/images.md tables the "
            "tag each image gives); nothing was published",
        )


def _publish_inputs(
    index: StaticIndex, attested: AttestedBuild, store: Store, progress: Progress
) -> None:
    """What an auditor cannot fetch elsewhere, served by digest: the build's image and
    its recipe's patches (sdists and wheels come from the indexes the provenance names)."""
    for patch in attested.dependencies("patch"):
        digest = Sha256(str(patch.get("digest", {}).get("sha256", "")))
        if is_sha256(digest) and store.has(digest):
            index.add_patch(digest, store.path_of(digest))
    _publish_image(index, attested, store, progress)


def _publish_image(
    index: StaticIndex, attested: AttestedBuild, store: Store, progress: Progress
) -> None:
    digest = attested_image_digest(attested)
    if not store.has(digest):
        progress.status(f"image {digest[:12]} is not in the store: not served by the index")
        return
    if (index.images / f"{digest}{SUFFIX}").is_file():
        return
    archive = compressed_archive(store, digest, progress)
    description = {"digest": digest, "packages": attested_image_packages(attested),
                   "archive": {"file": f"{digest}{SUFFIX}", "sha256": archive.name,
                               "encoding": "gzip"}}  # fmt: skip
    if index.add_image(digest, archive, description):
        progress.status(f"published image {digest[:12]}")


def verify_published(
    name: NormalizedName,
    version: str,
    *,
    index: RemoteIndex,
    key: Key,
    policy: Policy | None,
    dest: Path,
) -> list[Verification]:
    """Every wheel of NAME VERSION on the index, fetched and checked against its page,
    then verified under the policy with the bundle `key` signed (of every signer's the
    page lists; else its provenance)."""
    results = []
    for package in index.release(name, version):
        fetched = index.fetch(package, dest)
        bundles = index.fetch_bundles(package, dest, signed_by=key.keyid)
        signed = [b for b in bundles if key.keyid in bundle_keyids(b)]
        results.append(verify(fetched.wheel, signed[0] if signed else fetched.provenance,
                              key, policy))  # fmt: skip
    return results


def verify_agreed(
    name: NormalizedName,
    version: str,
    *,
    index: RemoteIndex,
    trust: Trust,
    policy: Policy | None,
    dest: Path,
) -> list[Agreement]:
    """Every wheel of NAME VERSION on the index, fetched and checked against its page,
    with every signer's bundle; who of the trust file agrees on each."""
    results = []
    for package in index.release(name, version):
        fetched = index.fetch(package, dest)
        bundles = index.fetch_bundles(package, dest)
        results.append(agreement(fetched.wheel, bundles, trust, policy))
    return results
