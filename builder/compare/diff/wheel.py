"""Two wheels compared at the zip level, then member by member by format.

Comparison starts from the zip central directories and the raw (still compressed) member
bytes, so members that are equal cost a memcmp, not an inflate: two large wheels that
differ in one member compare in well under a second. Only members whose bytes differ are
inflated and explained: text as a unified diff, ELF files section by section (elf.py),
.pyc headers field by field (pyc.py), anything else by its first differing offset.
"""

from __future__ import annotations

import difflib
import struct
import zipfile
from pathlib import Path
from typing import Any

from builder.compare.diff.elf import elf_diff
from builder.compare.diff.model import (
    CONTENT,
    METADATA,
    ONLY_IN_A,
    ONLY_IN_B,
    MemberDiff,
    WheelDiff,
)
from builder.compare.diff.pyc import pyc_header_diff
from builder.compare.diff.sbom import is_sbom, sbom_details
from builder.errors import ArchiveError
from builder.store import sha256_file

MAX_DIFF_LINES = 40


def diff_wheels(a: Path, b: Path, labels: tuple[str, str] | None = None) -> WheelDiff:
    """Compare two wheels; `labels` name them in the report (default: their paths)."""
    label_a, label_b = labels or (str(a), str(b))
    sha_a, sha_b = sha256_file(a), sha256_file(b)
    if sha_a == sha_b:
        return WheelDiff(a=label_a, b=label_b, sha256_a=sha_a, sha256_b=sha_b, order_differs=False)
    with _open(a) as za, _open(b) as zb, a.open("rb") as fa, b.open("rb") as fb:
        infos_a = {i.filename: i for i in za.infolist()}
        infos_b = {i.filename: i for i in zb.infolist()}
        members = [MemberDiff(name=n, kind=ONLY_IN_A) for n in sorted(infos_a.keys() - infos_b)]
        members += [MemberDiff(name=n, kind=ONLY_IN_B) for n in sorted(infos_b.keys() - infos_a)]
        for name in sorted(infos_a.keys() & infos_b.keys()):
            ia, ib = infos_a[name], infos_b[name]
            if not _same_bytes(ia, ib, (za, fa), (zb, fb)):
                members.append(_content_diff(name, za.read(ia), zb.read(ib)))
            elif details := _metadata_details(ia, ib):
                members.append(MemberDiff(name=name, kind=METADATA, details=details))
        common = infos_a.keys() & infos_b.keys()
        order_a = [n for n in infos_a if n in common]
        order_b = [n for n in infos_b if n in common]
    return WheelDiff(
        a=label_a,
        b=label_b,
        sha256_a=sha_a,
        sha256_b=sha_b,
        order_differs=order_a != order_b,
        members=tuple(members),
    )


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{path}: not a readable wheel (zip): {exc}") from exc


def _raw_bytes(info: zipfile.ZipInfo, f: Any) -> bytes:
    """A member's stored (compressed) bytes, read past its local header."""
    f.seek(info.header_offset)
    header = f.read(30)
    if header[:4] != b"PK\x03\x04":
        raise ArchiveError(f"{info.filename}: bad local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    f.seek(info.header_offset + 30 + name_len + extra_len)
    data: bytes = f.read(info.compress_size)
    return data


def _same_bytes(
    ia: zipfile.ZipInfo,
    ib: zipfile.ZipInfo,
    a: tuple[zipfile.ZipFile, Any],
    b: tuple[zipfile.ZipFile, Any],
) -> bool:
    if (ia.CRC, ia.file_size) != (ib.CRC, ib.file_size):
        return False
    same_encoding = (ia.compress_type, ia.compress_size) == (ib.compress_type, ib.compress_size)
    if same_encoding and _raw_bytes(ia, a[1]) == _raw_bytes(ib, b[1]):
        return True
    # Same CRC, different encoding (or a crafted CRC collision): compare the real bytes.
    return a[0].read(ia) == b[0].read(ib)


def _metadata_details(ia: zipfile.ZipInfo, ib: zipfile.ZipInfo) -> tuple[str, ...]:
    checks = {
        "timestamp": (ia.date_time, ib.date_time),
        "permissions": (oct(ia.external_attr >> 16), oct(ib.external_attr >> 16)),
        "compression": (
            (ia.compress_type, ia.compress_size),
            (ib.compress_type, ib.compress_size),
        ),
        "zip extra fields": (ia.extra.hex(), ib.extra.hex()),
        "comment": (ia.comment, ib.comment),
        "created by": (
            (ia.create_system, ia.create_version),
            (ib.create_system, ib.create_version),
        ),
        "flags": (ia.flag_bits, ib.flag_bits),
    }
    return tuple(f"{what}: {va} -> {vb}" for what, (va, vb) in checks.items() if va != vb)


def _content_diff(name: str, a: bytes, b: bytes) -> MemberDiff:
    if a[:4] == b"\x7fELF" and b[:4] == b"\x7fELF":
        return elf_diff(name, a, b)
    if name.endswith(".pyc"):
        return MemberDiff(name=name, kind=CONTENT, details=pyc_header_diff(a, b))
    text_a, text_b = _as_text(a), _as_text(b)
    if text_a is not None and text_b is not None:
        lines = difflib.unified_diff(
            text_a.splitlines(), text_b.splitlines(), "a/" + name, "b/" + name, lineterm=""
        )
        details = sbom_details(a, b) if is_sbom(name) else ()
        return MemberDiff(
            name=name, kind=CONTENT, details=details,
            text_diff=tuple(list(lines)[:MAX_DIFF_LINES]),
        )  # fmt: skip
    return MemberDiff(name=name, kind=CONTENT, details=(_binary_summary(a, b),))


def _as_text(data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _binary_summary(a: bytes, b: bytes) -> str:
    first = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return f"binary: {len(a)} -> {len(b)} bytes, first difference at offset {first}"
