"""A rebuild's root written as the fixed build root in the wheel's text members.

builder builds at /build; a rebuild under `--vary build-path` builds elsewhere, and some
backends write the absolute path they built at into text files of the wheel: maturin's
CycloneDX SBOM (PEP 770, `.dist-info/sboms/`) in its `bom-ref`s and purls, meson-python
projects in the build configuration they install (contourpy's `_build_config.py`: source
and build folders, meson's options). As the compilers' prefix maps do for debug info and
__FILE__, the driver writes that root as /build in those members (UTF-8 text without NUL
bytes; compiled code is never touched), updates their RECORD lines, and says so in the
log and in the build's outcome: the rebuild report lists the members per rebuild. At
/build nothing is touched, so a published wheel is exactly what its build made.
Standard library only: this runs inside the build.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from pathlib import Path

from builder.inside.layout import BUILD


def remap_build_paths(wheel: Path, root: str) -> tuple[str, ...]:
    """Rewrite `root` as BUILD in the wheel's text members; the members changed."""
    if root == str(BUILD):
        return ()
    needle = root.encode()
    at_root = re.compile(re.escape(needle) + rb"(?![\w.+-])")
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        data = {i.filename: zf.read(i) for i in infos}
    changed: dict[str, bytes] = {}
    for name, raw in data.items():
        if needle in raw and _is_text(raw) and not name.endswith(".dist-info/RECORD"):
            new = at_root.sub(str(BUILD).encode(), raw)
            if new != raw:
                changed[name] = new
    if not changed:
        return ()
    data.update(changed)
    record = next((n for n in data if n.endswith(".dist-info/RECORD")), None)
    if record is not None:
        data[record] = _record(data[record], changed)
    tmp = wheel.with_name(wheel.name + ".remap")
    with zipfile.ZipFile(tmp, "w") as out:
        for info in infos:
            out.writestr(info, data[info.filename], compress_type=info.compress_type)
    tmp.replace(wheel)
    return tuple(sorted(changed))


def _is_text(raw: bytes) -> bool:
    if b"\0" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _record(text: bytes, changed: dict[str, bytes]) -> bytes:
    rows = list(csv.reader(io.StringIO(text.decode("utf-8"))))
    for row in rows:
        if row and row[0] in changed:
            digest = hashlib.sha256(changed[row[0]]).digest()
            row[1] = "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            row[2] = str(len(changed[row[0]]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")
