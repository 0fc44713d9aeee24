"""tempfile's names in a build venv: the same in every process that starts there, still
exclusive, and afresh after a fork."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.inside import seeded_tempnames

pytestmark = pytest.mark.unit

MAKE_TWO = "import tempfile; print(tempfile.mkdtemp(), tempfile.mkdtemp())"


def site_with_pth(tmp_path: Path) -> Path:
    """A folder Python reads .pth files from, holding what the driver puts in a venv."""
    site = tmp_path / "site"
    site.mkdir()
    source = Path(seeded_tempnames.__file__).read_text()
    (site / f"{seeded_tempnames.MODULE}.py").write_text(source)
    (site / f"{seeded_tempnames.MODULE}.pth").write_text(seeded_tempnames.PTH_LINE)
    return site


def run_python(site: Path, tmpdir: Path, code: str) -> list[str]:
    boot = f"import site; site.addsitedir({str(site)!r}); " + code
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    out = subprocess.run([sys.executable, "-c", boot], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.split()


def test_every_process_makes_the_same_names_and_they_stay_exclusive(tmp_path: Path) -> None:
    site = site_with_pth(tmp_path)
    first_tmp, second_tmp = tmp_path / "a", tmp_path / "b"
    first_tmp.mkdir()
    second_tmp.mkdir()
    first = run_python(site, first_tmp, MAKE_TWO)
    second = run_python(site, second_tmp, MAKE_TWO)
    assert [Path(p).name for p in first] == [Path(p).name for p in second]
    assert first[0] != first[1]
    again = run_python(site, first_tmp, MAKE_TWO)  # the names exist there: the next ones
    assert not set(again) & set(first) and all(Path(p).is_dir() for p in again)


def test_without_the_pth_line_names_are_random(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    names = {Path(run_python(empty, tmp_path, MAKE_TWO)[0]).name for _ in range(2)}
    assert len(names) == 2
