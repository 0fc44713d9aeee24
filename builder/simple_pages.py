"""A project page of the simple repository API, read with the standard library: PEP 691
JSON (with PEP 700 upload times) or PEP 503 HTML (with PEP 592 yanks), major version 1.

The gate reads one for every name it checks; pypi-simple's parser imports pydantic,
which took most of `builder check`'s start-up. Anything that is not such a page is a
PageError naming what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


class PageError(ValueError):
    """Not a project page of the simple API that builder reads."""


@dataclass(frozen=True, slots=True)
class PageFile:
    filename: str
    url: str  # absolute, without its fragment
    sha256: str | None
    yanked: bool
    upload_time: datetime | None


def read_page(body: bytes, content_type: str, base_url: str) -> list[PageFile]:
    """The files a project page lists, by its content type; a page listing two different
    files (URL or sha256) under one file name is a PageError (which one a client takes
    would be up to it)."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind == JSON_TYPE:
        return _one_each(_json_files(body, base_url))
    if kind in HTML_TYPES:
        return _one_each(_html_files(body, base_url))
    raise PageError(f"a {kind or 'typeless'} answer, not a project page")


def _one_each(files: list[PageFile]) -> list[PageFile]:
    """`files`, each file name once: a name listed again for the same file is dropped."""
    seen: dict[str, PageFile] = {}
    for f in files:
        first = seen.setdefault(f.filename, f)
        if (first.url, first.sha256) != (f.url, f.sha256):
            raise PageError(f"two different files are listed as {f.filename}")
    return list(seen.values())


def _json_files(body: bytes, base_url: str) -> list[PageFile]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PageError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PageError("not a JSON object")
    _major_one(str((data.get("meta") or {}).get("api-version", "")))
    files = data.get("files")
    if not isinstance(files, list):
        raise PageError("no files list")
    return [_json_file(entry, base_url) for entry in files]


def _json_file(entry: Any, base_url: str) -> PageFile:
    try:
        hashes = entry.get("hashes") or {}
        uploaded = entry.get("upload-time")
        return PageFile(
            filename=str(entry["filename"]),
            url=urljoin(base_url, str(entry["url"])),
            sha256=str(hashes["sha256"]) if "sha256" in hashes else None,
            yanked=bool(entry.get("yanked", False)),
            upload_time=datetime.fromisoformat(uploaded) if uploaded is not None else None,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise PageError(f"a file entry that is not one: {exc!r}") from None


def _major_one(version: str) -> None:
    if version and version.split(".", maxsplit=1)[0] != "1":
        raise PageError(f"API version {version}, of which builder reads 1.x only")


def _html_files(body: bytes, base_url: str) -> list[PageFile]:
    reader = _Anchors()
    try:
        reader.feed(body.decode("utf-8"))
        reader.close()
    except UnicodeDecodeError as exc:
        raise PageError(f"not UTF-8 text: {exc}") from None
    _major_one(reader.api_version)
    base = urljoin(base_url, reader.base) if reader.base else base_url
    files = []
    for href, yanked, text in reader.anchors:
        url, fragment = urldefrag(urljoin(base, href))
        algorithm, _, digest = fragment.partition("=")
        name = text.strip() or url.rsplit("/", 1)[-1]
        files.append(PageFile(filename=name, url=url,
                              sha256=digest if algorithm == "sha256" and digest else None,
                              yanked=yanked, upload_time=None))  # fmt: skip
    return files


class _Anchors(HTMLParser):
    """The page's links (href, yanked, text), its <base href> and its API version."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, bool, str]] = []
        self.base = ""
        self.api_version = ""
        self._open: tuple[str, bool] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self._open, self._text = (str(found["href"]), "data-yanked" in found), []
        elif tag == "base" and found.get("href"):
            self.base = str(found["href"])
        elif tag == "meta" and found.get("name") == "pypi:repository-version":
            self.api_version = str(found.get("content") or "")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((*self._open, "".join(self._text)))
            self._open = None
