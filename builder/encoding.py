"""The two ways builder writes JSON: canonical bytes for anything hashed or signed, and a
pretty form for people. Nothing else serializes JSON that is hashed."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same data always gives the same bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pretty_json(data: Any) -> bytes:
    """Indented, sorted keys, a final newline: for files people read (records, reports)."""
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
