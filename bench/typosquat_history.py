"""Fetch, once, the index histories bench/typosquat.py weighs real names by.

The gate looks a flagged name up on the public index (builder/gate/signals.py): an
established project's error becomes a warning, a new one's warning an error, and
a hint (builder/gate/hints.py) is reported for a new project only. To measure that
offline and repeatably, histories are fetched from the configured index (pip's own,
unless BUILDER_INDEX_URL or PIP_INDEX_URL says otherwise) and written with the date:
- bench/data/typosquat-history.tsv: the real names the bench judges (the legitimate
  look-alikes, the real names, the set's legit rows: all old, popular projects);
- bench/data/typosquat-new.tsv (--new N): the projects first uploaded within 90 days
  among N names drawn at random (--seed) from the index's whole list: what a new real
  project looks like (a few may be malicious uploads not yet removed);
- bench/data/typosquat-random.tsv (--random N): N names drawn at random (--seed) from
  the index's whole list, each with its history: what a random real dependency looks
  like, popular or not, old or new.
The bench judges them as of that date.

    python3 bench/typosquat_history.py [--workers 8] [--new 4000 | --random 2000]
        [--seed 20261127]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from typosquat import judged_real_names

from builder.errors import FetchError
from builder.gate.signals import NEW_DAYS, History, history
from builder.gate.typosquat import shipped_targets
from builder.index import Index
from builder.index_url import configured_index_url
from builder.names import normalize

HISTORIES = Path(__file__).resolve().parent / "data" / "typosquat-history.tsv"
NEW_PROJECTS = HISTORIES.with_name("typosquat-new.tsv")
RANDOM_PROJECTS = HISTORIES.with_name("typosquat-random.tsv")
COLUMNS = ("name", "releases", "files", "first", "last")


def fetch(names: list[str], workers: int) -> dict[str, History | str | None]:
    """Each name's history; None where the index has no such project; the error's text
    where it could not be read."""
    local = threading.local()

    def one(name: str) -> History | str | None:
        if not hasattr(local, "index"):
            local.index = Index()
        try:
            return history(local.index, normalize(name))
        except (FetchError, ValueError, TypeError, KeyError) as exc:
            return str(exc)

    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def row(name: str, found: History | str | None) -> str:
    if isinstance(found, str):
        raise SystemExit(f"{name}: {found}")
    if found is None:
        return f"{name}\t0\t0\t\t"
    first = f"{found.first:%Y-%m-%d}" if found.first else ""
    last = f"{found.last:%Y-%m-%d}" if found.last else ""
    return f"{name}\t{found.releases}\t{found.files}\t{first}\t{last}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    drawn = parser.add_mutually_exclusive_group()
    drawn.add_argument("--new", type=int, metavar="N", help="sample N names for new projects")
    drawn.add_argument("--random", type=int, metavar="N", help="sample N names, all kept")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    if args.new:
        return new_projects(args.new, args.seed, args.workers)
    if args.random:
        return random_projects(args.random, args.seed, args.workers)
    names = sorted(set(judged_real_names(shipped_targets())))
    histories = fetch(names, args.workers)
    said = ("Index histories of the real names bench/typosquat.py judges, fetched by",)
    write(HISTORIES, said, names, histories)
    return 0


def drawn_names(size: int, seed: int) -> tuple[list[str], int]:
    """`size` names drawn at random from the index's whole list, and the list's length."""
    from pypi_simple import PyPISimple

    every = list(PyPISimple(endpoint=configured_index_url()).stream_project_names())
    return random.Random(seed).sample(every, size), len(every)


def new_projects(size: int, seed: int, workers: int) -> int:
    """Draw `size` names from the index's whole list; keep those first uploaded within
    NEW_DAYS of now."""
    drawn, listed = drawn_names(size, seed)
    histories = fetch(drawn, workers)
    now = datetime.now(UTC)
    new = sorted(n for n in drawn if _new(histories[n], now))
    said = (
        f"Projects first uploaded within {NEW_DAYS} days, among {size:,} names drawn at "
        f"random (seed {seed}) from the index's {listed:,}: new real projects,",
        "a few maybe malicious uploads not yet removed. Fetched by",
    )
    write(NEW_PROJECTS, said, new, histories)
    return 0


def random_projects(size: int, seed: int, workers: int) -> int:
    """Draw `size` names from the index's whole list, and keep them all with their
    histories (one that cannot be read is left out, and counted)."""
    drawn, listed = drawn_names(size, seed)
    histories = fetch(drawn, workers)
    kept = sorted(n for n in drawn if not isinstance(histories[n], str))
    said = (
        f"{size:,} names drawn at random (seed {seed}) from the index's {listed:,}, "
        f"{size - len(kept)} of them unreadable and left out: random real projects,",
        "a few maybe malicious uploads not yet removed. Fetched by",
    )
    write(RANDOM_PROJECTS, said, kept, histories)
    return 0


def _new(found: History | str | None, now: datetime) -> bool:
    if isinstance(found, str) or found is None or found.first is None:
        return False
    first = found.first if found.first.tzinfo else found.first.replace(tzinfo=UTC)
    return (now - first).days <= NEW_DAYS


def write(
    path: Path, said: tuple[str, ...], names: list[str], histories: dict[str, History | str | None]
) -> None:
    fetched = datetime.now(UTC).replace(microsecond=0).isoformat()
    lines = [
        *(f"# {line}" for line in said),
        "# bench/typosquat_history.py; the bench judges them as of this date.",
        f"# fetched\t{fetched}",
        "\t".join(COLUMNS),
        *(row(n, histories[n]) for n in names),
    ]
    temporary = path.with_suffix(".tsv.part")
    temporary.write_text("\n".join(lines) + "\n")
    temporary.replace(path)
    print(f"{len(names)} histories written to {path} ({fetched})")


if __name__ == "__main__":
    sys.exit(main())
