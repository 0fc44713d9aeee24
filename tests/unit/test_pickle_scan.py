"""The pickle scan of sdists and wheels: real pickles, made here, never loaded."""

from __future__ import annotations

import builtins
import collections
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from builder.errors import ArchiveError
from builder.scan.pickles import refuse_dangerous, scan_archive
from tests.conftest import make_sdist

pytestmark = pytest.mark.unit


class RunsAShell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, ("echo pwned",)


class Evaluates:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return builtins.eval, ("1 + 1",)


def test_a_dangerous_pickle_is_named_with_its_member_and_callable(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", {
        "data/model.pkl": pickle.dumps(RunsAShell(), protocol=4),
        "data/ok.pkl": pickle.dumps(collections.OrderedDict(a=1)),
        "setup.py": "",
    }, top="p-1.0")  # fmt: skip
    scan = scan_archive(sdist)
    assert scan.scanned == ("p-1.0/data/model.pkl", "p-1.0/data/ok.pkl")
    assert [(i.member, i.callable) for i in scan.dangerous] == [
        ("p-1.0/data/model.pkl", "posix.system")
    ]
    with pytest.raises(ArchiveError, match=r"p-1.0/data/model.pkl imports posix.system"):
        refuse_dangerous(scan, "p-1.0.tar.gz")


def test_a_pickle_under_another_suffix_is_found_by_its_header(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", {
        "notes.txt": pickle.dumps(Evaluates(), protocol=2), "README": "plain text",
    }, top="p-1.0")  # fmt: skip
    scan = scan_archive(sdist)
    assert scan.scanned == ("p-1.0/notes.txt",)
    assert [i.callable for i in scan.dangerous] == ["__builtin__.eval"]


def test_a_wheel_is_scanned_and_innocuous_imports_stay_out_of_the_record(tmp_path: Path) -> None:
    wheel = tmp_path / "p-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("p/table.joblib", pickle.dumps(collections.OrderedDict(a=1)))
        zf.writestr("p/weights.bin", os.urandom(64))
    scan = scan_archive(wheel)
    assert scan.scanned == ("p/table.joblib", "p/weights.bin") and not scan.dangerous
    assert scan.to_json()["imports"] == []
    assert scan.to_json()["scanner"].startswith("picklescan ")
    refuse_dangerous(scan, wheel.name)  # nothing to refuse


def test_an_archive_without_pickles_scans_nothing(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", {"setup.py": "", "p.c": "int x;"}, top="p-1.0")
    assert scan_archive(sdist).scanned == ()


def test_a_recipe_accepts_a_dangerous_member_only_by_name_and_with_a_reason(
    tmp_path: Path,
) -> None:
    from builder.errors import RecipeError
    from builder.recipe import load_recipe

    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", {
        "old.pkl": pickle.dumps(RunsAShell()), "new.pkl": pickle.dumps(Evaluates()),
    }, top="p-1.0")  # fmt: skip
    scan = scan_archive(sdist)
    refuse_dangerous(scan, "p", {"p-1.0/old.pkl": "fixture", "p-1.0/new.pkl": "fixture"})
    with pytest.raises(ArchiveError, match=r"p-1.0/new.pkl imports builtins.eval") as info:
        refuse_dangerous(scan, "p", {"p-1.0/old.pkl": "a test fixture we read"})
    assert "old.pkl" not in info.value.message
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        '[package]\nname = "p"\nversion = "1.0"\n[sdist]\nfile = "p-1.0.tar.gz"\n'
        f'sha256 = "{"0" * 64}"\n[build]\nimage = "trixie-py"\n'
        '[[accept-pickles]]\nmember = "p-1.0/old.pkl"\n'
    )
    with pytest.raises(RecipeError, match=r"accept-pickles\[0\]\.reason: missing"):
        load_recipe(recipe)
    recipe.write_text(recipe.read_text() + 'reason = "a test fixture we read"\n')
    loaded = load_recipe(recipe)
    assert loaded.accepted_pickles == {"p-1.0/old.pkl": "a test fixture we read"}
    assert loaded.external_parameters()["accept_pickles"] == [
        {"member": "p-1.0/old.pkl", "reason": "a test fixture we read"}
    ]
