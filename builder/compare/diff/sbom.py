"""An SBOM inside a wheel (PEP 770: `.dist-info/sboms/`) compared value by value: maturin's
CycloneDX SBOM of the Rust dependency tree records path dependencies by their absolute
path (`bom-ref`, `purl`), so two builds at different paths differ there and nowhere else.
Say so when that is the whole difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def is_sbom(name: str) -> bool:
    top, _, rest = name.partition("/")
    return top.endswith(".dist-info") and rest.startswith("sboms/") and name.endswith(".json")


def sbom_details(a: bytes, b: bytes) -> tuple[str, ...]:
    """What differs between two SBOMs, when it is only file paths; () when it is more (or
    when either is not JSON): the text diff says the rest."""
    try:
        left, right = json.loads(a), json.loads(b)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ()
    pairs = list(_differing_strings(left, right))
    if not pairs or any(p is None for p in pairs):
        return ()
    paths = [p for p in pairs if p is not None and _differs_in_a_path(*p)]
    if len(paths) != len(pairs):
        return ()
    first_a, first_b = paths[0]
    return (
        f"an SBOM that records the absolute build path: {len(paths)} value(s) differ, each "
        f"only in a file path ({first_a!r} -> {first_b!r}); maturin's Rust SBOM names path "
        "dependencies so: the code is not affected",
    )


def _differing_strings(a: Any, b: Any) -> Iterator[tuple[str, str] | None]:
    """The pairs of strings that differ between two JSON values of the same shape; None
    where the shapes differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            yield None
            return
        for key in a:
            yield from _differing_strings(a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield None
            return
        for x, y in zip(a, b, strict=True):
            yield from _differing_strings(x, y)
    elif isinstance(a, str) and isinstance(b, str):
        if a != b:
            yield (a, b)
    elif a != b:
        yield None


def _differs_in_a_path(a: str, b: str) -> bool:
    """Whether the two strings differ in one whitespace-free token, inside a path: the
    token holds a "/" before the first difference, and the rest of both is the same."""
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                 min(len(a), len(b)))  # fmt: skip
    start = max(a.rfind(c, 0, first) for c in " \t\n") + 1
    end_a, end_b = (_token_end(s, first) for s in (a, b))
    return "/" in a[start:first] and a[end_a:] == b[end_b:]


def _token_end(text: str, start: int) -> int:
    ends = [i for i in (text.find(c, start) for c in " \t\n") if i >= 0]
    return min(ends, default=len(text))
