"""The index's whole list of project names, a dated snapshot in the store: the targets
beyond the popular list.

7.8% of reported typosquats imitate projects that are not among the 15,000 most
downloaded (`cryptofeed`, `freqtrade`): no rule over the popular list knows them. The
index lists every project (its simple API's root page, about 900,000 names). The gate
fetches that list into the store the first time a run needs it (Gate.names; policy:
`[typosquat] fetch-index-names`), `builder names refresh` replaces it; with it, the gate
searches the names near an unlisted name that is new on the index (within one edit for
names of ONE_EDIT letters or more, two for names of TWO_EDITS or more) and refuses it
when one of them is an established project: NEAR_YEARS on the index with NEAR_RELEASES
releases or more (policy: `[typosquat] established-years`, `established-releases`).
Among 900,000 names a short one is near another by chance: searched from five letters
(two edits from nine), the search flagged 40 more of 495 new real projects; from eight
(two edits from fourteen), 3, for the same 63 typosquats caught
(bench/typosquat_names.py). Without a snapshot the search is skipped, and `builder
check` says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from builder.errors import FetchError, StoreError
from builder.gate.policy import NEAR_RELEASES, NEAR_YEARS
from builder.gate.signals import History
from builder.names import normalize
from builder.store import write_atomic

FORMAT = "builder/index-names/v1"
FILE = Path("gate") / "index-names.txt"
ONE_EDIT = 8  # names this long are searched within one edit (shorter ones: not at all)...
TWO_EDITS = 14  # ...and names this long within two
NEAR_LOOKED = 5  # the closest names looked up on the index for one new name
FETCH_TIMEOUT = 60  # seconds without a byte before a fetch the gate starts itself gives up
HINT = "run `builder names refresh` to replace it"


@dataclass(frozen=True)
class NameList:
    """Every project name an index listed, when, and from where."""

    source: str
    fetched: datetime
    names: tuple[str, ...] = field(repr=False)

    def describe(self) -> str:
        return describe(len(self.names), self.source, self.fetched)

    @cached_property
    def _by_length(self) -> dict[int, dict[str, str]]:
        """separator-free length -> {name: separator-free key}."""
        found: dict[int, dict[str, str]] = {}
        for name in self.names:
            key = name.replace("-", "")
            found.setdefault(len(key), {})[name] = key
        return found

    def near(
        self, name: str, one_edit: int = ONE_EDIT, two_edits: int = TWO_EDITS
    ) -> list[tuple[str, int]]:
        """(name, edits) of the listed names within one edit of `name` (a PEP 503 name) of
        `one_edit` letters or more, two for one of `two_edits` or more; none for shorter."""
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        key = name.replace("-", "")
        limit = edits_searched(len(key), one_edit, two_edits)
        if not limit:
            return []
        choices: dict[str, str] = {}
        for size in range(len(key) - limit, len(key) + limit + 1):
            choices.update(self._by_length.get(size, {}))
        scored = process.extract(
            key, choices, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=None
        )
        return [(n, int(d)) for _, d, n in scored if 0 < d <= limit and n != name]

    def closest(
        self, name: str, one_edit: int = ONE_EDIT, two_edits: int = TWO_EDITS
    ) -> list[tuple[str, int]]:
        """The NEAR_LOOKED nearest of near(name), fewest edits first."""
        found = self.near(name, one_edit, two_edits)
        return sorted(found, key=lambda near: near[1])[:NEAR_LOOKED]


def edits_searched(letters: int, one_edit: int = ONE_EDIT, two_edits: int = TWO_EDITS) -> int:
    """How many edits from a name of `letters` letters (separators aside) are searched."""
    return 2 if letters >= two_edits else 1 if letters >= one_edit else 0


def established(
    found: History | None, now: datetime, years: int = NEAR_YEARS, releases: int = NEAR_RELEASES
) -> bool:
    """Whether a near project is established: `years` on the index, `releases` releases
    or more (NEAR_YEARS, NEAR_RELEASES)."""
    if found is None or found.first is None:
        return False
    first = found.first if found.first.tzinfo else found.first.replace(tzinfo=UTC)
    return (now - first).days >= 365 * years and found.releases >= releases


def describe(count: int, source: str, fetched: datetime) -> str:
    return f"{count:,} names of {source}, fetched {fetched:%Y-%m-%d}"


def said(store_root: Path) -> str | None:
    """The snapshot described from its head alone (the list is not read); None where
    there is none. A head that cannot be read is said so, not raised: the check that
    needs the list raises."""
    path = snapshot_path(store_root)
    if not path.exists():
        return None
    try:
        with path.open() as f:
            meta = dict(line.rstrip("\n").split("\t", 1) for line in iter(f.readline, "\n"))
        return describe(int(meta["names"]), meta["source"], datetime.fromisoformat(meta["fetched"]))
    except (OSError, ValueError, KeyError) as exc:
        return f"{path} cannot be read ({type(exc).__name__}: {exc}); {HINT}"


def snapshot_path(store_root: Path) -> Path:
    return store_root / FILE


def load(store_root: Path) -> NameList | None:
    """The store's snapshot; None where no refresh ever ran. A damaged one is an error."""
    path = snapshot_path(store_root)
    if not path.exists():
        return None
    try:
        head, _, body = path.read_text().partition("\n\n")
        meta = dict(line.split("\t", 1) for line in head.splitlines())
        if meta.get("format") != FORMAT:
            raise StoreError(f"{path}: not an index-name snapshot of this builder "
                             f"(format {meta.get('format')!r})", hint=HINT)  # fmt: skip
        digest = hashlib.sha256(body.encode()).hexdigest()
        if digest != meta["sha256"]:
            raise StoreError(f"{path}: the index-name snapshot is damaged: its names hash "
                             f"to {digest}, it says {meta['sha256']}", hint=HINT)  # fmt: skip
        fetched = datetime.fromisoformat(meta["fetched"])
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"{path}: the index-name snapshot cannot be read "
                         f"({type(exc).__name__}: {exc})", hint=HINT) from exc  # fmt: skip
    return NameList(meta["source"], fetched, tuple(body.split()))


def refresh(store_root: Path, url: str, timeout: float = 600) -> NameList:
    """Read the whole list of `url` (a simple-API index) and replace the store's snapshot
    with it; a list that cannot be read whole leaves the snapshot as it was. `timeout`:
    seconds the index may send nothing."""
    import requests
    from pypi_simple import PyPISimple, UnsupportedRepoVersionError

    try:
        listed = PyPISimple(endpoint=url).stream_project_names(timeout=timeout)
        names = sorted({normalize(n) for n in listed})
    except (requests.RequestException, ValueError, UnsupportedRepoVersionError) as exc:
        raise FetchError(f"{url}: the index's list of projects cannot be read: {exc}; the "
                         "store's snapshot is left as it was") from exc  # fmt: skip
    if not names:
        raise FetchError(f"{url}: the index lists no projects; the store's snapshot is left "
                         "as it was", hint="is it the root of a simple-API index?")  # fmt: skip
    body = "\n".join(names) + "\n"
    fetched = datetime.now(UTC).replace(microsecond=0)
    digest = hashlib.sha256(body.encode()).hexdigest()
    head = (f"format\t{FORMAT}\nsource\t{url}\nfetched\t{fetched.isoformat()}\n"
            f"names\t{len(names)}\nsha256\t{digest}\n")  # fmt: skip
    write_atomic(snapshot_path(store_root), (head + "\n" + body).encode())
    return NameList(url, fetched, tuple(names))
