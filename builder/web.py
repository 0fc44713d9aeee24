"""Bounded HTTP: an index is untrusted, so every page and file builder reads from one has
a total deadline (not a time per read: a server that sends a byte a second is stopped), a
cap on its size once decompressed (a gzip bomb stops at the cap, inflating only as far),
and an error that names the URL. Redirects are followed; the final URL is given to the
caller before a byte is kept, so that it can judge where a page or file really came from.
Sessions trust what pip is told to trust (PIP_CERT, pip.conf's `cert`), unless
REQUESTS_CA_BUNDLE says otherwise.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from builder.errors import FetchError
from builder.pip_config import pip_config_value

if TYPE_CHECKING:
    import requests

PAGE_DEADLINE_S = 30.0  # a whole page, every byte of it
PAGE_LIMIT = 32 << 20  # a page once decompressed (the largest PyPI project pages: a few MB)
CONNECT_S = 10.0
READ_S = 20.0  # the longest wait for any byte, within the deadline
FILE_DEADLINE_S = 1800.0  # a whole file: a 2 GiB wheel at 1.2 MB/s
FILE_LIMIT = 4 << 30  # the largest wheels on PyPI are under 2 GiB
_CHUNK = 1 << 16
_STEP = 1 << 20  # the most one decompression step may give
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # the final URL, after redirects
    status: int
    content_type: str
    body: bytes


def session() -> requests.Session:
    """A requests session that trusts what pip trusts (pip's `cert`), where
    REQUESTS_CA_BUNDLE (which requests reads first) does not say."""
    import requests

    made = requests.Session()
    cert = os.environ.get("PIP_CERT") or pip_config_value("cert")
    if cert and os.path.isfile(cert):
        made.verify = cert
    return made


def get_page(
    session: requests.Session,
    url: str,
    *,
    accept: str,
    limit: int = PAGE_LIMIT,
    deadline_s: float = PAGE_DEADLINE_S,
) -> Page:
    """The page at `url`, whole, within `deadline_s` and `limit` bytes once decompressed;
    FetchError naming the URL otherwise (an HTTP error status is returned, not raised)."""
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    start = time.monotonic()
    headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
    try:
        with session.get(url, headers=headers, stream=True, timeout=(CONNECT_S, READ_S)) as resp:
            body = _read(resp, start, limit, deadline_s)
            kind = resp.headers.get("content-type", "text/html")
            return Page(url=resp.url, status=resp.status_code, content_type=kind, body=body)
    except (requests.RequestException, Urllib3Error, OSError, zlib.error) as exc:
        raise FetchError(f"{url}: cannot be read: {exc}") from exc


def _read(resp: requests.Response, start: float, limit: int, deadline_s: float) -> bytes:
    """The body, decoded here (not by urllib3) so that its size is capped as it inflates."""
    encoding = resp.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", *_DECODERS):
        raise FetchError(f"{resp.url}: an encoding builder did not ask for ({encoding})")
    inflate = zlib.decompressobj(_DECODERS[encoding]) if encoding in _DECODERS else None
    chunks: list[bytes] = []
    size = 0
    while raw := _next(resp, start, deadline_s):
        while raw:  # inflated a step at a time: no step holds more than _STEP
            if inflate is None:
                out, raw = raw, b""
            else:
                out, raw = inflate.decompress(raw, _STEP), inflate.unconsumed_tail
            size += len(out)
            if size > limit:
                raise FetchError(
                    f"{resp.url}: the page is over {limit >> 20} MiB once decompressed: "
                    "refused", hint="an index page that large is an attack or a broken index",
                )  # fmt: skip
            chunks.append(out)
    return b"".join(chunks)


def _next(resp: requests.Response, start: float, deadline_s: float) -> bytes:
    """The next bytes the server sent (as soon as any came), within the deadline."""
    _in_time(resp.url, start, deadline_s)
    return bytes(resp.raw.read1(_CHUNK, decode_content=False))


def _in_time(url: str, start: float, deadline_s: float) -> None:
    if time.monotonic() - start > deadline_s:
        raise FetchError(
            f"{url}: not read whole within {deadline_s:.0f} s: refused",
            hint="the index sends too slowly (or on purpose, a byte at a time)",
        )


def stream_file(
    session: requests.Session,
    url: str,
    *,
    where: Callable[[str], None],
    limit: int = FILE_LIMIT,
    deadline_s: float = FILE_DEADLINE_S,
    status: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The file at `url`, a chunk at a time, within `deadline_s` and `limit` bytes; its
    final URL (after redirects) is passed to `where` before any byte is given, which may
    refuse it by raising, and its HTTP status to `status`. FetchError naming the URL
    otherwise (an HTTP error status included)."""
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    start = time.monotonic()
    headers = {"Accept-Encoding": "identity"}
    try:
        with session.get(url, headers=headers, stream=True, timeout=(CONNECT_S, READ_S)) as resp:
            where(resp.url)
            if status is not None:
                status(resp.status_code)
            if resp.status_code >= 400:
                raise FetchError(f"{url}: the server answered {resp.status_code}")
            size = 0
            while chunk := _next(resp, start, deadline_s):
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{resp.url}: over {limit >> 20} MiB: refused",
                                     hint="a file that large is an attack or a broken "
                                     "index")  # fmt: skip
                yield chunk
    except (requests.RequestException, Urllib3Error, OSError) as exc:
        raise FetchError(f"{url}: cannot be read: {exc}") from exc
