"""Small value types that must not be mixed up with plain strings: packaging's
NormalizedName (PEP 503), a sha256 in lowercase hex, a glibc version."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NewType

if TYPE_CHECKING:  # packaging's type; at run time the same NewType, without importing
    # packaging.utils, which loads packaging.tags (`builder check` needs neither)
    from packaging.utils import NormalizedName
else:
    NormalizedName = NewType("NormalizedName", str)

__all__ = ["NormalizedName", "Sha256", "is_sha256", "normalize", "parse_glibc"]

Sha256 = NewType("Sha256", str)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SEPARATORS = re.compile(r"[-_.]+")  # PEP 503, as packaging.utils.canonicalize_name


def normalize(name: str) -> NormalizedName:
    """PEP 503 normalization: the only form in which names are compared or stored. A name
    already in that form (lower case, "-" alone between parts) is returned as it is:
    checking that is a few string methods, cheaper than the regular expression."""
    if name.islower() and "_" not in name and "." not in name and "--" not in name:
        return NormalizedName(name)
    return NormalizedName(_SEPARATORS.sub("-", name).lower())


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def parse_glibc(text: str) -> tuple[int, int] | None:
    """A glibc version as a policy writes it ("2.36": (2, 36)); None for anything else."""
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None
