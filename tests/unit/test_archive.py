"""Hostile archives are refused at extraction, naming the member; nothing is left behind."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from builder.errors import ArchiveError, StoreError
from builder.inside.archive import (
    ArchiveLimits,
    check,
    latest_mtime,
    read_members,
    single_top_dir,
    unpack,
)
from tests.conftest import make_sdist


def tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_a_plain_sdist_unpacks_into_one_top_directory(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path / "p-1.0.tar.gz", {"setup.py": "x", "p/__init__.py": ""}, top="p-1.0"
    )
    unpack(sdist, tmp_path / "out")
    top = single_top_dir(tmp_path / "out", sdist)
    assert (top / "setup.py").read_text() == "x"
    assert latest_mtime(sdist) == 1700000000


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (entry("p-1.0/../../evil"), "outside the archive"),
        (entry("/etc/evil"), "absolute path"),
        (entry("p-1.0/link", tarfile.SYMTYPE, "../../../etc/passwd"), "links outside"),
        (entry("p-1.0/abs", tarfile.SYMTYPE, "/etc/passwd"), "links to absolute path"),
        (entry("p-1.0/hard", tarfile.LNKTYPE, "/etc/passwd"), "absolute path"),
        (entry("p-1.0/dev", tarfile.CHRTYPE), "device"),
        (entry("p-1.0/fifo", tarfile.FIFOTYPE), "device or fifo"),
    ],
)
def test_hostile_tar_members_are_refused_by_name(
    tmp_path: Path, member: tarfile.TarInfo, message: str
) -> None:
    data = b"x" if member.type == tarfile.REGTYPE else None
    sdist = tar_with(tmp_path / "p-1.0.tar.gz", (entry("p-1.0/ok.txt"), b"fine"), (member, data))
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=message) as info:
        unpack(sdist, out)
    assert repr(member.name) in info.value.message
    assert list(out.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    sdist = tar_with(tmp_path / "p.tar.gz", (entry("p/a.py"), b"1"), (entry("p/a.py"), b"2"))
    with pytest.raises(ArchiveError, match=r"'p/a\.py' appears more than once, not the same"):
        unpack(sdist, tmp_path / "out")
    executable = entry("p/a.py")
    executable.mode = 0o755
    other_mode = tar_with(tmp_path / "m.tar.gz", (entry("p/a.py"), b"1"), (executable, b"1"))
    with pytest.raises(ArchiveError, match="appears more than once"):
        check(other_mode)


def test_a_file_repeated_byte_for_byte_is_unpacked_once(tmp_path: Path) -> None:
    """pyarrow's sdist carries LICENSE.txt twice, the same bytes: nothing is ambiguous."""
    license_text = b"Apache License\n" * 1000
    sdist = tar_with(tmp_path / "p-1.0.tar.gz", (entry("p-1.0/LICENSE.txt"), license_text),
                     (entry("p-1.0/setup.py"), b"x"), (entry("p-1.0/LICENSE.txt"), license_text),
                     (entry("p-1.0/later.py"), b"y"))  # fmt: skip
    check(sdist)
    unpack(sdist, tmp_path / "out")
    top = tmp_path / "out" / "p-1.0"
    assert sorted(p.name for p in top.iterdir()) == ["LICENSE.txt", "later.py", "setup.py"]
    assert (top / "LICENSE.txt").read_bytes() == license_text
    assert (top / "later.py").read_bytes() == b"y", "the walk goes on where it was"


def test_repeats_are_few_and_their_bytes_count_against_the_limit(tmp_path: Path) -> None:
    """Each repeat is read back and compared: an archive of many repeats, or of big ones,
    would cost decompressing it again and again."""
    from builder.inside.archive import MAX_REPEATS

    many = [(entry("p/a"), b"x")] * (MAX_REPEATS + 2)
    with pytest.raises(ArchiveError, match=f"more than {MAX_REPEATS} repeated members"):
        check(tar_with(tmp_path / "many.tar.gz", *many))
    big = b"\0" * (600 << 10)
    twice = tar_with(tmp_path / "big.tar.gz", (entry("p/z"), big), (entry("p/z"), big))
    check(twice, ArchiveLimits(max_bytes=2 << 20))
    with pytest.raises(ArchiveError, match="exceeds the limit"):
        check(twice, ArchiveLimits(max_bytes=1 << 20))


def test_a_decompression_bomb_stops_at_the_limit_and_leaves_nothing(tmp_path: Path) -> None:
    big = b"\0" * (4 << 20)
    sdist = tar_with(tmp_path / "bomb.tar.gz", (entry("p/zeros"), big))
    assert sdist.stat().st_size < 64 << 10
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match="exceeds the limit"):
        unpack(sdist, out, ArchiveLimits(max_bytes=1 << 20))
    assert list(out.iterdir()) == []


def test_zip_traversal_and_symlinks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p-1.0.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("p-1.0/../../evil.py", "x")
    with pytest.raises(ArchiveError, match="outside the archive"):
        unpack(path, tmp_path / "out")
    with zipfile.ZipFile(path, "w") as zf:
        link = zipfile.ZipInfo("p-1.0/link")
        link.external_attr = (0o120777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ArchiveError, match="link or special file"):
        unpack(path, tmp_path / "out2")


def test_read_members_finds_files_without_unpacking(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path / "p-1.0.tar.gz", {"a/Cargo.lock": "one", "b/Cargo.lock": "two"}, top="p-1.0"
    )
    assert read_members(sdist, "Cargo.lock") == {
        "p-1.0/a/Cargo.lock": b"one",
        "p-1.0/b/Cargo.lock": b"two",
    }


def test_a_corrupt_archive_is_an_archive_error(tmp_path: Path) -> None:
    bad = tmp_path / "p-1.0.tar.gz"
    bad.write_bytes(b"not a tarball at all")
    with pytest.raises(ArchiveError, match="not a readable tar archive"):
        unpack(bad, tmp_path / "out")


def test_check_refuses_what_unpack_refuses_and_writes_nothing(tmp_path: Path) -> None:
    evil = tar_with(
        tmp_path / "p-1.0.tar.gz", (entry("p-1.0/ok.txt"), b"fine"), (entry("p-1.0/../../x"), b"x")
    )
    with pytest.raises(ArchiveError, match=r"'p-1\.0/\.\./\.\./x'"):
        check(evil)
    bomb = tar_with(tmp_path / "bomb.tar.gz", (entry("p/zeros"), b"\0" * (4 << 20)))
    with pytest.raises(ArchiveError, match="'p/zeros' exceeds the limit"):
        check(bomb, ArchiveLimits(max_bytes=1 << 20))
    check(bomb, ArchiveLimits(max_bytes=8 << 20))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.tar.gz", "p-1.0.tar.gz"]


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    return entry(name, tarfile.DIRTYPE), None


# Tricks with links, hard links and duplicates that no single member's check catches.
TRICKS: dict[str, list[tuple[tarfile.TarInfo, bytes | None]]] = {
    "chained symlinks": [  # each link stays inside read alone; together they climb out
        _dir("d"),
        (entry("d/link", tarfile.SYMTYPE, "."), None),
        (entry("d/link/link2", tarfile.SYMTYPE, ".."), None),
        (entry("d/link2/link3", tarfile.SYMTYPE, ".."), None),
        (entry("d/link2/link3/escaped.txt"), b"out"),
    ],
    "a file written through a link to a folder": [
        _dir("d"),
        (entry("d/up", tarfile.SYMTYPE, ".."), None),
        (entry("d/up/escaped.txt"), b"out"),
    ],
    "a file written through a link to an absolute folder": [
        (entry("d/tmp", tarfile.SYMTYPE, "/tmp"), None),
        (entry("d/tmp/escaped.txt"), b"out"),
    ],
    "a hard link out of the tree": [(entry("d/hard", tarfile.LNKTYPE, "../../etc/passwd"), None)],
    "a hard link to a member that comes later": [
        (entry("d/hard", tarfile.LNKTYPE, "d/later"), None),
        (entry("d/later"), b"x"),
    ],
    "a file then a link of the same name": [
        (entry("d/a"), b"x"),
        (entry("d/a", tarfile.SYMTYPE, "../../../etc/passwd"), None),
    ],
    "a duplicate file": [(entry("d/a"), b"1"), (entry("d/a"), b"2")],
}


def _check_only(archive: Path, dest: Path) -> None:
    check(archive)


def _unpack_data(archive: Path, dest: Path) -> None:
    unpack(archive, dest)


def _unpack_venvs(archive: Path, dest: Path) -> None:
    from builder.wheelbuild.venvs import _unpack

    _unpack(archive, dest)


@pytest.mark.parametrize("trick", sorted(TRICKS))
@pytest.mark.parametrize(
    "site",
    [_check_only, _unpack_data, _unpack_venvs],
    ids=["the host's check of an sdist", "sdist, crate or /out unpacked", "the venvs archive"],
)
def test_link_hard_link_and_duplicate_tricks_are_refused_wherever_builder_unpacks(
    tmp_path: Path, trick: str, site: Callable[[Path, Path], None]
) -> None:
    inside = tmp_path / "a" / "b"
    inside.mkdir(parents=True)
    archive = tar_with(tmp_path / "trick.tar.gz", *TRICKS[trick])
    with pytest.raises((ArchiveError, StoreError)):
        site(archive, inside / "out")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not Path("/tmp/escaped.txt").exists()
    assert not (inside / "out").exists() or list((inside / "out").iterdir()) == []


def test_the_standard_librarys_filter_refuses_the_chained_links_too(tmp_path: Path) -> None:
    """The case builder's own checks once missed: tarfile's data filter is the reference."""
    archive = tar_with(tmp_path / "chain.tar.gz", *TRICKS["chained symlinks"])
    (tmp_path / "plain").mkdir()
    with tarfile.open(archive) as tar, pytest.raises(tarfile.LinkOutsideDestinationError):
        tar.extractall(tmp_path / "plain", filter="data")


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_builders_own_rules_alone_refuse_every_trick_on_a_python_without_tarfiles_filters(
    tmp_path: Path, trick: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside an image whose Python predates tarfile's filters (Debian bookworm's 3.11.2),
    the driver's unpack has builder's rules alone: they must still refuse every trick."""
    from builder.inside import archive

    monkeypatch.setattr(archive, "HAS_FILTERS", False)
    inside = tmp_path / "a" / "b"
    inside.mkdir(parents=True)
    with pytest.raises(ArchiveError):
        unpack(tar_with(tmp_path / "trick.tar.gz", *TRICKS[trick]), inside / "out")
    assert not list(tmp_path.rglob("escaped.txt"))
