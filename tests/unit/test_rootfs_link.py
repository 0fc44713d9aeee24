"""A machine's stores share one unpacked root filesystem: linked, not copied."""

from __future__ import annotations

import os
from pathlib import Path

from builder.sandbox.bwrap import link_rootfs
from builder.store import Store
from builder.store_trees import differences, seal

DIGEST = "a" * 64


def _unpacked(store: Store) -> Path:
    rootfs = store.root / "rootfs" / DIGEST
    (rootfs / "usr" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "bin" / "python3").write_bytes(b"\x7fELF")
    (rootfs / "bin").symlink_to("usr/bin")
    (rootfs / "etc").mkdir(mode=0o555)
    seal(rootfs, rootfs)
    return rootfs


def test_a_store_gets_anothers_unpacked_rootfs_as_hard_links(tmp_path: Path) -> None:
    head, worker = Store(tmp_path / "head"), Store(tmp_path / "worker")
    rootfs = _unpacked(head)
    assert link_rootfs(DIGEST, head, worker)
    linked = worker.root / "rootfs" / DIGEST
    file = Path("usr/bin/python3")
    assert (linked / file).stat().st_ino == (rootfs / file).stat().st_ino
    assert os.readlink(linked / "bin") == "usr/bin"
    assert (linked / "etc").stat().st_mode & 0o777 == 0o555
    assert differences(linked, contents=True) == [], "its manifest came with it, and holds"
    assert list((worker.root / "tmp").iterdir()) == []


def test_a_damaged_unpacked_rootfs_is_not_linked(tmp_path: Path) -> None:
    head, worker = Store(tmp_path / "head"), Store(tmp_path / "worker")
    rootfs = _unpacked(head)
    (rootfs / "usr" / "bin" / "python3").write_bytes(b"\x7fELF and more")
    assert not link_rootfs(DIGEST, head, worker)
    assert not (worker.root / "rootfs" / DIGEST).exists()


def test_nothing_is_linked_where_the_source_has_not_unpacked_the_image(tmp_path: Path) -> None:
    head, worker = Store(tmp_path / "head"), Store(tmp_path / "worker")
    assert not link_rootfs(DIGEST, head, worker)
    assert not (worker.root / "rootfs").exists()
    assert list((worker.root / "tmp").iterdir()) == []
