"""builder diff on synthetic wheel pairs: one pair per kind of difference."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from builder.compare.diff.model import CONTENT, METADATA, ONLY_IN_A, ONLY_IN_B
from builder.compare.diff.rust import rust_symbol_hash_note
from builder.compare.diff.wheel import diff_wheels

Member = tuple[str, bytes]
BASE: list[Member] = [
    ("pkg/__init__.py", b"print('hi')\n"),
    ("pkg-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"),
    ("pkg-1.0.dist-info/RECORD", b"pkg/__init__.py,sha256=x,12\n"),
]


def make_wheel(
    path: Path,
    members: list[Member],
    *,
    date: tuple[int, int, int, int, int, int] = (2020, 1, 1, 0, 0, 0),
    mode: int = 0o644,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=date)
            info.external_attr = mode << 16
            info.compress_type = compression
            zf.writestr(info, data)
    return path


def one_member(tmp_path: Path, a: list[Member], b: list[Member], **kw_b: object):  # type: ignore[no-untyped-def]
    result = diff_wheels(
        make_wheel(tmp_path / "a.whl", a), make_wheel(tmp_path / "b.whl", b, **kw_b)
    )  # type: ignore[arg-type]
    assert not result.identical
    return result


def test_identical_wheels_are_reported_identical(tmp_path: Path) -> None:
    a = make_wheel(tmp_path / "a.whl", BASE)
    shutil.copyfile(a, tmp_path / "b.whl")
    result = diff_wheels(a, tmp_path / "b.whl")
    assert result.identical and result.members == ()


def test_members_only_in_one_wheel_are_listed_per_side(tmp_path: Path) -> None:
    result = one_member(tmp_path, [*BASE, ("pkg/extra.py", b"")], [*BASE, ("pkg/other.py", b"")])
    assert [(m.name, m.kind) for m in result.members] == [
        ("pkg/extra.py", ONLY_IN_A),
        ("pkg/other.py", ONLY_IN_B),
    ]
    assert result.code_differs


def test_a_timestamp_difference_is_metadata_not_content(tmp_path: Path) -> None:
    result = one_member(tmp_path, BASE, BASE, date=(2024, 5, 6, 7, 8, 10))
    assert {m.kind for m in result.members} == {METADATA}
    assert all(d.startswith("timestamp:") for m in result.members for d in m.details)
    assert not result.code_differs


def test_permissions_and_compression_are_named(tmp_path: Path) -> None:
    result = one_member(tmp_path, BASE, BASE, mode=0o755, compression=zipfile.ZIP_STORED)
    details = {d.split(":")[0] for m in result.members for d in m.details}
    assert details == {"permissions", "compression"}
    assert not result.code_differs


def test_member_order_is_reported(tmp_path: Path) -> None:
    result = one_member(tmp_path, BASE, list(reversed(BASE)))
    assert result.order_differs and result.members == ()


def test_text_members_get_a_unified_diff(tmp_path: Path) -> None:
    changed = [(n, d.replace(b"Version: 1.0", b"Version: 1.1")) for n, d in BASE]
    result = one_member(tmp_path, BASE, changed)
    (member,) = result.members
    assert member.kind == CONTENT and member.name.endswith("METADATA")
    assert "-Version: 1.0" in member.text_diff and "+Version: 1.1" in member.text_diff
    assert member.category == "wheel metadata" and not result.code_differs


def test_a_changed_module_is_code_and_its_record_line_is_packaging(tmp_path: Path) -> None:
    changed = [(n, b"print('bye')\n" if n.endswith(".py") else d) for n, d in BASE]
    changed = [(n, d + b"x" if n.endswith("RECORD") else d) for n, d in changed]
    result = one_member(tmp_path, BASE, changed)
    assert {m.name: m.category for m in result.members} == {
        "pkg/__init__.py": "code",
        "pkg-1.0.dist-info/RECORD": "packaging",
    }
    assert result.code_differs


def test_elf_differences_name_the_section_its_cause_and_the_bytes(tmp_path: Path) -> None:
    elf = Path("/bin/ls").read_bytes()
    needle = b"/usr/share/locale"
    if needle not in elf:
        pytest.skip("/bin/ls has no locale path to patch")
    patched = elf.replace(needle, b"/build/xx/locale1", 1)
    result = one_member(tmp_path, [("pkg/ls.so", elf)], [("pkg/ls.so", patched)])
    (member,) = result.members
    (section,) = member.sections
    assert section.name == ".rodata" and "build paths" in section.cause
    assert needle.decode() in section.differing_a[0]
    assert "/build/xx/locale1" in section.differing_b[0]


def test_pyc_differences_show_the_header_fields(tmp_path: Path) -> None:
    def pyc(mtime: int) -> bytes:
        return b"\xf3\r\r\n" + struct.pack("<III", 0, mtime, 12) + b"\xe3code"

    result = one_member(tmp_path, [("pkg/m.pyc", pyc(1))], [("pkg/m.pyc", pyc(2))])
    (member,) = result.members
    assert member.details == ("mtime or hash (low): 1 -> 2",)


def forge_crc(prefix: bytes, target: int) -> bytes:
    """prefix + 4 bytes whose CRC-32 is target: CRC is affine over GF(2) in the last 4 bytes."""
    base = zipfile.crc32(prefix + bytes(4))
    columns = [zipfile.crc32(prefix + (1 << i).to_bytes(4, "little")) ^ base for i in range(32)]
    rows = [(col, 1 << i) for i, col in enumerate(columns)]  # (image, combination of bits)
    basis: dict[int, tuple[int, int]] = {}
    for column, unit in rows:
        image, combo = column, unit
        for bit in sorted(basis, reverse=True):
            if image >> bit & 1:
                image, combo = image ^ basis[bit][0], combo ^ basis[bit][1]
        if image:
            basis[image.bit_length() - 1] = (image, combo)
    want, combo = target ^ base, 0
    for bit in sorted(basis, reverse=True):
        if want >> bit & 1:
            want, combo = want ^ basis[bit][0], combo ^ basis[bit][1]
    assert want == 0
    return prefix + combo.to_bytes(4, "little")


def test_equal_crc_and_size_with_different_bytes_is_a_content_difference(tmp_path: Path) -> None:
    a = b"honest payload"
    b = forge_crc(b"evil paylo", zipfile.crc32(a))
    assert (zipfile.crc32(a), len(a)) == (zipfile.crc32(b), len(b)) and a != b
    result = one_member(
        tmp_path, [("pkg/x.bin", a)], [("pkg/x.bin", b)], compression=zipfile.ZIP_STORED
    )
    assert [m.kind for m in result.members] == [CONTENT]


def test_rust_symbols_renamed_by_their_crate_hash_are_explained() -> None:
    a = [
        "_ZN4core3fmt5write17h0123456789abcdefE",
        "anon.0123456789abcdef0123456789abcdef.3.llvm.42",
    ]
    b = ["_ZN4core3fmt5write17hfedcba9876543210E", "anon.fedcba9876543210fedcba9876543210.3.llvm.7"]
    note = rust_symbol_hash_note(a, b)
    assert note is not None and note.startswith("2 Rust symbols differ only in their hashes")
    assert rust_symbol_hash_note(a, a) is None
    assert (
        rust_symbol_hash_note(["_ZN3foo17h0123456789abcdefE"], ["_ZN3bar17h0123456789abcdeeE"])
        is None
    )


def _sbom(root: str, version: str = "0.8.0") -> bytes:
    """The shape of maturin's Rust SBOM: a path dependency named by its absolute path."""
    ref = f"path+file://{root}/unpacked/safetensors-0.8.0/safetensors#{version}"
    purl = f"pkg:cargo/safetensors@{version}?download_url=file://{root}/unpacked"
    component = {"bom-ref": ref, "name": "safetensors", "version": version, "purl": purl}
    return json.dumps({"bomFormat": "CycloneDX", "components": [component],
                       "dependencies": [{"ref": ref, "dependsOn": []}]}).encode()  # fmt: skip


def test_an_sbom_that_differs_only_in_the_build_path_is_named_so_and_is_not_code(
    tmp_path: Path,
) -> None:
    member = "pkg-1.0.dist-info/sboms/safetensors.cyclonedx.json"
    result = one_member(tmp_path, [*BASE, (member, _sbom("/buildroot"))],
                        [*BASE, (member, _sbom("/buildroot-rebuild-1"))])  # fmt: skip
    (diff,) = result.members
    assert diff.name == member and diff.category == "wheel metadata" and not result.code_differs
    (said,) = diff.details
    assert "SBOM that records the absolute build path: 3 value(s) differ" in said
    assert "'path+file:///buildroot/unpacked/" in said and "the code is not affected" in said


def test_an_sbom_that_differs_in_more_than_paths_gets_no_such_note(tmp_path: Path) -> None:
    member = "pkg-1.0.dist-info/sboms/safetensors.cyclonedx.json"
    result = one_member(tmp_path, [*BASE, (member, _sbom("/buildroot"))],
                        [*BASE, (member, _sbom("/buildroot-rebuild-1", "0.8.1"))])  # fmt: skip
    (diff,) = result.members
    assert diff.details == () and diff.text_diff
