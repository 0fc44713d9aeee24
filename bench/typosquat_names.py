"""An experiment for the gate's next rule: the index's whole name list as targets.

7.8% of the OSV list's typosquats imitate projects outside the popular list
(`cryptofeed`, `freqtrade`): no rule over the list can know them. The index itself lists
every project. This measures, before anything is built, what a rule over that list
would catch and cost: for each name that gets no finding online (hints included), the
index's names within one edit (two for names of 9+ letters) are searched, their
histories fetched, and a name is flagged when one of them is an established project
(THRESHOLDS: years on the index, releases). Caught: reported typosquats (the evaluation
set's tuning half, or --held-out) whose target is among the flagged near names. Cost:
the new real projects of bench/data/typosquat-new.tsv (same half) flagged.

It reads the configured index over the network (the root page, about 40 MB, cached a
day in the temporary directory; each near name's page), so it is not part of
bench/typosquat.py.

    python3 bench/typosquat_names.py [--held-out] [--workers 12]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))

from typosquat import NEW_PROJECTS, halves, histories, rows
from typosquat_history import fetch

from builder.gate.signals import History
from builder.gate.typosquat import Detector, shipped_targets
from builder.index import configured_index_url
from builder.names import normalize

THRESHOLDS = ((2, 5), (3, 10), (3, 20), (5, 20), (5, 40))  # (years, releases)
CACHE = Path(tempfile.gettempdir()) / "builder-bench-index-names.txt"


def every_name() -> list[str]:
    """The index's whole list, PEP 503-normalized (cached a day)."""
    if CACHE.is_file() and time.time() - CACHE.stat().st_mtime < 86400:
        return CACHE.read_text().split()
    from pypi_simple import PyPISimple

    names = sorted(
        {normalize(n) for n in PyPISimple(configured_index_url()).stream_project_names()}
    )
    temporary = CACHE.with_suffix(".part")
    temporary.write_text("\n".join(names) + "\n")
    temporary.replace(CACHE)
    return names


class Near:
    """The index's names by separator-free length, searched within an edit budget."""

    def __init__(self, names: list[str]) -> None:
        self.by_length: dict[int, dict[str, str]] = {}
        for name in names:
            key = name.replace("-", "")
            self.by_length.setdefault(len(key), {})[name] = key

    def __call__(self, name: str) -> list[str]:
        key = name.replace("-", "")
        if len(key) < 5:
            return []
        limit = 1 if len(key) < 9 else 2
        choices: dict[str, str] = {}
        for size in range(len(key) - limit, len(key) + limit + 1):
            choices.update(self.by_length.get(size, {}))
        scored = process.extract(
            key, choices, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=None
        )
        return [n for _, distance, n in scored if 0 < distance <= limit and n != name]


def established(found: History | str | None, years: int, releases: int, now: datetime) -> bool:
    if found is None or isinstance(found, str) or found.first is None:
        return False
    first = found.first if found.first.tzinfo else found.first.replace(tzinfo=UTC)
    return (now - first).days >= 365 * years and found.releases >= releases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", action="store_true")
    parser.add_argument("--workers", type=int, default=12)
    args = parser.parse_args()
    detector = Detector(shipped_targets(), flag_popular=True)
    missed = {
        normalize(r.name): set(r.targets)
        for r in rows()
        if r.label == "malicious" and r.held_out == args.held_out
        and not {f.resembles for f in detector.check(r.name, with_hints=True)[:3]} & set(r.targets)
    }  # fmt: skip
    new = histories(NEW_PROJECTS)
    sample = halves(sorted(new.of))[args.held_out]
    quiet = [n for n in sample if not detector.check(n, with_hints=True)]
    near = Near(every_name())
    found = {name: near(name) for name in [*missed, *quiet]}
    known = fetch(sorted({c for names in found.values() for c in names}), args.workers)
    now = datetime.now(UTC)
    half = "held-out" if args.held_out else "tuning"
    print(f"{half} half: {len(missed)} typosquats missed online; {len(quiet)} of the new real "
          f"projects with no finding; {len(known)} near names looked up")  # fmt: skip
    for years, releases in THRESHOLDS:
        flagged = {
            name for name, names in found.items()
            if any(established(known[c], years, releases, now) for c in names)
        }  # fmt: skip
        caught = [
            name for name, targets in missed.items()
            if name in flagged and targets & {
                c for c in found[name] if established(known[c], years, releases, now)
            }
        ]  # fmt: skip
        cost = [name for name in quiet if name in flagged]
        print(f"  near an established project ({years}+ years, {releases}+ releases): "
              f"caught {len(caught)} of {len(missed)}; new projects flagged "
              f"{len(cost)} of {len(sample)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
