"""Explain the difference between two wheels, member by member.

Comparison starts from the zip central directories and the raw (still compressed) member
bytes, so members that are equal cost a memcmp, not an inflate: two large wheels that
differ in one member compare in well under a second. Only members whose bytes differ are
inflated and explained: text as a unified diff, ELF files section by section (with the
typical cause of each section's difference and the strings that differ), .pyc headers
field by field.
"""

from __future__ import annotations

import difflib
import re
import struct
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from builder.errors import ArchiveError
from builder.store import sha256_file

ONLY_IN_A = "only-in-a"
ONLY_IN_B = "only-in-b"
CONTENT = "content"
METADATA = "metadata"
CODE = "code"
WHEEL_METADATA = "wheel metadata"
PACKAGING = "packaging"
MAX_DIFF_LINES = 40
MAX_STRINGS = 10

# What usually makes an ELF section differ between two builds of the same source.
SECTION_CAUSES = {
    ".note.gnu.build-id": "build ID: a hash over the other contents, follows any change",
    ".comment": "compiler or linker version strings",
    ".rodata": "embedded strings: build paths, __DATE__/__TIME__, random or hashed names",
    ".text": "code generation: compiler flags, codegen order, CPU-specific tuning",
    ".data": "initialised data: embedded paths or timestamps",
    ".dynsym": "exported symbols: hashed or random symbol names",
    ".dynstr": "symbol names: hashed or random (e.g. Rust crate disambiguators)",
    ".symtab": "symbol table: hashed or random names, symbol order",
    ".strtab": "symbol names: hashed or random, or embedded build paths",
    ".gnu.hash": "symbol hash table: follows the symbol names",
    ".eh_frame": "unwind tables: follow code layout",
    ".gcc_except_table": "exception tables: follow code layout",
}
_DEBUG_CAUSE = "debug info: build paths (DW_AT_comp_dir, DW_AT_name) and codegen"
_PATHLIKE = re.compile(r"(/build|/tmp/|/home/|/root/|/usr/src/)")


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionDiff:
    name: str
    cause: str
    size_a: int
    size_b: int
    differing_a: tuple[str, ...] = ()
    differing_b: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberDiff:
    name: str
    kind: str
    details: tuple[str, ...] = ()
    text_diff: tuple[str, ...] = ()
    sections: tuple[SectionDiff, ...] = ()

    @property
    def category(self) -> str:
        """packaging (zip fields, RECORD), metadata (other .dist-info files) or code."""
        top = self.name.split("/", 1)[0]
        if self.kind == METADATA or (self.name == f"{top}/RECORD" and top.endswith(".dist-info")):
            return PACKAGING
        return WHEEL_METADATA if top.endswith(".dist-info") else CODE


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelDiff:
    a: str
    b: str
    sha256_a: str
    sha256_b: str
    order_differs: bool
    members: tuple[MemberDiff, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> bool:
        return self.sha256_a == self.sha256_b

    @property
    def code_differs(self) -> bool:
        """Whether a file outside .dist-info differs in content, or exists on one side."""
        return any(m.category == CODE for m in self.members)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for member, item in zip(self.members, data["members"], strict=True):
            item["category"] = member.category
        data |= {"identical": self.identical, "code_differs": self.code_differs}
        return data


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
        raise ArchiveError(f"{path}: not a readable wheel (zip): {exc}") from None


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
        return MemberDiff(name=name, kind=CONTENT, text_diff=tuple(list(lines)[:MAX_DIFF_LINES]))
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


def elf_diff(name: str, a: bytes, b: bytes) -> MemberDiff:
    from io import BytesIO

    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf_a, elf_b = ELFFile(BytesIO(a)), ELFFile(BytesIO(b))
        secs_a = {s.name: s.data() for s in elf_a.iter_sections() if s.name}
        secs_b = {s.name: s.data() for s in elf_b.iter_sections() if s.name}
        hash_note = rust_symbol_hash_note(_symbols(elf_a), _symbols(elf_b))
    except (ELFError, ValueError) as exc:
        return MemberDiff(name=name, kind=CONTENT, details=(f"unreadable ELF: {exc}",))
    sections = []
    for sec in sorted(secs_a.keys() | secs_b.keys()):
        da, db = secs_a.get(sec, b""), secs_b.get(sec, b"")
        if da == db:
            continue
        only_a, only_b = _differing_strings(da, db)
        sections.append(
            SectionDiff(
                name=sec,
                cause=_section_cause(sec),
                size_a=len(da),
                size_b=len(db),
                differing_a=only_a,
                differing_b=only_b,
            )
        )
    details: tuple[str, ...] = (hash_note,) if hash_note else ()
    if secs_a.keys() != secs_b.keys():
        details += (f"section sets differ: {sorted(secs_a.keys() ^ secs_b.keys())}",)
    return MemberDiff(name=name, kind=CONTENT, details=details, sections=tuple(sections))


# Per-crate hashes in Rust symbol names: legacy-mangling hashes, LLVM's local suffixes,
# anonymous constants and codegen-unit names. Equal once these go: same code, renamed.
_RUST_HASHES = (
    (re.compile(r"17h[0-9a-f]{16}E"), "17h…E"),
    (re.compile(r"\.llvm\.\d+"), ".llvm.…"),
    (re.compile(r"anon\.[0-9a-f]{32}\."), "anon.…."),
    (re.compile(r"\.[0-9a-f]{16}-cgu\."), ".…-cgu."),
)


def _without_hashes(symbol: str) -> str:
    for pattern, placeholder in _RUST_HASHES:
        symbol = pattern.sub(placeholder, symbol)
    return symbol


def _symbols(elf: Any) -> list[str]:
    table = elf.get_section_by_name(".symtab") or elf.get_section_by_name(".dynsym")
    return [] if table is None else [sym.name for sym in table.iter_symbols() if sym.name]


def rust_symbol_hash_note(a: list[str], b: list[str]) -> str | None:
    """Rust symbols that differ only in their hashes point at a crate whose -C metadata
    differs, which renames every symbol of it and reorders code with them."""
    only_a, only_b = set(a) - set(b), set(b) - set(a)
    if not only_a or not only_b:
        return None
    renamed = {_without_hashes(x) for x in only_a} & {_without_hashes(x) for x in only_b}
    if len(renamed) < 0.9 * len({_without_hashes(x) for x in only_a}):
        return None
    return (
        f"{len(only_a)} Rust symbols differ only in their hashes (17h…E, .llvm.…): a "
        "crate's -C metadata differs (cargo hashes the absolute path of a path dependency "
        "outside the workspace into it; features or dependency versions change it too)"
    )


def _section_cause(section: str) -> str:
    if section.startswith((".debug", ".zdebug")):
        return _DEBUG_CAUSE
    return SECTION_CAUSES.get(section, "contents differ")


_STRING = re.compile(rb"[\x20-\x7e]{6,}")
_READABLE = re.compile(r"[A-Za-z0-9_/ ]{6,}")  # a snippet worth showing a person
CONTEXT = 32
MAX_SNIPPET = 160


def _differing_strings(a: bytes, b: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What differs, as text a person can read: each differing byte run with its context
    when the sections are the same size, else the printable strings found on one side only
    (path-like ones first)."""
    if len(a) == len(b):
        pairs = [(_snippet(a, r), _snippet(b, r)) for r in _differing_runs(a, b)]
        readable = [p for p in pairs if _READABLE.search(p[0]) or _READABLE.search(p[1])]
        shown = readable[:MAX_STRINGS]
        return tuple(x for x, _ in shown), tuple(y for _, y in shown)
    sa = {m.decode()[:MAX_SNIPPET] for m in _STRING.findall(a)}
    sb = {m.decode()[:MAX_SNIPPET] for m in _STRING.findall(b)}

    def ranked(strings: set[str]) -> tuple[str, ...]:
        ordered = sorted(strings, key=lambda s: (not _PATHLIKE.search(s), s))
        return tuple(ordered[:MAX_STRINGS])

    return ranked(sa - sb), ranked(sb - sa)


def _differing_runs(a: bytes, b: bytes, chunk: int = 4096) -> list[tuple[int, int]]:
    """Byte ranges where two equal-length buffers differ; runs closer than CONTEXT merge."""
    runs: list[tuple[int, int]] = []
    for base in range(0, len(a), chunk):
        if a[base : base + chunk] == b[base : base + chunk]:
            continue
        for i in range(base, min(base + chunk, len(a))):
            if a[i] != b[i]:
                if runs and i - runs[-1][1] <= CONTEXT:
                    runs[-1] = (runs[-1][0], i + 1)
                else:
                    runs.append((i, i + 1))
    return runs


def _snippet(data: bytes, run: tuple[int, int]) -> str:
    start, end = max(0, run[0] - CONTEXT), min(len(data), run[1] + CONTEXT)
    text = "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in data[start:end])
    return f"@{run[0]:#x}: {text[:MAX_SNIPPET]}"
