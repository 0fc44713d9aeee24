"""Compare a build's wheel with another one (the index's, or any file), raw and normalized."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.compare.diff.model import WheelDiff
from builder.compare.diff.wheel import diff_wheels
from builder.compare.normalize import NORMALIZATIONS, normalize_wheel
from builder.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    raw: WheelDiff
    normalized: WheelDiff | None

    def to_json(self) -> dict[str, Any]:
        return {
            "raw": self.raw.to_json(),
            "normalized": None
            if self.normalized is None
            else {"applied": list(NORMALIZATIONS), **self.normalized.to_json()},
        }


def compare(
    ours: Path,
    theirs: Path,
    *,
    labels: tuple[str, str],
    store: Store,
    epoch: int,
    normalize: bool,
) -> Comparison:
    raw = diff_wheels(ours, theirs, labels)
    if not normalize:
        return Comparison(raw=raw, normalized=None)
    with store.temp_dir("compare-") as work:
        a = normalize_wheel(ours, work / "a", epoch)
        b = normalize_wheel(theirs, work / "b", epoch)
        normalized = diff_wheels(a, b, (f"{labels[0]}, normalized", f"{labels[1]}, normalized"))
    return Comparison(raw=raw, normalized=normalized)
