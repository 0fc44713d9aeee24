"""The advisory snapshot in the store: OSV entries for PyPI, read offline.

`refresh` reads OSV entries from a file (one entry, or a JSON array of them), a folder of
them (the malicious-packages repository's osv/ tree), a zip (the OSV PyPI dump), or a URL
to any of those, and writes `<store>/advisories/osv-pypi.json` through a temporary name.
The snapshot carries its source, when it was refreshed, the newest `modified` time among
its entries (the data's date, said in every report) and the sha256 of its advisories: a
truncated or edited snapshot is refused, never read as "no advisories".
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from builder.advisories.osv import Advisory, parse_entry
from builder.errors import AdvisoryError
from builder.store import write_atomic

FORMAT = "builder/advisories/v1"
FILE = Path("advisories") / "osv-pypi.json"
MAX_ENTRY_BYTES = 8 << 20  # one OSV entry; larger members of a zip are refused
MAX_ENTRIES = 2_000_000
SOURCE_HINT = (
    "the store's snapshot is left as it was; give OSV entries as a JSON file, a folder of "
    "them, a zip or a URL (docs/gate.md)"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    source: str
    refreshed_on: str
    data_date: str  # the newest `modified` of its entries
    entries: int
    by_package: dict[str, tuple[Advisory, ...]] = field(repr=False)

    def about(self, package: str) -> tuple[Advisory, ...]:
        return self.by_package.get(package, ())

    def describe(self) -> str:
        return (
            f"OSV snapshot of {self.data_date[:10]} ({self.entries} entries, "
            f"{sum(map(len, self.by_package.values()))} PyPI advisories; refreshed "
            f"{self.refreshed_on[:10]} from {self.source})"
        )

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "refreshed_on": self.refreshed_on,
                "data_date": self.data_date, "entries": self.entries}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RefreshReport:
    snapshot: Snapshot
    path: Path
    withdrawn: int
    unknown_fields: dict[str, int]  # field -> entries that carry it (ignored)
    every_version: tuple[str, ...]  # ids whose ranges could not be read


def snapshot_path(store_root: Path) -> Path:
    return store_root / FILE


def load(store_root: Path) -> Snapshot | None:
    """The store's snapshot; None where no refresh ever ran. A damaged one is an error."""
    path = snapshot_path(store_root)
    if not path.exists():
        return None
    hint = "run `builder advisories refresh --from FILE|URL` to replace it"
    try:
        data = json.loads(path.read_bytes())
        advisories = data["advisories"]
        digest = hashlib.sha256(_canonical(advisories)).hexdigest()
        if data.get("format") != FORMAT:
            raise AdvisoryError(f"{path}: not an advisory snapshot of this builder "
                                f"(format {data.get('format')!r})", hint=hint)  # fmt: skip
        if digest != data["sha256"]:
            raise AdvisoryError(
                f"{path}: the advisory snapshot is damaged: its advisories hash to {digest}, "
                f"it says {data['sha256']}", hint=hint,
            )  # fmt: skip
        parsed = [Advisory.from_json(a) for a in advisories]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AdvisoryError(
            f"{path}: the advisory snapshot cannot be read ({type(exc).__name__}: {exc}); "
            "truncated or damaged", hint=hint,
        ) from exc  # fmt: skip
    by_package: dict[str, list[Advisory]] = {}
    for a in parsed:
        by_package.setdefault(a.package, []).append(a)
    return Snapshot(
        source=data["source"], refreshed_on=data["refreshed_on"], data_date=data["data_date"],
        entries=data["entries"], by_package={k: tuple(v) for k, v in by_package.items()},
    )  # fmt: skip


def refresh(source: str, store_root: Path) -> RefreshReport:
    """Read every OSV entry of `source` and replace the store's snapshot with them; a
    source that cannot be read whole leaves the snapshot as it was."""
    try:
        read = _read(source)
    except AdvisoryError as exc:
        if exc.hint == AdvisoryError.default_hint:
            exc.hint = SOURCE_HINT
        raise
    read.advisories.sort(key=lambda a: (a.package, a.id))
    payload = [a.to_json() for a in read.advisories]
    data = {
        "format": FORMAT, "source": source,
        "refreshed_on": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_date": read.newest, "entries": read.entries,
        "sha256": hashlib.sha256(_canonical(payload)).hexdigest(), "advisories": payload,
    }  # fmt: skip
    path = snapshot_path(store_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, separators=(",", ":")).encode())
    snapshot = load(store_root)
    assert snapshot is not None
    return RefreshReport(snapshot, path, read.withdrawn, read.unknown, tuple(read.every))


@dataclass(slots=True)
class _Read:
    """What a source's OSV entries say, gathered while reading them."""

    advisories: list[Advisory] = field(default_factory=list)
    entries: int = 0
    withdrawn: int = 0
    unknown: dict[str, int] = field(default_factory=dict)
    every: list[str] = field(default_factory=list)  # ids whose ranges cannot be read
    newest: str = ""


def _read(source: str) -> _Read:
    read = _Read()
    with _local(source) as path:
        for where, raw in _entries(path):
            read.entries += 1
            if read.entries > MAX_ENTRIES:
                raise AdvisoryError(f"{source}: more than {MAX_ENTRIES} entries")
            parsed = parse_entry(raw, where)
            read.newest = max(read.newest, raw["modified"])
            read.withdrawn += parsed.withdrawn
            for name in parsed.unknown_fields:
                read.unknown[name] = read.unknown.get(name, 0) + 1
            if parsed.unreadable_range:
                read.every.append(raw["id"])
            read.advisories.extend(parsed.advisories)
    if read.entries == 0:
        raise AdvisoryError(f"{source}: no OSV entries found")
    return read


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@contextmanager
def _local(source: str) -> Iterator[Path]:
    """A source as a local path: a URL is downloaded to a temporary folder first."""
    if "://" not in source:
        path = Path(source)
        if not path.exists():
            raise AdvisoryError(f"{source}: no such file or folder")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="builder-advisories-") as tmp:
        yield _download(source, Path(tmp))


def _download(url: str, folder: Path) -> Path:
    import requests

    name = url.rstrip("/").rsplit("/", 1)[-1] or "osv"
    target = folder / name
    try:
        with requests.get(url, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            with target.open("wb") as out:
                for chunk in resp.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
    except requests.RequestException as exc:
        raise AdvisoryError(f"{url}: cannot download the advisories: {exc}") from exc
    return target


def _entries(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed JSON) of each OSV entry under `path`."""
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            yield from _json_entries(str(file), file.read_bytes())
    elif zipfile.is_zipfile(path):
        yield from _zip_entries(path)
    elif path.suffix.lower() == ".zip" or _starts_like_a_zip(path):
        raise AdvisoryError(f"{path}: a damaged or truncated zip (no central directory)")
    else:
        yield from _json_entries(str(path), path.read_bytes())


def _starts_like_a_zip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _zip_entries(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                where = f"{path}!{info.filename}"
                if info.file_size > MAX_ENTRY_BYTES:
                    raise AdvisoryError(f"{where}: {info.file_size} bytes, more than an "
                                        "OSV entry could need")  # fmt: skip
                yield from _json_entries(where, zf.read(info))
    except (zipfile.BadZipFile, EOFError) as exc:
        raise AdvisoryError(f"{path}: a damaged zip: {exc}") from exc


def _json_entries(where: str, data: bytes) -> Iterator[tuple[str, Any]]:
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdvisoryError(f"{where}: not JSON ({exc}); truncated or damaged") from exc
    if isinstance(parsed, list):
        for i, entry in enumerate(parsed):
            yield f"{where}[{i}]", entry
    else:
        yield where, parsed
