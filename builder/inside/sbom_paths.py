"""SBOMs a build backend put in its wheel, written as if built at the fixed build root.

maturin embeds cargo-cyclonedx's SBOM (PEP 770: `.dist-info/sboms/`) whose `bom-ref`s and
purls carry the absolute path the crate was built at. builder builds at /build; a rebuild
under `--vary build-path` builds elsewhere, and only these files (and RECORD) would
differ. As the compilers' prefix maps do for debug info, the driver writes that path as
/build in those members, updates their RECORD lines, and says so in the log and in the
build's outcome (the rebuild report lists it per rebuild). At /build nothing is touched.
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

SBOM_DIR = re.compile(r"^[^/]+\.dist-info/sboms/[^/]+$")


def remap_sbom_paths(wheel: Path, root: str) -> tuple[str, ...]:
    """Rewrite `root` as BUILD in the wheel's SBOM members; the members changed."""
    if root == str(BUILD):
        return ()
    at_root = re.compile(re.escape(root) + r"(?=[/\"#?@]|$)")
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        data = {i.filename: zf.read(i) for i in infos}
    changed: dict[str, bytes] = {}
    for name, raw in data.items():
        if SBOM_DIR.match(name):
            text = raw.decode("utf-8", errors="surrogateescape")
            new = at_root.sub(str(BUILD), text)
            if new != text:
                changed[name] = new.encode("utf-8", errors="surrogateescape")
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
