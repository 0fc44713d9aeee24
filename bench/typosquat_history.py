"""Fetch, once, the index histories bench/typosquat.py weighs its real names by.

The gate looks a flagged name up on the public index (builder/gate/signals.py): an
established project's error becomes a warning, a new or thin one's warning an error. To
measure that offline and repeatably, the histories of the real names the bench judges
(the legitimate look-alikes and the real names) are fetched from the configured index
(pip's own, unless BUILDER_INDEX_URL or PIP_INDEX_URL says otherwise) and written, with
the date, to bench/data/typosquat-history.tsv. The bench judges them as of that date.

    python3 bench/typosquat_history.py [--workers 8]
"""

from __future__ import annotations

import argparse
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from typosquat import judged_real_names

from builder.errors import FetchError
from builder.gate.signals import History, history
from builder.gate.typosquat import shipped_targets
from builder.index import Index
from builder.names import normalize

HISTORIES = Path(__file__).resolve().parent / "data" / "typosquat-history.tsv"
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
    args = parser.parse_args()
    names = sorted(set(judged_real_names(shipped_targets())))
    histories = fetch(names, args.workers)
    fetched = datetime.now(UTC).replace(microsecond=0).isoformat()
    lines = [
        "# Index histories of the real names bench/typosquat.py judges, fetched by",
        "# bench/typosquat_history.py; the bench judges them as of this date.",
        f"# fetched\t{fetched}",
        "\t".join(COLUMNS),
        *(row(n, histories[n]) for n in names),
    ]
    temporary = HISTORIES.with_suffix(".tsv.part")
    temporary.write_text("\n".join(lines) + "\n")
    temporary.replace(HISTORIES)
    print(f"{len(names)} histories written to {HISTORIES} ({fetched})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
