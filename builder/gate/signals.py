"""What the index says of a look-alike: how long it has been there, how many releases.

A name the typosquat rules flag is looked up on the public index, through its own simple
API (PEP 691 JSON; PEP 700 gives each file's upload time). A project that first appeared
recently, or is not on the index, or is listed with no files (whoever holds the name can
upload), is the shape of a typosquat campaign: the finding is an error, with the
evidence (a hint, gate/hints.py, is reported for such a project only). One that has been
there for years with many releases is likely a legitimate look-alike: the finding
becomes a warning, with the evidence. In between, older than NEW_DAYS with few releases
or some years, the rule's grade stands: a thin history alone is how most real projects
look (of 2,000 names drawn from the index, 34 old projects of one or two releases with a
warning's shape, `pixel-classifier-torch`, were refused when it raised them; no reported
typosquat was old when found, bench/typosquat.py). An index that serves no upload times,
or malformed ones, or cannot be reached, leaves the name rules alone to decide, and the
message says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from builder.errors import FetchError
from builder.index import Index
from builder.names import NormalizedName

NEW_DAYS = 90  # first upload at most this long ago: a new project
ESTABLISHED_DAYS = 2 * 365  # on the index at least this long...
ESTABLISHED_RELEASES = 5  # ...with at least this many releases: established


@dataclass(frozen=True, slots=True)
class History:
    """A project's history on the index; `first` is None where no upload time is served."""

    releases: int
    files: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class Evidence:
    severity: Literal["error", "warning"] | None  # where the history decides; None: it does not
    said: str
    new: bool = False  # absent, empty, or first uploaded within NEW_DAYS: what a hint needs


def history(index: Index, name: NormalizedName) -> History | None:
    """The project's history; None where the index does not know it. FetchError and
    ValueError (a page with malformed fields) are left to the caller."""
    try:
        files = index.files(name)
    except FetchError as exc:
        if "no such project" in exc.message:
            return None
        raise
    versions = {f.version for f in files} - {None}
    times = [f.upload_time for f in files if f.upload_time is not None]
    complete = times and len(times) == len(files)
    return History(
        releases=len(versions),
        files=len(files),
        first=min(times) if complete else None,
        last=max(times) if complete else None,
    )


def judge(found: History | None, now: datetime | None = None) -> Evidence:
    """What the history says of a flagged name, with the evidence in words."""
    if found is None:
        said = "not on the index: whoever registers it first owns it"
        return Evidence("error", said, new=True)
    if found.files == 0:
        said = "listed with no files: nothing to install, and whoever holds the name can upload"
        return Evidence("error", said, new=True)
    counts = f"{found.releases} release(s), {found.files} file(s)"
    if found.first is None:
        return Evidence(None, f"{counts}; the index serves no upload times: name rules alone")
    now = now or datetime.now(UTC)
    age = (now - _aware(found.first)).days
    since = f"first uploaded {found.first:%Y-%m-%d} ({age} days ago), {counts}"
    if age <= NEW_DAYS:
        return Evidence("error", f"{since}: a new project, the shape of a typosquat", new=True)
    if age >= ESTABLISHED_DAYS and found.releases >= ESTABLISHED_RELEASES:
        return Evidence("warning", f"{since}: an established project, likely a real look-alike")
    return Evidence(None, since)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
