"""Pickles in an sdist or a wheel: what they would import when loaded.

A pickle runs code on load: whatever callable its GLOBAL/STACK_GLOBAL opcodes name. The
scanner is picklescan (the one Hugging Face's hub runs on every upload): small, pure
Python, no dependencies of its own, it reads raw pickles, PyTorch's zip checkpoints, numpy
.npy files with object arrays and joblib dumps without loading them, and grades each
imported callable innocuous, suspicious or dangerous. fickling decompiles deeper but
flags far more of ordinary data; modelscan pulls in heavy optional frameworks.

Members are picked by suffix (.pkl, .pt, .bin, .joblib, .npy, ...) or by a pickle
protocol header (0x80, 2-5) at their start, whatever their name. A member that does not
parse is said (`unreadable`), not failed: `.bin` is a common suffix for other data. A
dangerous import fails the build, naming the member and the callable.
"""

from __future__ import annotations

import io
import logging
import tarfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from builder.errors import ArchiveError

SUFFIXES = frozenset({
    ".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz", ".dat",
    ".data", ".sav",
})  # fmt: skip
MAX_MEMBER_BYTES = 512 << 20


@dataclass(frozen=True, slots=True)
class PickleImport:
    member: str
    module: str
    name: str
    safety: str  # innocuous, suspicious or dangerous (picklescan's grading)

    @property
    def callable(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class PickleScan:
    archive: str
    scanner: str
    scanned: tuple[str, ...] = ()
    imports: tuple[PickleImport, ...] = ()
    unreadable: tuple[str, ...] = ()

    @property
    def dangerous(self) -> tuple[PickleImport, ...]:
        return tuple(i for i in self.imports if i.safety == "dangerous")

    @property
    def suspicious(self) -> tuple[PickleImport, ...]:
        return tuple(i for i in self.imports if i.safety == "suspicious")

    def to_json(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "scanner": self.scanner,
            "scanned": list(self.scanned),
            "imports": [
                {"member": i.member, "callable": i.callable, "safety": i.safety}
                for i in self.imports
                if i.safety != "innocuous"
            ],
            "unreadable": list(self.unreadable),
        }


def scanner_name() -> str:
    return f"picklescan {version('picklescan')}"


def scan_archive(path: Path, label: str | None = None) -> PickleScan:
    """Every pickle-like member of a tar or zip archive, scanned without being loaded."""
    from picklescan.scanner import scan_bytes  # type: ignore[import-untyped]

    scanned: list[str] = []
    imports: list[PickleImport] = []
    unreadable: list[str] = []
    logging.getLogger("picklescan").setLevel(logging.CRITICAL)  # its findings come back here
    for member, data in _pickle_members(path):
        scanned.append(member)
        try:
            result = scan_bytes(io.BytesIO(data), member, Path(member).suffix.lower())
        except Exception:  # a member the scanner cannot read at all
            unreadable.append(member)
            continue
        if result.scan_err:
            unreadable.append(member)
        imports += [PickleImport(member, g.module, g.name, g.safety.value)
                    for g in result.globals]  # fmt: skip
    return PickleScan(
        archive=label or path.name, scanner=scanner_name(), scanned=tuple(scanned),
        imports=tuple(dict.fromkeys(imports)), unreadable=tuple(unreadable),
    )  # fmt: skip


def refuse_dangerous(
    scan: PickleScan, what: str, accepted: Mapping[str, str] | None = None
) -> None:
    """Fail on a dangerous import, naming each member and callable; members a recipe
    accepts (`[[accept-pickles]]`, with a reason) pass."""
    refused = [i for i in scan.dangerous if i.member not in (accepted or {})]
    if not refused:
        return
    found = "; ".join(f"{i.member} imports {i.callable}" for i in refused)
    raise ArchiveError(
        f"{what}: a pickle would run dangerous code when loaded: {found}",
        hint="nothing was built from it; loading such a file runs that callable (picklescan "
        "grades it dangerous). Report it to the project, or use another release; a member "
        "you have read and accept goes in the recipe's [[accept-pickles]] with a reason",
    )


def _pickle_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each regular member chosen by suffix or by a pickle header."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        with zf.open(info) as member:
                            yield from _chosen(path, info.filename, info.file_size, member)
            return
        with tarfile.open(path) as tf:
            for m in tf:
                data = tf.extractfile(m) if m.isfile() else None
                if data is not None:
                    yield from _chosen(path, m.name, m.size, data)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(f"{path.name}: cannot be read for the pickle scan: {exc}") from exc


def _chosen(path: Path, name: str, size: int, f: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    head = f.read(2)
    by_header = len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    if Path(name).suffix.lower() not in SUFFIXES and not by_header:
        return
    if size > MAX_MEMBER_BYTES:
        raise ArchiveError(
            f"{path.name}: {name} ({size >> 20} MiB) is too large to scan for pickled code",
            hint=f"members up to {MAX_MEMBER_BYTES >> 20} MiB are scanned",
        )
    yield name, head + f.read(MAX_MEMBER_BYTES)
