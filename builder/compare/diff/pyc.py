""".pyc files: the PEP 552 header field by field, then whether the code object differs."""

from __future__ import annotations

import struct


def pyc_header_diff(a: bytes, b: bytes) -> tuple[str, ...]:
    """PEP 552 header: magic, flags, then mtime + source size, or the source hash."""
    names = ("magic", "flags", "mtime or hash (low)", "source size or hash (high)")
    pairs = zip(names, _pyc_header(a), _pyc_header(b), strict=True)
    out = [f"{n}: {va} -> {vb}" for n, va, vb in pairs if va != vb]
    if a[16:] != b[16:]:
        out.append("code object differs (marshal data after the header)")
    return tuple(out) or ("header equal; trailing bytes differ",)


def _pyc_header(data: bytes) -> tuple[str, ...]:
    if len(data) < 16:
        return ("short",) * 4
    magic = data[:4].hex()
    flags, low, high = struct.unpack("<III", data[4:16])
    return (magic, str(flags), str(low), str(high))
