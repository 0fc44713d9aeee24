"""An image's archive as an index serves it: gzip-compressed, made once per digest.

The store keeps the image's root filesystem archive by its digest (the sha256 of the
tar: the image's identity). For an index it also keeps that tar compressed, as an object
of its own, made once and named beside the image's records; an index on the same
filesystem links it rather than copying it. The compression is deterministic (no name,
no time in the gzip header), so the same image gives the same archive everywhere. An
auditor's fetch decompresses it as it comes, and stores it only if the tar hashes to the
digest.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from builder.errors import FetchError
from builder.names import Sha256, is_sha256
from builder.progress import Progress
from builder.store import Store, write_atomic

SUFFIX = ".tar.gz"
LEVEL = 6
_GZIP = 16 + zlib.MAX_WBITS
_STEP = 1 << 20


def compressed_archive(store: Store, digest: Sha256, progress: Progress) -> Path:
    """The image's archive, gzip-compressed, from the store (made there the first time)."""
    named = store.root / "images" / "archives" / f"{digest}.json"
    try:
        found = json.loads(named.read_text(encoding="utf-8"))["gzip_sha256"]
        if is_sha256(found) and store.has(Sha256(found)):
            return store.verified_path(Sha256(found), f"image {digest[:12]}{SUFFIX}")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    tar = store.verified_path(digest, f"image {digest[:12]}")
    progress.status(f"compressing image {digest[:12]} for the index (once)")
    with tar.open("rb") as f:
        made = store.add_stream(compress(iter(lambda: f.read(_STEP), b"")), expected=None,
                                what=f"image {digest[:12]}{SUFFIX}")  # fmt: skip
    named.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(named, json.dumps({"digest": digest, "gzip_sha256": made}).encode())
    return store.path_of(made)


def compress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks` as one gzip stream with an empty header (no name, time 0)."""
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP)
    for chunk in chunks:
        if out := packer.compress(chunk):
            yield out
    yield packer.flush()


def decompress(chunks: Iterable[bytes], *, limit: int, what: str) -> Iterator[bytes]:
    """A gzip stream's bytes, inflated a step at a time, at most `limit` of them."""
    inflate = zlib.decompressobj(_GZIP)
    size = 0
    try:
        for chunk in chunks:
            raw = chunk
            while raw:
                out, raw = inflate.decompress(raw, _STEP), inflate.unconsumed_tail
                size += len(out)
                if size > limit:
                    raise FetchError(f"{what}: over {limit >> 20} MiB once decompressed: refused")
                yield out
        if not inflate.eof:
            raise FetchError(f"{what}: the gzip stream ends before its end")
    except zlib.error as exc:
        raise FetchError(f"{what}: not a gzip stream: {exc}") from exc
