"""The gate's look-ups on the index: a list's flagged names one after the other, against
LOOK_UPS at once (builder/gate/check.py), in the same run.

A JSON index (PEP 691, PEP 700 upload times) on 127.0.0.1 answers every project page
after a fixed delay, as a distant index would; the gate checks a list of flagged names
(popular names with a letter added, and with a word) with its policy's defaults, first
with one look-up at a time, then as it runs.

    python3 bench/lookups.py [--names 60] [--delay-ms 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder.gate import check  # noqa: E402
from builder.gate.policy import GatePolicy  # noqa: E402
from builder.gate.typosquat import shipped_popular  # noqa: E402
from tests.fixtures.json_index import JsonPages, iso, page, served  # noqa: E402


class SlowIndex(JsonPages):
    """Every project exists, first uploaded three days ago, with one release, and its page
    comes after a delay, as from a distant index."""

    delay_s: ClassVar[float] = 0.1

    def project(self, name: str) -> dict[str, object] | None:
        time.sleep(self.delay_s)  # the network's round trip
        return page(name, [("1.0", iso(3))])


def timed(names: list[str], at_once: int) -> tuple[float, int]:
    """Seconds to check `names` with `at_once` look-ups at a time, and the issues found."""
    check.LOOK_UPS = at_once
    gate = check.Gate(GatePolicy())
    started = time.perf_counter()
    issues = gate.check(names)
    return time.perf_counter() - started, len(issues)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=60)
    parser.add_argument("--delay-ms", type=int, default=100)
    args = parser.parse_args()
    SlowIndex.delay_s = args.delay_ms / 1000
    popular = [p for p in shipped_popular()[:1000] if len(p) >= 6]
    half = args.names // 2
    names = [p + "x" for p in popular[:half]] + [p + "-beta" for p in popular[half : args.names]]
    at_once = check.LOOK_UPS
    with served(SlowIndex) as url:
        os.environ["BUILDER_INDEX_URL"] = url
        timed(names[:2], 1)  # imports and first connections, out of both figures
        alone, found = timed(names, 1)
        together, found_together = timed(names, at_once)
    print(f"{len(names)} flagged names, index delay {args.delay_ms} ms: one at a time "
          f"{alone:.2f} s, {at_once} at once {together:.2f} s, ratio {alone / together:.1f} "
          f"({found} and {found_together} issues)")  # fmt: skip
    return 0 if found == found_together else 1


if __name__ == "__main__":
    sys.exit(main())
