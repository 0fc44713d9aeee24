from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from builder.errors import FetchError, StoreError
from builder.names import Sha256
from builder.store import Store


def test_objects_are_stored_by_their_sha256_and_read_only(store: Store) -> None:
    digest = store.add_bytes(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    path = store.verified_path(digest, "hello")
    assert path.read_bytes() == b"hello"
    assert path.stat().st_mode & 0o222 == 0


def test_bytes_that_do_not_match_the_pin_are_refused_and_nothing_is_left(store: Store) -> None:
    pinned = Sha256("0" * 64)
    with pytest.raises(FetchError, match="sha256 mismatch"):
        store.add_stream([b"tampered"], expected=pinned, what="x.tar.gz")
    assert not store.has(pinned)
    assert list((store.root / "tmp").iterdir()) == []
    assert all(p.is_dir() for p in (store.root / "objects").rglob("*"))


def test_a_corrupted_object_is_refused_on_use(store: Store) -> None:
    digest = store.add_bytes(b"original")
    path = store.path_of(digest)
    path.chmod(0o644)
    path.write_bytes(b"corrupted")
    with pytest.raises(StoreError, match="is corrupt") as info:
        store.verified_path(digest, "sdist")
    assert info.value.hint is not None and str(path) in info.value.hint


def test_records_are_written_atomically_and_read_back(store: Store, tmp_path: Path) -> None:
    store.write_record("k", {"output": {"sha256": "x"}})
    assert store.read_record("k") == {"output": {"sha256": "x"}}
    assert [p.name for p in (store.root / "builds").iterdir()] == ["k.json"]
    assert store.read_record("absent") is None
