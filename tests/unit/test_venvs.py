"""Prepared build venvs: what their key covers, and what their archive may hold."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path

import pytest

from builder.errors import StoreError
from builder.fetch.sources import Sources
from builder.images import Image
from builder.names import Sha256
from builder.recipe import PinnedFile, load_recipe
from builder.store import Store
from builder.store_trees import check_on_use, differences
from builder.wheelbuild.venvs import (
    MANIFEST,
    PreparedVenvs,
    _read_manifest,
    _unpack,
    place,
    venvs_key,
)
from tests.conftest import REPO


@pytest.fixture
def image() -> Image:
    return Image(
        name="trixie-py", digest=Sha256("28" * 32), definition_sha256=Sha256("ab" * 32),
        packages=(), tools=(), made_on="2026-11-01T00:00:00+00:00",
    )  # fmt: skip


@pytest.fixture
def sources() -> Sources:
    recipe = load_recipe(REPO / "recipes" / "markupsafe.toml")
    return Sources(sdist=recipe.sdist, requires=recipe.requires, tools=(), crates=())


def test_the_key_changes_with_the_image_and_each_pinned_wheel(
    image: Image, sources: Sources
) -> None:
    key = venvs_key(image, sources)
    other_image = dataclasses.replace(image, digest=Sha256("29" * 32))
    pin = sources.requires[0]
    changed_pin = dataclasses.replace(pin, sha256=Sha256("00" * 32))
    changed_wheel = dataclasses.replace(sources, requires=(changed_pin, *sources.requires[1:]))
    tool = PinnedFile(name="build", version="1", file="build-1-py3-none-any.whl",
                      sha256=Sha256("11" * 32))  # fmt: skip
    with_tool = dataclasses.replace(sources, tools=(tool,))
    variants = [(other_image, sources), (image, changed_wheel), (image, with_tool)]
    assert len({key, *(venvs_key(i, s) for i, s in variants)}) == 4
    assert venvs_key(image, sources) == key


def test_the_sdist_is_not_part_of_the_key(image: Image, sources: Sources) -> None:
    other_sdist = dataclasses.replace(sources.sdist, sha256=Sha256("ee" * 32))
    assert venvs_key(image, dataclasses.replace(sources, sdist=other_sdist)) == venvs_key(
        image, sources
    )


def _tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w") as tar:
        for member in members:
            data = b"x" if member.isfile() else None
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_the_venvs_own_absolute_links_unpack(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "v.tar", [
        _member("./venv", tarfile.DIRTYPE), _member("./venv/bin", tarfile.DIRTYPE),
        _member("./venv/bin/python3", tarfile.SYMTYPE, "/usr/bin/python3"),
        _member("./venv/pyvenv.cfg"),
    ])  # fmt: skip
    _unpack(archive, tmp_path / "out")
    assert (tmp_path / "out/venv/bin/python3").readlink() == Path("/usr/bin/python3")
    assert (tmp_path / "out/venv/pyvenv.cfg").read_bytes() == b"x"


@pytest.mark.parametrize(
    "member",
    [
        _member("./venv/dev", tarfile.CHRTYPE),
        _member("./venv/hard", tarfile.LNKTYPE, "/etc/passwd"),
        _member("../escape"),
    ],
    ids=["device", "hard link out", "outside"],
)
def test_anything_else_in_the_archive_is_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = _tar(tmp_path / "v.tar", [_member("./venv/pyvenv.cfg"), member])
    with pytest.raises(StoreError, match="venvs archive is refused"):
        _unpack(archive, tmp_path / "out")
    assert not (tmp_path / "escape").exists()


def test_a_manifest_of_another_key_is_refused_and_the_venvs_removed(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    folder = store.root / "venvs" / "mine"
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text('{"key": "other", "archive_sha256": "00"}')
    with pytest.raises(StoreError, match="made for key other"):
        _read_manifest(folder, "mine", store)
    assert not folder.exists(), "removed, so that the next run makes them again"


def test_two_runs_placing_the_same_venvs_at_once_leave_a_tree_that_checks_clean(
    tmp_path: Path,
) -> None:
    """The second run seals its own copy, then finds the first's in place: its manifest,
    written last, must describe the first's tree (or a build then in it loses its venvs)."""
    store = Store(tmp_path / "store")
    venvs = tmp_path / "venvs.tar"
    with tarfile.open(venvs, "w") as tar:
        info = tarfile.TarInfo("venv/bin/tool")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    target = store.root / "venvs" / "k"
    prepared = PreparedVenvs(key="k", path=target, archive_sha256=store.add_file(venvs))
    place(prepared, store)
    _wait_for_the_clock_to_move(tmp_path)  # the second unpack's files are younger
    place(prepared, store)
    assert check_on_use(target, "the venvs", store)
    assert differences(target, contents=True) == []


def _wait_for_the_clock_to_move(folder: Path) -> None:
    """Return once a file written now gets a later time than one written before: the
    file system's clock is coarse (a few milliseconds)."""
    before = folder / "clock-before"
    before.write_bytes(b"")
    after = folder / "clock-after"
    after.write_bytes(b"")
    while after.stat().st_mtime_ns <= before.stat().st_mtime_ns:
        after.write_bytes(b"")
