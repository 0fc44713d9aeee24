"""An image's archive for an index: gzip with an empty header (the same tar gives the same
bytes), made once per digest, and read back only as far as its cap."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from builder.errors import FetchError
from builder.images.archive import compress, compressed_archive, decompress
from builder.progress import Silent
from builder.store import Store


def test_the_compressed_archive_is_the_same_bytes_every_time_and_made_once(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(os.urandom(1 << 16) + b"\0" * (3 << 20))
    digest = store.add_file(tar)
    first = compressed_archive(store, digest, Silent())
    assert gzip.decompress(first.read_bytes()) == tar.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0", "no time in the header"
    made = first.stat().st_mtime_ns
    again = compressed_archive(store, digest, Silent())
    assert again == first and again.stat().st_mtime_ns == made, "made once"
    other = Store(tmp_path / "other")
    assert compressed_archive(other, other.add_file(tar), Silent()).name == first.name


def test_decompressing_stops_at_the_cap_and_at_a_truncated_stream() -> None:
    packed = b"".join(compress([b"\0" * (8 << 20)]))
    with pytest.raises(FetchError, match="over"):
        b"".join(decompress([packed], limit=1 << 20, what="image x"))
    with pytest.raises(FetchError, match="ends before its end"):
        b"".join(decompress([packed[: len(packed) // 2]], limit=1 << 30, what="image x"))
    with pytest.raises(FetchError, match="not a gzip stream"):
        b"".join(decompress([b"not gzip at all"], limit=1 << 30, what="image x"))
