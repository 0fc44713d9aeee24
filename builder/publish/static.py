"""A static package index in a folder that any web server can serve.

    DIR/simple/index.html, index.json                 the project list (PEP 503, PEP 691)
    DIR/simple/<project>/index.html, index.json       a project's files
    DIR/files/<project>/<wheel>                       the wheel
    DIR/files/<project>/<wheel>.metadata              its METADATA (PEP 658/714)
    DIR/files/<project>/<wheel>.intoto.jsonl          its signed provenance (DSSE bundle)
    DIR/images/<digest>.tar.gz, <digest>.json         build images by digest, for auditors
                                                      (gzip; linked from the store)
    DIR/patches/<sha256>                              recipes' patches by sha256, for auditors

A project's JSON page (PEP 691, api-version 1.3: PEP 700 versions, upload times and
sizes, PEP 714 core-metadata, PEP 740 provenance URLs, PEP 592 yanks) is the one record of
what the project holds; its HTML page and the root pages are rendered from it. Every
file and page is written under a temporary name and renamed into place, pages last: a
reader never sees a half-written page, and a publish killed midway leaves the pages as
they were. One publisher at a time (a lock on DIR/.lock). Docs: docs/index.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from packaging.metadata import parse_email
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_version,
    parse_wheel_filename,
)
from packaging.version import Version

from builder.encoding import pretty_json
from builder.errors import PublishError
from builder.images.archive import SUFFIX
from builder.names import NormalizedName, Sha256, normalize
from builder.provenance.bundle import bundle_keyids
from builder.store import sha256_file, write_atomic

API_VERSION = "1.3"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
METADATA_SUFFIX = ".metadata"
PROVENANCE_SUFFIX = ".intoto.jsonl"

_templates = Environment(
    loader=PackageLoader("builder.publish", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedBundle:
    """One signer's attestation bundle of a file: its name beside the wheel, and the key
    ids that signed it."""

    file: str
    keyids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedFile:
    filename: str
    sha256: Sha256
    size: int
    upload_time: str
    requires_python: str | None
    metadata_sha256: Sha256
    provenance: bool
    yanked: str | None = None  # the reason ("" for none given); None: not yanked
    # Every signer's bundle, the first publisher's first (its `provenance` URL); pages
    # an older builder wrote list none.
    attestations: tuple[SignedBundle, ...] = ()

    @property
    def version(self) -> Version:
        return parse_wheel_filename(self.filename)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    name: NormalizedName
    files: tuple[PublishedFile, ...] = ()

    def file(self, filename: str) -> PublishedFile | None:
        return next((f for f in self.files if f.filename == filename), None)

    @property
    def versions(self) -> list[str]:
        return [str(v) for v in sorted({f.version for f in self.files})]


@dataclass(frozen=True, slots=True, kw_only=True)
class Added:
    """What publishing one wheel did: `new` is False when the same file was there."""

    project: NormalizedName
    filename: str
    sha256: Sha256
    new: bool
    attested: bool = False  # another signer's attestation was added to a published file


class StaticIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.simple = root / "simple"
        self.files = root / "files"
        self.images = root / "images"
        self.patches = root / "patches"

    @contextlib.contextmanager
    def locked(self) -> Iterator[StaticIndex]:
        """The index, to this publisher alone until the block ends."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # reading

    def project(self, name: str) -> Project:
        """The project as its JSON page says (an empty one when there is none)."""
        page = self.simple / normalize(name) / "index.json"
        try:
            data = json.loads(page.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Project(name=normalize(name))
        except (OSError, ValueError) as exc:
            raise PublishError(f"{page}: not a readable project page: {exc}") from exc
        try:
            return _project_from_page(data)
        except (KeyError, TypeError, ValueError, InvalidWheelFilename) as exc:
            raise PublishError(f"{page}: not a project page builder wrote: {exc!r}") from exc

    def project_names(self) -> list[str]:
        if not self.simple.is_dir():
            return []
        return sorted(p.parent.name for p in self.simple.glob("*/index.json"))

    # writing

    def add(
        self,
        wheel: Path,
        provenance: Path,
        *,
        more: Sequence[Path] = (),
        now: dt.datetime | None = None,
    ) -> Added:
        """Publish a wheel and its provenance (and `more` signers' bundles of it, listed
        with it at once: a quorum's); the same file again adds its bundle where another
        signer made it (never replacing one), another file under a published name is
        refused."""
        name, _version, *_ = _parse_filename(wheel)
        project = self.project(name)
        sha = sha256_file(wheel)
        existing = project.file(wheel.name)
        if existing is not None:
            if existing.sha256 != sha:
                raise PublishError(
                    f"{wheel.name} is published already with sha256 {existing.sha256}; "
                    f"this file has {sha}",
                    hint="a published file never changes: build a new version, or yank it",
                )
            return self._attested_again(project, existing, provenance)
        metadata = wheel_metadata(wheel)
        first = SignedBundle(file=f"{wheel.name}{PROVENANCE_SUFFIX}",
                             keyids=bundle_keyids(provenance))  # fmt: skip
        folder = self.files / name
        copy_atomic(wheel, folder / wheel.name)
        write_atomic(folder / f"{wheel.name}{METADATA_SUFFIX}", metadata)
        copy_atomic(provenance, folder / f"{wheel.name}{PROVENANCE_SUFFIX}")
        others = tuple(self._keep_bundle(name, wheel.name, bundle) for bundle in more)
        published = PublishedFile(
            filename=wheel.name,
            sha256=sha,
            size=wheel.stat().st_size,
            upload_time=_timestamp(now or dt.datetime.now(dt.UTC)),
            requires_python=parse_email(metadata)[0].get("requires_python"),
            metadata_sha256=Sha256(_sha256_bytes(metadata)),
            provenance=True,
            attestations=(first, *others),
        )
        files = sorted((*project.files, published), key=lambda f: (f.version, f.filename))
        self._write_project(replace(project, files=tuple(files)))
        return Added(project=name, filename=wheel.name, sha256=sha, new=True)

    def bundle_path(self, project: NormalizedName, filename: str) -> Path:
        """The first publisher's bundle of a published file."""
        return self.files / project / f"{filename}{PROVENANCE_SUFFIX}"

    def _attested_again(self, project: Project, existing: PublishedFile, provenance: Path) -> Added:
        """A published file's bundle from another signer, kept beside the others (the
        caller checked that it attests the same build); the same signer's again: nothing."""
        keyids = bundle_keyids(provenance)
        same = Added(project=project.name, filename=existing.filename,
                     sha256=existing.sha256, new=False)  # fmt: skip
        first = self.bundle_path(project.name, existing.filename)
        known = existing.attestations or (  # a page an older builder wrote lists none
            (SignedBundle(file=first.name, keyids=bundle_keyids(first)),) if first.is_file() else ()
        )
        if not keyids or any(set(keyids) <= set(b.keyids) for b in known):
            return same
        added = self._keep_bundle(project.name, existing.filename, provenance)
        signed = replace(existing, attestations=(*known, added))
        files = tuple(signed if f is existing else f for f in project.files)
        self._write_project(replace(project, files=files))
        return replace(same, attested=True)

    def _keep_bundle(self, project: NormalizedName, filename: str, bundle: Path) -> SignedBundle:
        """Another signer's bundle of a file, beside the file: `<file>.<keyid>.intoto.jsonl`."""
        keyids = bundle_keyids(bundle)
        file = f"{filename}.{keyids[0][:16]}{PROVENANCE_SUFFIX}"
        copy_atomic(bundle, self.files / project / file)
        return SignedBundle(file=file, keyids=keyids)

    def unlist(self, name: NormalizedName, filename: str) -> PublishedFile | None:
        """Take a file off its project's pages (its bytes stay in files/): what a quorum
        disputes is not served to installers. The file as it was listed, or None."""
        project = self.project(name)
        listed = project.file(filename)
        if listed is not None:
            kept = tuple(f for f in project.files if f is not listed)
            self._write_project(replace(project, files=kept))
        return listed

    def yank(self, name: str, version: str, reason: str, *, undo: bool = False) -> list[str]:
        """Mark every file of NAME VERSION yanked with `reason` (PEP 592), or not any more."""
        project = self.project(name)
        wanted = canonicalize_version(version)
        hits = [f for f in project.files if canonicalize_version(f.version) == wanted]
        if not hits:
            raise PublishError(f"the index has no files of {project.name} {version}")
        state = None if undo else reason
        files = tuple(replace(f, yanked=state) if f in hits else f for f in project.files)
        self._write_project(replace(project, files=files))
        return [f.filename for f in hits]

    def add_image(self, digest: Sha256, archive: Path, description: dict[str, Any]) -> bool:
        """Serve an image's compressed root filesystem archive by its digest, with what
        it holds (images/archive.py); linked from the store where the index is on its
        filesystem, else copied. False when it is there already."""
        target = self.images / f"{digest}{SUFFIX}"
        if target.is_file():
            return False
        _link_or_copy(archive, target)
        write_atomic(self.images / f"{digest}.json", pretty_json(description))
        return True

    def add_patch(self, sha256: Sha256, patch: Path) -> bool:
        """Serve a patch a build applied by its sha256 (linked from the store where it
        can be). False when it is there already."""
        target = self.patches / sha256
        if target.is_file():
            return False
        _link_or_copy(patch, target)
        return True

    def _write_project(self, project: Project) -> None:
        """A new project goes into the root pages first, its own pages after: a project
        whose page exists is listed (so a known project's new file touches its own two
        pages and nothing else), and a publish killed in between leaves a listed name
        without a page (not found, as before), which the next publish completes."""
        folder = self.simple / project.name
        if not (folder / "index.json").is_file():
            self._list_in_root(project.name)
        write_atomic(folder / "index.json", pretty_json(project_page(project)))
        write_atomic(folder / "index.html", project_html(project).encode())

    def _list_in_root(self, name: NormalizedName) -> None:
        try:
            data = json.loads((self.simple / "index.json").read_text(encoding="utf-8"))
            names = [str(p["name"]) for p in data["projects"]]
        except (OSError, ValueError, KeyError, TypeError):
            names = self.project_names()  # none yet, or damaged: made again from the pages
        if name in names:
            return
        names = sorted({*names, name})
        write_atomic(self.simple / "index.json", pretty_json(root_page(names)))
        write_atomic(self.simple / "index.html", root_html(names).encode())


def wheel_metadata(wheel: Path) -> bytes:
    """The wheel's own METADATA, which must name the wheel's project and version."""
    name, version, *_ = _parse_filename(wheel)
    try:
        with zipfile.ZipFile(wheel) as zf:
            found = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(found) != 1:
                raise PublishError(f"{wheel.name}: expected one .dist-info/METADATA, found {found}")
            data = zf.read(found[0])
    except (OSError, zipfile.BadZipFile) as exc:
        raise PublishError(f"{wheel.name}: not a readable wheel: {exc}") from exc
    raw, _ = parse_email(data)
    if (
        normalize(str(raw.get("name", ""))) != name
        or Version(str(raw.get("version", "0"))) != version
    ):
        raise PublishError(
            f"{wheel.name}: its METADATA names {raw.get('name')} {raw.get('version')}"
        )
    return data


# pages


def _file_urls(project: NormalizedName, f: PublishedFile) -> dict[str, str]:
    base = f"../../files/{project}/{f.filename}"
    return {"url": base, "provenance": f"{base}{PROVENANCE_SUFFIX}"}


def project_page(project: Project) -> dict[str, Any]:
    """The PEP 691 JSON page (api-version 1.3)."""
    files = []
    for f in project.files:
        urls = _file_urls(project.name, f)
        files.append(
            {
                "filename": f.filename,
                "url": urls["url"],
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "core-metadata": {"sha256": f.metadata_sha256},
                "dist-info-metadata": {"sha256": f.metadata_sha256},
                "yanked": False if f.yanked is None else (f.yanked or True),
                "size": f.size,
                "upload-time": f.upload_time,
                "provenance": urls["provenance"] if f.provenance else None,
                "_attestations": [
                    {"url": f"../../files/{project.name}/{b.file}", "keyids": list(b.keyids)}
                    for b in f.attestations
                ],
            }
        )
    return {
        "meta": {"api-version": API_VERSION},
        "name": project.name,
        "versions": project.versions,
        "files": files,
    }


def project_html(project: Project) -> str:
    """The PEP 503 page with PEP 592, 658/714 and 740 attributes."""
    files = [
        {
            "filename": f.filename,
            "url": _file_urls(project.name, f)["url"],
            "sha256": f.sha256,
            "requires_python": f.requires_python,
            "metadata_sha256": f.metadata_sha256,
            "provenance_url": _file_urls(project.name, f)["provenance"] if f.provenance else None,
            "yanked": f.yanked,
        }
        for f in project.files
    ]
    template = _templates.get_template("project.html.j2")
    return template.render(api_version=API_VERSION, name=project.name, files=files)


def root_page(names: list[str]) -> dict[str, Any]:
    return {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}


def root_html(names: list[str]) -> str:
    template = _templates.get_template("root.html.j2")
    return template.render(api_version=API_VERSION, projects=names)


def _project_from_page(data: dict[str, Any]) -> Project:
    files = []
    for f in data["files"]:
        yanked = f.get("yanked", False)
        files.append(
            PublishedFile(
                filename=f["filename"],
                sha256=Sha256(f["hashes"]["sha256"]),
                size=int(f["size"]),
                upload_time=str(f["upload-time"]),
                requires_python=f.get("requires-python"),
                metadata_sha256=Sha256(f["core-metadata"]["sha256"]),
                provenance=f.get("provenance") is not None,
                yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
                attestations=tuple(_signed(b) for b in f.get("_attestations", [])),
            )
        )
        parse_wheel_filename(f["filename"])
    return Project(name=normalize(data["name"]), files=tuple(files))


def _signed(entry: dict[str, Any]) -> SignedBundle:
    url, keyids = str(entry["url"]), tuple(map(str, entry["keyids"]))
    return SignedBundle(file=url.rsplit("/", 1)[-1], keyids=keyids)


def _parse_filename(wheel: Path) -> tuple[NormalizedName, Version]:
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise PublishError(f"{wheel.name}: not a wheel file name: {exc}") from exc
    return name, version


def _timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _link_or_copy(src: Path, dst: Path) -> None:
    """`dst` as a hard link to `src` (one copy on disk), else a copy; through a temporary
    name either way."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.tmp"
    try:
        os.link(src, tmp)
    except OSError:  # another filesystem, or links not allowed
        copy_atomic(src, dst)
        return
    try:
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
