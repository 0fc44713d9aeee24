"""Rust symbols that differ only in their per-crate hashes: the same code, renamed."""

from __future__ import annotations

import re
from typing import Any

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


def symbols(elf: Any) -> list[str]:
    """The names in the ELF file's symbol table (or its dynamic one)."""
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
