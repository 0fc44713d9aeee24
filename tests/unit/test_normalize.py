"""Normalization: deterministic, packaging-only, and still a wheel pip installs and checks."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import venv
import zipfile
from pathlib import Path

from builder.compare.normalize import normalize_wheel
from tests.unit.test_diff import make_wheel

NAME = "normpkg-1.0-py3-none-any.whl"
META = "normpkg-1.0.dist-info"
FILES = [
    (f"{META}/METADATA", b"Metadata-Version: 2.1\nName: normpkg\nVersion: 1.0\n"),
    (
        f"{META}/WHEEL",
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    ),
    ("normpkg/__init__.py", b"ANSWER = 42\n"),
    (f"{META}/RECORD", b"stale,,\n"),
]


def _wheel(folder: Path, **kw: object) -> Path:
    folder.mkdir()
    return make_wheel(folder / NAME, FILES, **kw)  # type: ignore[arg-type]


def test_wheels_differing_only_in_packaging_normalize_to_the_same_bytes(tmp_path: Path) -> None:
    a = _wheel(tmp_path / "a")
    (tmp_path / "b").mkdir()
    b = make_wheel(
        tmp_path / "b" / NAME, list(reversed(FILES)),
        date=(2024, 2, 3, 4, 5, 6), mode=0o664, compression=zipfile.ZIP_STORED,
    )  # fmt: skip
    na = normalize_wheel(a, tmp_path / "na", 1700000000)
    nb = normalize_wheel(b, tmp_path / "nb", 1700000000)
    assert na.name == NAME and na.read_bytes() == nb.read_bytes()
    again = normalize_wheel(na, tmp_path / "again", 1700000000)
    assert again.read_bytes() == na.read_bytes()


def test_the_normalized_record_lists_true_hashes_and_comes_last(tmp_path: Path) -> None:
    out = normalize_wheel(_wheel(tmp_path / "a"), tmp_path / "n", 0)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[0] == "normpkg/__init__.py" and names[-1] == f"{META}/RECORD"
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        record = zf.read(f"{META}/RECORD").decode().splitlines()
        for line in record[:-1]:
            name, digest, size = line.split(",")
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data)
        assert record[-1] == f"{META}/RECORD,,"


def test_a_normalized_wheel_installs_with_pip_and_passes_pip_check(tmp_path: Path) -> None:
    out = normalize_wheel(_wheel(tmp_path / "a"), tmp_path / "n", 1700000000)
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-index", str(out)], check=True)
    subprocess.run([*pip, "check"], check=True)
    answer = subprocess.run(
        [python, "-c", "import normpkg; print(normpkg.ANSWER)"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert answer.stdout.strip() == "42", answer.stderr
