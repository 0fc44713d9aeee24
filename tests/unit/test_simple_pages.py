"""Project pages of the simple API, read with the standard library (builder/simple_pages.py):
PEP 503 HTML and PEP 691 JSON as pip reads them, anything else refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from builder.simple_pages import JSON_TYPE, PageError, PageFile, read_page

BASE = "https://index.example/simple/acme/"


def test_an_html_page_gives_its_links_hashes_yanks_and_base() -> None:
    page = b"""<!DOCTYPE html><html><head>
    <meta name="pypi:repository-version" content="1.1"><base href="https://files.example/x/">
    </head><body>
    <a href="../f/acme-1.0.tar.bz2#sha256=ab12">acme-1.0.tar.bz2</a>
    <a href="acme-2.0-py3-none-any.whl" data-yanked="">acme-2.0-py3-none-any.whl</a>
    </body></html>"""
    assert read_page(page, "text/html; charset=utf-8", BASE) == [
        PageFile("acme-1.0.tar.bz2", "https://files.example/f/acme-1.0.tar.bz2", "ab12", False,
                 None),
        PageFile("acme-2.0-py3-none-any.whl", "https://files.example/x/acme-2.0-py3-none-any.whl",
                 None, True, None),
    ]  # fmt: skip


def test_a_json_page_gives_its_files_with_upload_times() -> None:
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "acme", "files": [
        {"filename": "acme-1.0.tar.gz", "url": "../../files/acme-1.0.tar.gz",
         "hashes": {"sha256": "cd34"}, "upload-time": "2026-11-01T10:00:00.000000Z",
         "yanked": "broken"},
    ]}).encode()  # fmt: skip
    (found,) = read_page(page, JSON_TYPE, BASE)
    assert found.url == "https://index.example/files/acme-1.0.tar.gz" and found.yanked
    assert found.upload_time == datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "kind", "said"),
    [
        (b"{}", JSON_TYPE, "no files list"),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', JSON_TYPE, "API version 2.0"),
        (b'<meta name="pypi:repository-version" content="2.0">', "text/html", "API version"),
        (b'{"files": [{"url": "x"}]}', JSON_TYPE, "a file entry that is not one"),
        (b'{"files": [{"filename": "a", "url": "x", "upload-time": "noon"}]}', JSON_TYPE,
         "not one"),
        (b"\xff\xfe", "text/html", "not UTF-8"),
        (b"PK\x03\x04", "application/zip", "not a project page"),
    ],
)  # fmt: skip
def test_what_is_not_a_project_page_is_refused_saying_why(
    body: bytes, kind: str, said: str
) -> None:
    with pytest.raises(PageError, match=said):
        read_page(body, kind, BASE)
