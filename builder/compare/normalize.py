"""Rewrite a wheel as a deterministic archive that is still a valid, installable wheel.

Only packaging is touched, never a file's bytes: members sorted (the .dist-info folder
last, RECORD at the very end), directory entries dropped, one timestamp
(SOURCE_DATE_EPOCH, clamped to zip's 1980 floor), permissions 0644 or 0755 (executable
if any x bit was set), deflate at level 9, and RECORD rewritten with fresh sha256 and
sizes. Normalization is something a user asks for, and reports say when it was applied.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import tempfile
import time
import zipfile
from pathlib import Path

from builder.errors import ArchiveError

NORMALIZATIONS = (
    "members sorted, .dist-info last, RECORD at the end",
    "directory entries dropped",
    "every timestamp set to SOURCE_DATE_EPOCH",
    "permissions 0644, or 0755 where any execute bit was set",
    "deflate, level 9",
    "RECORD rewritten with fresh hashes and sizes",
)
ZIP_EPOCH_FLOOR = 315532800  # 1980-01-01T00:00:00Z


def _record_name(names: list[str], wheel: Path) -> str:
    records = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise ArchiveError(f"{wheel}: expected one .dist-info/RECORD, found {records}")
    return records[0]


def _record_line(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def _order(names: list[str], record: str) -> list[str]:
    dist_info = record.split("/", 1)[0] + "/"
    return sorted(names, key=lambda n: (n == record, n.startswith(dist_info), n))


def normalize_wheel(wheel: Path, dest: Path, epoch: int) -> Path:
    """Write the normalized wheel, under the same file name, into the folder `dest`."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            files = {i.filename: (zf.read(i), bool(i.external_attr >> 16 & 0o111)) for i in infos}
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{wheel}: not a readable wheel (zip): {exc}") from exc
    record = _record_name(list(files), wheel)
    lines = [_record_line(n, files[n][0]) for n in _order(list(files), record) if n != record]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([*lines, [record, "", ""]])
    files[record] = (text.getvalue().encode(), False)
    stamp = time.gmtime(max(epoch, ZIP_EPOCH_FLOOR))[:6]
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{wheel.name}.", suffix=".tmp", dir=dest)
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w") as zf:
            for name in _order(list(files), record):
                data, executable = files[name]
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.external_attr = (0o100755 if executable else 0o100644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                zf.writestr(info, data, compresslevel=9)
        target = dest / wheel.name
        os.replace(tmp, target)
        return target
    finally:
        Path(tmp).unlink(missing_ok=True)
