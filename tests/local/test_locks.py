"""Locks: every file pinned by sha256 and fetched from the one index the lock recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from builder.errors import FetchError
from builder.fetch.sources import fetch_pinned
from builder.index import Index
from builder.names import Sha256, normalize
from builder.progress import Silent
from builder.recipe import PinnedFile
from builder.store import Store
from tests.local.conftest import StaticIndex

UNREACHABLE = "http://127.0.0.1:9/simple/"


def _pin(index: StaticIndex, sha256: str | None = None) -> PinnedFile:
    wheel = index.root / "files" / "requests-2.32.0-py3-none-any.whl"
    digest = sha256 or hashlib.sha256(wheel.read_bytes()).hexdigest()
    return PinnedFile(
        name=normalize("requests"), version="2.32.0", file=wheel.name,
        sha256=Sha256(digest), index=index.url,
    )  # fmt: skip


def test_a_pinned_file_comes_from_the_index_its_lock_recorded(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    _, public = indexes
    store = Store(tmp_path / "store")
    pin = _pin(public)
    fetch_pinned(pin, store, Index(UNREACHABLE), Silent())
    assert store.has(pin.sha256)


def test_a_lock_whose_hash_does_not_match_fails_and_stores_nothing(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    _, public = indexes
    store = Store(tmp_path / "store")
    pin = _pin(public, sha256="0" * 64)
    with pytest.raises(FetchError, match="sha256"):
        fetch_pinned(pin, store, Index(UNREACHABLE), Silent())
    assert not [p for p in store.root.rglob("*") if p.is_file()]
