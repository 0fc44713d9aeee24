"""An index is untrusted: pages it serves whole or not at all, bombs, a byte a second, an
internal index that fails, sdists in every archive form pip takes. Real servers on
127.0.0.1, real pip, builder run as a user runs it."""

from __future__ import annotations

import contextlib
import html
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from builder.errors import FetchError
from builder.web import session, stream_file
from tests.fixtures.json_index import served
from tests.local.conftest import StaticIndex

Answer = Callable[[BaseHTTPRequestHandler], None]
NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null", "UV_NO_CONFIG": "1"}


@cache
def gzip_bomb() -> bytes:
    """1 GiB of spaces, gzip-compressed (about 1 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(1024)) + packer.flush()


def _drip(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(100000):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def _status(
    code: int,
    body: bytes | Callable[[], bytes] = b"",
    kind: str = "text/html",
    encoding: str | None = None,
) -> Answer:
    """An answer with this status and body (made when asked for, if a callable)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        sent = body() if callable(body) else body
        handler.send_response(code)
        handler.send_header("Content-Type", kind)
        if encoding is not None:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(sent)))
        handler.end_headers()
        handler.wfile.write(sent)

    return answer


_bomb = _status(200, gzip_bomb, encoding="gzip")
_gzip_garbage = _status(200, b"\x1f\x8b\x08\x00" + b"not deflate at all" * 10, encoding="gzip")


@contextmanager
def hostile(answers: dict[str, Answer]) -> Iterator[str]:
    """An index whose project pages are `answers` by name (404 for the rest)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.strip("/").split("/")[-1]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                answers.get(name, _status(404))(self)  # builder may hang up: as it should

        def log_message(self, format: str, *args: object) -> None:
            pass

    with served(Handler) as url:  # type: ignore[arg-type]
        yield url


def _policy(tmp_path: Path, internal: str, public: str) -> Path:
    path = tmp_path / "builder.toml"
    path.write_text(f'[indexes]\ninternal = ["{internal}"]\npublic = ["{public}"]\n'
                    '[names]\ninternal = ["acme-*"]\n')  # fmt: skip
    return path


# Runs a command and prints the largest resident size it reached (KiB). The command is
# forked from this small process: one forked from pytest itself would count pytest's
# pages, which a child keeps in its peak until it execs.
PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _check(name: str, policy: Path, tmp_path: Path) -> tuple[int, str, float, int]:
    """`builder check --name NAME` as a user runs it: exit code, stderr, seconds, and the
    largest resident size it reached (MiB)."""
    mine = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "UV_FIND_LINKS")}
    env = mine | NO_CONFIG | {"BUILDER_STORE": str(tmp_path / "store")}
    start = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, "-m", "builder", "check", "--name", name,
         "--policy", str(policy), "--offline"],
        capture_output=True, env=env, text=True, check=False,
    )  # fmt: skip
    return ran.returncode, ran.stderr, time.monotonic() - start, int(ran.stdout) // 1024


def test_a_gzip_bomb_for_a_page_is_refused_inflating_no_further_than_the_cap(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    internal, _ = indexes
    gzip_bomb()  # made before it is asked for: making it takes seconds, not the server's
    with hostile({"acme-triton": _bomb}) as public:
        code, said, _, peak_mib = _check("acme-triton", _policy(tmp_path, internal.url, public),
                                         tmp_path)  # fmt: skip
    assert code == 4, said
    assert "over 32 MiB once decompressed" in said and public in said
    assert peak_mib < 200, f"{peak_mib} MiB resident"


def test_a_page_sent_a_byte_a_second_is_cut_at_the_deadline(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    _, public = indexes
    with hostile({"acme-triton": _drip}) as internal:
        code, said, seconds, _ = _check("acme-triton", _policy(tmp_path, internal, public.url),
                                        tmp_path)  # fmt: skip
    assert code == 4 and "not read whole within 30 s" in said, said
    assert seconds < 60, "the deadline is for the whole page, not for each read"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (_status(500), "answered 500"),
        (_status(503), "answered 503"),
        (_status(200, b"{not json", "application/vnd.pypi.simple.v1+json"), "is malformed"),
        (_status(200, b'{"meta": {"api-version": "9.0"}}',
                 "application/vnd.pypi.simple.v1+json"), "is malformed"),
        (_status(200, b"\x00\x01", "application/octet-stream"), "is malformed"),
        (_gzip_garbage, "cannot be read"),
    ],
    ids=["500", "503", "not JSON", "a future API version", "not a page", "broken gzip"],
)  # fmt: skip
def test_an_internal_index_that_fails_is_an_error_never_not_internal(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, answer: Answer, said: str
) -> None:
    """`acme-triton` is internal because the internal index hosts it; the public index has a
    newer one. Whatever the internal index's failure, the gate must not take the name as
    public."""
    _, public = indexes
    with hostile({"acme-triton": answer}) as internal:
        code, err, _, _ = _check("acme-triton", _policy(tmp_path, internal, public.url),
                                 tmp_path)  # fmt: skip
    assert code == 4 and said in err, err


def test_a_name_an_internal_index_lists_on_an_empty_page_is_internal(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    """The public index serves `requests`; an internal index that hosts the name (even with
    no files yet) makes the public one a confusion."""
    _, public = indexes
    empty = _status(200, b"<!DOCTYPE html><html><body></body></html>")
    with hostile({"requests": empty}) as internal:
        code, said, _, _ = _check("requests", _policy(tmp_path, internal, public.url), tmp_path)
    assert code == 14 and "confusion" in said, said


def test_an_internal_name_no_internal_index_hosts_is_refused(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    internal, public = indexes
    code, said, _, _ = _check("acme-nowhere", _policy(tmp_path, internal.url, public.url),
                              tmp_path)  # fmt: skip
    assert code == 14 and "no internal index hosts it" in said, said


@pytest.mark.parametrize("suffix", [".tar.bz2", ".tgz", ".tar.xz", ".tar", ".zip"])
def test_a_public_sdist_in_any_archive_form_pip_takes_counts_as_a_release(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, suffix: str
) -> None:
    internal, public = indexes
    sdist = f"acme_core-9.0{suffix}"
    (public.root / "files").mkdir(exist_ok=True)
    (public.root / "files" / sdist).write_bytes(b"the attacker's sdist")
    page = public.root / "simple" / "acme-core"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        f'<!DOCTYPE html><html><body><a href="../../files/{sdist}">{html.escape(sdist)}</a>'
        "</body></html>\n"
    )
    internal.add("acme-core", "1.0", "internal")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "acme-core",
         "--disable-pip-version-check", "--index-url", internal.url,
         "--extra-index-url", public.url],
        capture_output=True, text=True, env=os.environ | NO_CONFIG, check=True,
    )  # fmt: skip
    assert "acme-core (9.0)" in pip.stdout, "real pip takes the public sdist as the newest"
    code, said, _, _ = _check("acme-core", _policy(tmp_path, internal.url, public.url),
                              tmp_path)  # fmt: skip
    assert code == 14 and "9.0" in said, said


def test_a_file_larger_than_the_cap_is_cut_naming_its_url() -> None:
    big = _status(200, b"x" * (3 << 20), "application/octet-stream")
    with hostile({"big.whl": big}) as url:
        chunks = stream_file(session(), f"{url}big.whl", where=lambda _: None, limit=1 << 20)
        with pytest.raises(FetchError, match=r"big\.whl: over 1 MiB: refused"):
            b"".join(chunks)


def test_a_file_sent_a_byte_a_second_is_cut_at_the_deadline() -> None:
    with hostile({"slow.whl": _drip}) as url:
        start = time.monotonic()
        chunks = stream_file(session(), f"{url}slow.whl", where=lambda _: None, deadline_s=2)
        with pytest.raises(FetchError, match=r"slow\.whl: not read whole within 2 s"):
            b"".join(chunks)
    assert time.monotonic() - start < 10, "the deadline is for the whole file"


def test_a_file_is_refused_at_its_final_url_before_a_byte_is_kept() -> None:
    kept: list[bytes] = []

    def refuse(final: str) -> None:
        raise FetchError(f"refused {final}")

    with (
        hostile({"file.whl": _status(200, b"attacker")}) as url,
        pytest.raises(FetchError, match=r"refused .*file\.whl"),
    ):
        kept.extend(stream_file(session(), f"{url}file.whl", where=refuse))
    assert kept == []
