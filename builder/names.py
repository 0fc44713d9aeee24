"""Small value types that must not be mixed up with plain strings: packaging's
NormalizedName (PEP 503) and a sha256 in lowercase hex."""

from __future__ import annotations

import re
from typing import NewType

from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["NormalizedName", "Sha256", "is_sha256", "normalize"]

Sha256 = NewType("Sha256", str)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def normalize(name: str) -> NormalizedName:
    """PEP 503 normalization: the only form in which names are compared or stored. A name
    already in that form (lower case, "-" alone between parts) is returned as it is:
    checking that is a few string methods, cheaper than the regular expression."""
    if name.islower() and "_" not in name and "." not in name and "--" not in name:
        return NormalizedName(name)
    return canonicalize_name(name)


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None
