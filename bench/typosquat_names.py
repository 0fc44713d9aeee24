"""What the gate's search of the index's whole name list (builder/gate/names.py) catches
and costs, at its thresholds and others.

7.8% of the OSV list's typosquats imitate projects outside the popular list
(`cryptofeed`, `freqtrade`). With the index's names (fetched into the store when a run
first needs them), the gate compares an unlisted name that is new on the index, and that
no other rule flags, with the index's whole list: the closest NEAR_LOOKED names within
one edit (for names of 8+ letters; two for 14+) are looked up, and one that is
established (years on the index, releases) refuses it. This runs that search, with the
gate's code, on the names the other rules and hints miss online: reported typosquats
(the evaluation set's tuning half, or --held-out), the new real projects of
bench/data/typosquat-new.tsv and the random ones of bench/data/typosquat-random.tsv
(same half; those flagged more): at THRESHOLDS with the gate's name lengths, and at
LENGTHS with the gate's threshold.

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
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from typosquat import NEW_PROJECTS, OSV_LIST, RANDOM_PROJECTS, Row, halves, histories, rows
from typosquat_history import fetch

from builder.gate import names as index_names
from builder.gate.signals import History, judge
from builder.gate.typosquat import Detector, shipped_targets
from builder.index_url import configured_index_url
from builder.names import normalize

THRESHOLDS = ((2, 5), (3, 10), (3, 20), (5, 20), (5, 40))  # (years, releases)
# (one edit from, two edits from): letters, separators aside; the first is the widest
LENGTHS = ((5, 9), (7, 9), (8, 9), (8, 12), (8, 14), (9, 14), (8, 16))
CACHE = Path(tempfile.gettempdir()) / "builder-bench-index-names.txt"


def every_name() -> index_names.NameList:
    """The index's whole list (cached a day)."""
    if not (CACHE.is_file() and time.time() - CACHE.stat().st_mtime < 86400):
        from pypi_simple import PyPISimple

        index = PyPISimple(configured_index_url())
        names = sorted({normalize(n) for n in index.stream_project_names()})
        temporary = CACHE.with_suffix(".part")
        temporary.write_text("\n".join(names) + "\n")
        temporary.replace(CACHE)
    return index_names.NameList(configured_index_url(), datetime.now(UTC), tuple(
        CACHE.read_text().split()
    ))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", action="store_true")
    parser.add_argument("--workers", type=int, default=12)
    args = parser.parse_args()
    detector = Detector(shipped_targets(), flag_popular=True)
    malicious = [r for r in rows() if r.label == "malicious" and r.held_out == args.held_out]
    missed: dict[str, set[str]] = {
        normalize(r.name): set(r.targets) for r in malicious
        if not {f.resembles for f in detector.check(r.name, with_hints=True)[:3]} & set(r.targets)
    }  # fmt: skip
    new = histories(NEW_PROJECTS)
    sample = halves(sorted(new.of))[args.held_out]
    quiet = [n for n in sample if not detector.check(n, with_hints=True)]
    drawn = histories(RANDOM_PROJECTS)
    drawn_sample = halves(sorted(drawn.of))[args.held_out]
    drawn_quiet = [  # searched: not popular, new on the index or absent, no finding
        n for n in drawn_sample if n not in detector.rank
        and judge(drawn.of[n], now=drawn.fetched).new and not detector.check(n, with_hints=True)
    ]  # fmt: skip
    listed = every_name()
    widest = {name: listed.closest(name, *LENGTHS[0]) for name in [*missed, *quiet, *drawn_quiet]}
    known = fetch(sorted({n for near in widest.values() for n, _ in near}), args.workers)
    print(f"{'held-out' if args.held_out else 'tuning'} half: {len(missed)} typosquats missed "
          f"online; {len(quiet)} of the new real projects with no finding; {len(known)} near "
          f"names looked up")  # fmt: skip
    gate = (index_names.ONE_EDIT, index_names.TWO_EDITS)
    threshold = (index_names.NEAR_YEARS, index_names.NEAR_RELEASES)
    tried = [(gate, t) for t in THRESHOLDS] + [(n, threshold) for n in LENGTHS if n != gate]
    now = datetime.now(UTC)
    for lengths, (years, releases) in tried:
        near = {
            name: {n for n, edits in found if edits <= searched(name, lengths)
                   and established(known[n], now, years, releases)}
            for name, found in widest.items()
        }  # fmt: skip
        caught = {name for name, targets in missed.items() if targets & near[name]}
        cost = [name for name in quiet if near[name]]
        drawn_cost = [name for name in drawn_quiet if near[name]]
        print(f"  one edit from {lengths[0]} letters, two from {lengths[1]}; near an "
              f"established project ({years}+ years, {releases}+ releases): caught "
              f"{len(caught)} of {len(missed)}; new projects flagged {len(cost)} of "
              f"{len(sample)}; random projects {len(drawn_cost)} of "
              f"{len(drawn_sample)}")  # fmt: skip
        if (lengths, (years, releases)) == (gate, threshold):
            flagged = {normalize(r.name) for r in malicious
                       if detector.check(r.name, with_hints=True)}  # fmt: skip
            recall_with(malicious, missed, caught, flagged | {n for n in missed if near[n]})
    return 0


def searched(name: str, lengths: tuple[int, int]) -> int:
    """The edits the search allows from `name` (gate/names.py) at `lengths`."""
    return index_names.edits_searched(len(name.replace("-", "")), *lengths)


def established(found: History | str | None, now: datetime, years: int, releases: int) -> bool:
    """The gate's test (gate/names.py) on a fetched history (a string: it could not be read)."""
    return isinstance(found, History) and index_names.established(found, now, years, releases)


def recall_with(
    malicious: list[Row],
    missed: Mapping[str, set[str]],
    caught: Collection[str],
    refused: Collection[str],
) -> None:
    """Online recall per group, the gate's thresholds' catches added; and the share
    refused whichever project a finding names (`refused`: the names with a finding)."""
    for label, group in (
        ("stated", [r for r in malicious if r.known == "stated"]),
        ("reports", [r for r in malicious if r.known == "inferred"
                     and not r.source.startswith(OSV_LIST)]),
        ("OSV list", [r for r in malicious if r.source.startswith(OSV_LIST)]),
    ):  # fmt: skip
        names = [normalize(r.name) for r in group]
        hits = sum(name not in missed or name in caught for name in names)
        stopped = sum(name in refused for name in names)
        n = max(len(group), 1)
        print(f"    online recall with the names, {label}: {hits / n:.2f} ({hits} of "
              f"{len(group)}); refused, whichever project named: {stopped / n:.2f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
