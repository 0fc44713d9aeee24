"""The package index, as configured (builder/index_url.py): never a host written in
builder's own code. Files are found through the simple repository API (PEP 691 JSON,
PEP 503 HTML).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from packaging.version import Version

from builder.errors import FetchError
from builder.index_url import configured_index_url
from builder.names import NormalizedName, Sha256
from builder.simple_pages import ACCEPT, PageError, read_page
from builder.web import get_page, session, stream_file

# Every archive pip takes as an sdist (pip's own list): packaging parses .tar.gz and .zip
# only, so the others are read as if they were .tar.gz.
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz",
                  ".tar.lz", ".tar.lzma", ".tgz", ".tar")  # fmt: skip


def sdist_as_tar_gz(filename: str) -> str:
    """An sdist's file name with its archive suffix as .tar.gz (unchanged if none)."""
    suffix = next((s for s in SDIST_SUFFIXES if filename.lower().endswith(s)), None)
    return filename if suffix in (None, ".zip") else filename[: -len(suffix)] + ".tar.gz"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexFile:
    project: NormalizedName
    filename: str
    url: str
    sha256: Sha256 | None
    yanked: bool = False
    upload_time: datetime | None = None  # PEP 700; None where the index does not say

    @property
    def version(self) -> Version | None:
        """The version its wheel or sdist file name says; None for a name that says none."""
        from packaging.utils import (
            InvalidSdistFilename,
            InvalidWheelFilename,
            parse_sdist_filename,
            parse_wheel_filename,
        )
        from packaging.version import InvalidVersion

        try:
            if self.filename.endswith(".whl"):
                return parse_wheel_filename(self.filename)[1]
            return parse_sdist_filename(sdist_as_tar_gz(self.filename))[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            return None


@dataclass(frozen=True, slots=True)
class Listing:
    """A project page: its final URL (after redirects) and its files."""

    url: str
    files: tuple[IndexFile, ...]


class Binding(Protocol):
    """Which indexes may serve which names (the policy's, gate/binding.py): each check
    raises GateFailed (exit 14) where `url` may not serve `name`'s page or file."""

    def check(self, name: str, url: str, what: str) -> None: ...

    def check_file(self, name: str, url: str, what: str) -> None: ...


class Index:
    """A read-only client of one simple-API index. With a binding (the policy's rule of
    which indexes may serve which names), every page and file is held to it at its final
    URL, after redirects (GateFailed, exit 14). Each project page is read once per client."""

    def __init__(self, url: str | None = None, binding: Binding | None = None) -> None:
        self._url = url or None  # asked of pip on first use: a cache hit never asks
        self.binding = binding
        self._session: Any = None  # requests loads on first use: a command that never
        # reaches an index starts without it
        self._listings: dict[NormalizedName, Listing] = {}
        self._failed: dict[NormalizedName, FetchError] = {}  # read ahead, said when asked

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = configured_index_url()
        return self._url

    def _connected(self) -> Any:
        if self._session is None:
            self._session = session()
        return self._session

    def project_url(self, name: NormalizedName) -> str:
        return f"{self.url.rstrip('/')}/{name}/"

    def files(self, name: NormalizedName) -> list[IndexFile]:
        return list(self.listing(name).files)

    def listing(self, name: NormalizedName) -> Listing:
        """`name`'s project page (web.get_page's bounds); FetchError where the index does
        not know the name ("no such project"), fails, or serves a page that is not a
        project page: never an empty list for a page it could not read."""
        if name in self._failed:
            raise self._failed[name]
        if name not in self._listings:
            self._listings[name] = self._read(name)
        return self._listings[name]

    def read_ahead(self, names: Iterable[NormalizedName], workers: int = 8) -> None:
        """Read the pages of `names` side by side (each worker with its own session),
        kept for `listing`, which says a page's error when that name is asked for: many
        names cost the slowest page, not the sum of them."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        missing = [n for n in dict.fromkeys(names) if n not in self._listings]
        if len(missing) < 2:
            return
        local = threading.local()

        def one(name: NormalizedName) -> Listing | FetchError:
            if not hasattr(local, "index"):
                local.index = Index(self.url, self.binding)
            mine: Index = local.index
            try:
                return mine._read(name)
            except FetchError as exc:
                return exc

        with ThreadPoolExecutor(min(workers, len(missing))) as pool:
            for name, read in zip(missing, pool.map(one, missing), strict=True):
                if isinstance(read, FetchError):
                    self._failed[name] = read
                else:
                    self._listings[name] = read

    def _read(self, name: NormalizedName) -> Listing:
        page = get_page(self._connected(), self.project_url(name), accept=ACCEPT)
        if page.status == 404:
            raise FetchError(f"{name}: no such project on the index {self.url}")
        if page.status >= 400:
            raise FetchError(f"{name}: the index {self.url} answered {page.status} for "
                             f"{page.url}")  # fmt: skip
        if self.binding is not None:
            self.binding.check(name, page.url, f"the project page of {name} ({page.url})")
        try:
            listed = read_page(page.body, page.content_type, page.url)
        except PageError as exc:
            raise FetchError(
                f"{page.url}: the project page of {name} is malformed: {exc}",
                hint="the index is broken, or not a simple-API index",
            ) from None
        files = tuple(IndexFile(project=name, filename=f.filename, url=f.url,
                                sha256=Sha256(f.sha256) if f.sha256 else None, yanked=f.yanked,
                                upload_time=f.upload_time) for f in listed)  # fmt: skip
        return Listing(url=page.url, files=files)

    def find(self, name: NormalizedName, filename: str) -> IndexFile:
        for f in self.files(name):
            if f.filename == filename:
                return f
        raise FetchError(
            f"{name}: the index {self.url} has no file {filename!r}",
            hint="the file may have been yanked or the index is not the one the recipe used",
        )

    def download(self, f: IndexFile) -> Iterator[bytes]:
        """`f`'s bytes (web.stream_file's bounds), its final URL held to the binding."""
        return stream_file(self._connected(), f.url, where=lambda url: self._bound_file(f, url))

    def _bound_file(self, f: IndexFile, url: str) -> None:
        if self.binding is not None:
            self.binding.check_file(f.project, url, f"{f.filename} ({url})")
