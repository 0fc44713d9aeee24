"""Trees the store derives (an unpacked image, prepared venvs), sealed by a manifest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builder.errors import StoreError
from builder.images import Image
from builder.progress import Silent
from builder.sandbox import bwrap
from builder.store import Store
from builder.store_trees import check_on_use, differences, manifest_path, seal


def _tree(store: Store) -> Path:
    tree = store.root / "rootfs" / "t"
    (tree / "usr" / "include").mkdir(parents=True)
    (tree / "usr" / "include" / "a.h").write_text("#define A 1\n")
    (tree / "bin").symlink_to("usr/bin")
    seal(tree, tree)
    return tree


def test_a_sealed_tree_checks_clean_by_stat_and_by_content(store: Store) -> None:
    tree = _tree(store)
    assert differences(tree, contents=False) == differences(tree, contents=True) == []
    assert check_on_use(tree, "the tree", store)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("changed", "usr/include/a.h: changed"),
        ("removed", "usr/include/a.h: removed"),
        ("added", "usr/include/b.h: added"),
        ("relinked", "bin: changed"),
        ("chmod", "usr/include/a.h: changed"),
    ],
)
def test_a_damaged_tree_is_said_and_removed_on_use(store: Store, fault: str, said: str) -> None:
    tree = _tree(store)
    header = tree / "usr" / "include" / "a.h"
    if fault == "changed":
        header.unlink()
        header.write_text("#define A 2\n")
    elif fault == "removed":
        header.unlink()
    elif fault == "added":
        (tree / "usr" / "include" / "b.h").write_text("")
    elif fault == "relinked":
        (tree / "bin").unlink()
        (tree / "bin").symlink_to("/tmp")
    else:
        header.chmod(0o777)
    with pytest.raises(StoreError, match=said):
        check_on_use(tree, "the tree", store)
    assert not tree.exists() and not manifest_path(tree).exists()
    assert list((store.root / "tmp").iterdir()) == []


def test_a_change_that_keeps_size_and_time_is_found_by_content(store: Store) -> None:
    tree = _tree(store)
    header = tree / "usr" / "include" / "a.h"
    before = header.stat()
    header.write_text("#define A 9\n")
    os.utime(header, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert differences(tree, contents=False) == []
    assert differences(tree, contents=True) == ["usr/include/a.h: changed"]


def test_a_tree_without_a_manifest_is_removed_to_be_made_anew(store: Store) -> None:
    tree = _tree(store)
    manifest_path(tree).unlink()
    assert not check_on_use(tree, "the tree", store)
    assert not tree.exists()


def test_the_unpacked_image_is_checked_once_per_run_and_again_by_the_next(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph's builds share one sandbox: the first prepare checks the image's files, the
    others of that run reuse the check; the next run's sandbox checks them again."""
    monkeypatch.setattr(bwrap, "find_bwrap", lambda: "bwrap")
    monkeypatch.setattr(bwrap, "bwrap_version", lambda path: (0, 8, 0))
    digest = "a" * 64
    tree = store.root / "rootfs" / digest
    (tree / "usr").mkdir(parents=True)
    (tree / "usr" / "a.h").write_text("#define A 1\n")
    seal(tree, tree)
    image = Image(name="test", digest=digest, definition_sha256="b" * 64, packages=(),
                  tools=(), made_on="2026-12-07")  # fmt: skip
    run = bwrap.BwrapSandbox()
    run.prepare(image, store, Silent())
    (tree / "usr" / "b.h").write_text("")  # after this run's check
    run.prepare(image, store, Silent())
    with pytest.raises(StoreError, match=r"usr/b\.h: added"):
        bwrap.BwrapSandbox().prepare(image, store, Silent())
    assert not tree.exists()
