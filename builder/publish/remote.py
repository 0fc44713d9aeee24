"""A published index read over HTTP, trusting nothing it serves until it is checked.

A wheel must have the sha256 its project page names; its metadata file the sha256 the
page names and the wheel's own METADATA bytes; its provenance must be there. The
signature and the policy are checked afterwards, by builder.provenance.verify, on the
files fetched here. Images are fetched by digest and stored only if they hash to it.
Every read is bounded (builder/web.py); with a binding (the policy's rule of which
indexes may serve which names), pages and files are held to it at their final URLs.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from packaging.utils import InvalidWheelFilename, canonicalize_version, parse_wheel_filename

from builder.errors import FetchError, VerificationFailed
from builder.images.archive import SUFFIX, decompress
from builder.names import NormalizedName, Sha256
from builder.simple_pages import JSON_TYPE
from builder.store import Store
from builder.web import get_page, session, stream_file

if TYPE_CHECKING:
    from builder.gate.binding import IndexBinding

IMAGE_LIMIT = 32 << 30  # an image's root filesystem archive


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedFile:
    """A file as a project's JSON page lists it, its URLs made absolute."""

    project: NormalizedName
    filename: str
    url: str
    sha256: Sha256
    metadata_sha256: Sha256 | None
    provenance_url: str | None
    # every signer's bundle (a builder index's `_attestations`); else the provenance alone
    attestations: tuple[ServedBundle, ...] = ()


@dataclass(frozen=True, slots=True)
class ServedBundle:
    """A signer's bundle as the page lists it: where it is and the key ids it names."""

    url: str
    keyids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedWheel:
    wheel: Path
    provenance: Path
    url: str


class RemoteIndex:
    """An index builder published, at `url` (its root: simple/, files/, images/)."""

    def __init__(self, url: str, binding: IndexBinding | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.binding = binding
        self._session = session()

    @property
    def simple_url(self) -> str:
        """Its simple API (PEP 503/691), where pip and builder's own Index read it."""
        return urljoin(self.url, "simple/")

    def release(self, name: NormalizedName, version: str) -> list[ServedFile]:
        """The wheels of NAME VERSION its project's JSON page (PEP 691, at its stable
        URL simple/<project>/index.json) lists."""
        page_url = urljoin(self.url, f"simple/{name}/index.json")
        try:
            page = get_page(self._session, page_url, accept=JSON_TYPE)
        except FetchError as exc:
            raise VerificationFailed(f"the page of {name}: cannot fetch: {exc.message}") from exc
        if page.status >= 400:
            raise VerificationFailed(f"the page of {name}: {page_url} answered {page.status}")
        if self.binding is not None:
            self.binding.check(name, page.url, f"the project page of {name} ({page.url})")
        try:
            data = json.loads(page.body)
            files = [_served(f, page.url, name) for f in data["files"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerificationFailed(f"{page_url}: not a project page: {exc!r}") from exc
        wanted = canonicalize_version(version)
        wheels = [f for f in files if _version(f.filename) == wanted]
        if not wheels:
            raise VerificationFailed(f"the index {self.url} has no wheel of {name} {version}")
        return wheels

    def fetch(self, package: ServedFile, dest: Path) -> FetchedWheel:
        """The wheel, its metadata file and its provenance, each checked against the page."""
        wheel = dest / package.filename
        self._download(package.url, wheel, package.sha256, package.filename, package.project)
        self._check_metadata(package, wheel)
        if package.provenance_url is None:
            raise VerificationFailed(
                f"{package.filename}: the index page links no provenance",
                hint="builder publishes every wheel with its signed provenance; this index did not",
            )
        provenance = dest / f"{package.filename}.intoto.jsonl"
        self._download(package.provenance_url, provenance, None,
                       f"{package.filename} provenance", package.project)  # fmt: skip
        return FetchedWheel(wheel=wheel, provenance=provenance, url=package.url)

    def fetch_bundles(
        self, package: ServedFile, dest: Path, *, signed_by: str | None = None
    ) -> list[Path]:
        """Every signer's bundle of the file its page lists (at least its provenance); with
        `signed_by`, only those the page says that key id signed, where it says any did.
        The page's word only saves downloads: verification checks the signatures."""
        listed = package.attestations
        if signed_by is not None and any(signed_by in b.keyids for b in listed):
            listed = tuple(b for b in listed if signed_by in b.keyids)
        urls = tuple(b.url for b in listed) or (
            (package.provenance_url,) if package.provenance_url else ()
        )
        bundles = []
        for i, url in enumerate(urls):
            bundle = dest / f"{package.filename}.{i}.intoto.jsonl"
            self._download(url, bundle, None, f"{package.filename} attestation {i}",
                           package.project)  # fmt: skip
            bundles.append(bundle)
        return bundles

    def _check_metadata(self, package: ServedFile, wheel: Path) -> None:
        digest = package.metadata_sha256
        if digest is None:
            raise VerificationFailed(f"{package.filename}: the index page serves no metadata file")
        what = f"{package.filename} metadata"
        served = b"".join(self._stream(package.url + ".metadata", what, package.project))
        if hashlib.sha256(served).hexdigest() != digest:
            raise VerificationFailed(
                f"{package.filename}.metadata: its sha256 is not the one the index page names"
            )
        if served != _metadata_in(wheel):
            raise VerificationFailed(
                f"{package.filename}.metadata: not the METADATA of the wheel it stands for"
            )

    def fetch_image(self, digest: Sha256, store: Store) -> Path:
        """The image's root filesystem, by digest, into the store: its compressed archive
        (images/archive.py), else the plain tar an older builder published; decompressed
        as it comes, and stored only if the tar hashes to the digest."""
        if store.has(digest):
            return store.path_of(digest)
        what = f"image {digest[:12]}"
        for suffix in (SUFFIX, ".tar"):
            url = urljoin(self.url, f"images/{digest}{suffix}")
            found: list[int] = []
            chunks = stream_file(self._session, url, where=lambda _: None, limit=IMAGE_LIMIT,
                                 status=found.append)  # fmt: skip
            if suffix == SUFFIX:
                chunks = decompress(chunks, limit=IMAGE_LIMIT, what=f"{what} from {url}")
            try:
                store.add_stream(chunks, expected=digest, what=f"{what} from {url}")
                return store.path_of(digest)
            except FetchError as exc:
                if found == [404] and suffix == SUFFIX:
                    continue
                raise FetchError(f"cannot fetch the {what}: {exc.message}") from exc
        raise FetchError(f"the index {self.url} serves no {what}")

    def fetch_patch(self, sha256: Sha256, store: Store) -> None:
        """A patch by its sha256, into the store (stored only if it hashes to it)."""
        if store.has(sha256):
            return
        url = urljoin(self.url, f"patches/{sha256}")
        chunks = stream_file(self._session, url, where=lambda _: None)
        try:
            store.add_stream(chunks, expected=sha256, what=f"patch {sha256[:12]} from {url}")
        except FetchError as exc:
            raise FetchError(f"cannot fetch the patch {sha256[:12]}: {exc.message}") from exc

    def _download(
        self, url: str, target: Path, sha256: Sha256 | None, what: str, name: NormalizedName
    ) -> None:
        digest = hashlib.sha256()
        with target.open("wb") as out:
            for chunk in self._stream(url, what, name):
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise VerificationFailed(
                f"{what}: the index page names sha256 {sha256}, the file served has "
                f"{digest.hexdigest()}",
                hint="the file or the page was changed after publishing: trust neither",
            )

    def _stream(self, url: str, what: str, name: NormalizedName) -> Iterator[bytes]:
        def bound(final: str) -> None:
            if self.binding is not None:
                self.binding.check_file(name, final, f"{what} ({final})")

        try:
            yield from stream_file(self._session, url, where=bound)
        except FetchError as exc:
            raise VerificationFailed(f"{what}: cannot fetch: {exc.message}") from exc


def _served(entry: dict[str, Any], page_url: str, name: NormalizedName) -> ServedFile:
    metadata = entry.get("core-metadata") or entry.get("dist-info-metadata")
    provenance = entry.get("provenance")
    return ServedFile(
        project=name,
        filename=str(entry["filename"]),
        url=urljoin(page_url, str(entry["url"])).split("#", 1)[0],
        sha256=Sha256(entry["hashes"]["sha256"]),
        metadata_sha256=Sha256(metadata["sha256"]) if isinstance(metadata, dict) else None,
        provenance_url=urljoin(page_url, str(provenance)) if provenance else None,
        attestations=tuple(ServedBundle(urljoin(page_url, str(b["url"])),
                                        tuple(str(k) for k in b.get("keyids") or ()))
                           for b in entry.get("_attestations") or ()),
    )  # fmt: skip


def _version(filename: str) -> str | None:
    try:
        return canonicalize_version(parse_wheel_filename(filename)[1])
    except InvalidWheelFilename:
        return None


def _metadata_in(wheel: Path) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1]
            (member,) = [n for n in names if n.endswith(".dist-info/METADATA")]
            return zf.read(member)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise VerificationFailed(f"{wheel.name}: not a readable wheel: {exc}") from exc
