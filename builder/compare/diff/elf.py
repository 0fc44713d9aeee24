"""ELF files (extension modules, grafted libraries) section by section: the typical cause
of each section's difference, and the strings or bytes that differ, as a person reads them."""

from __future__ import annotations

import re
from io import BytesIO

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from builder.compare.diff.model import CONTENT, MemberDiff, SectionDiff
from builder.compare.diff.rust import rust_symbol_hash_note, symbols

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


def elf_diff(name: str, a: bytes, b: bytes) -> MemberDiff:
    try:
        elf_a, elf_b = ELFFile(BytesIO(a)), ELFFile(BytesIO(b))
        secs_a = {s.name: s.data() for s in elf_a.iter_sections() if s.name}
        secs_b = {s.name: s.data() for s in elf_b.iter_sections() if s.name}
        hash_note = rust_symbol_hash_note(symbols(elf_a), symbols(elf_b))
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
