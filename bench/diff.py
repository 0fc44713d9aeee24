"""builder diff against diffoscope on the same pair of ~50 MB wheels differing in one member.

Prints both wall times and the ratio (diffoscope / builder diff), measured in this run.

    python3 bench/diff.py [--size-mib 50] [--members 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from builder.compare.diff.wheel import diff_wheels


def make_pair(folder: Path, size_mib: int, members: int) -> tuple[Path, Path]:
    """Incompressible members (so the wheel really is size_mib), one changed in b."""
    chunk = size_mib * (1 << 20) // members
    contents = {f"pkg/blob{i:03}.bin": os.urandom(chunk) for i in range(members)}
    changed = dict(contents)
    middle = f"pkg/blob{members // 2:03}.bin"
    changed[middle] = contents[middle][:100] + b"X" + contents[middle][101:]
    paths = []
    for name, files in (("a", contents), ("b", changed)):
        path = folder / name / "pkg-1.0-py3-none-any.whl"
        path.parent.mkdir()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in [*files.items(), ("pkg-1.0.dist-info/RECORD", b"")]:
                zf.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data)
        paths.append(path)
    return paths[0], paths[1]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--size-mib", type=int, default=50)
    p.add_argument("--members", type=int, default=50)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        a, b = make_pair(Path(tmp), args.size_mib, args.members)
        started = time.monotonic()
        result = diff_wheels(a, b)
        ours = time.monotonic() - started
        assert [m.name for m in result.members] == [f"pkg/blob{args.members // 2:03}.bin"]
        print(f"wheels: {a.stat().st_size / (1 << 20):.1f} MiB each, one member differs")
        print(f"builder diff    {ours:8.3f} s")
        diffoscope = shutil.which("diffoscope")
        if diffoscope is None:
            print("diffoscope      not installed (apt-get install diffoscope-minimal)")
            return 0
        started = time.monotonic()
        subprocess.run([diffoscope, str(a), str(b)], stdout=subprocess.DEVNULL, check=False)
        theirs = time.monotonic() - started
        print(f"diffoscope      {theirs:8.3f} s")
        print(f"ratio diffoscope / builder diff: {theirs / ours:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
