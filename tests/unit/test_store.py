from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from builder.errors import FetchError, StoreError
from builder.names import Sha256
from builder.store import Store
from tests.conftest import json_output


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


def test_verify_finds_corrupt_and_misplaced_objects_and_the_cli_exits_9(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from builder.cli import main

    good = store.add_bytes(b"good")
    bad = store.path_of(store.add_bytes(b"original"))
    bad.chmod(0o644)
    bad.write_bytes(b"corrupted")
    (bad.parent / "not-a-digest").write_bytes(b"?")
    check = store.verify()
    assert (check.objects, check.corrupt, check.misplaced) == (
        3, (str(bad),), (str(bad.parent / "not-a-digest"),)
    )  # fmt: skip
    assert not check.ok
    assert main(["store", "verify", "--store", str(store.root)]) == 9
    err = capsys.readouterr().err
    assert f"object {bad}: its bytes do not hash to its name" in err and "hint:" in err
    bad.unlink()
    (bad.parent / "not-a-digest").unlink()
    assert main(["store", "verify", "--store", str(store.root), "--json"]) == 0
    assert json_output(capsys.readouterr().out, "store-verify")["ok"] is True
    assert store.has(good)


def test_remove_tree_takes_read_only_folders_and_links_to_folders_and_leaves_their_targets(
    tmp_path: Path,
) -> None:
    from builder.store import remove_tree

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.13").mkdir(parents=True)
    (venv / "lib64").symlink_to("lib")  # as venv makes it
    (venv / "out").symlink_to(outside)
    (venv / "lib" / "python3.13" / "f").write_text("x")
    (venv / "lib" / "python3.13").chmod(0o500)
    (venv / "lib").chmod(0o500)
    remove_tree(venv)
    assert not venv.exists() and (outside / "keep").read_text() == "x"


def test_a_new_folder_replaces_the_old_whole_or_not_at_all(tmp_path: Path) -> None:
    from builder.store import new_folder

    out = tmp_path / "site"
    with new_folder(out, made_by="test") as work:
        (work / "old.html").write_text("old")
    with pytest.raises(RuntimeError), new_folder(out, made_by="test") as work:
        (work / "half.html").write_text("half")
        raise RuntimeError("killed half-way")
    assert sorted(p.name for p in out.iterdir()) == [".made-by-builder", "old.html"]
    with new_folder(out, made_by="test") as work:
        (work / "new.html").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [".made-by-builder", "new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"], "nothing left beside it"


@pytest.mark.parametrize("kind", ["file", "folder of the user's"])
def test_a_new_folder_never_replaces_what_builder_did_not_make_unless_forced(
    tmp_path: Path, kind: str
) -> None:
    from builder.errors import UsageError
    from builder.store import new_folder

    out = tmp_path / "out"
    if kind == "file":
        out.write_text("the user's")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("the user's")
    with (
        pytest.raises(UsageError, match=r"not a folder|did not make"),
        new_folder(out, made_by="test") as work,
    ):
        (work / "new.html").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out if kind == "file" else out / "notes.txt").read_text() == "the user's"
    with new_folder(out, made_by="test", force=True) as work:
        (work / "new.html").write_text("new")
    assert (out / "new.html").is_file()
