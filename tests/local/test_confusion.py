"""Dependency confusion with real indexes on 127.0.0.1, a real pip and a real uv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.cli import main
from tests.conftest import json_output
from tests.local.conftest import StaticIndex

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null", "UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin"}


def test_naive_pip_with_an_extra_index_installs_the_attackers_package(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    internal, public = indexes
    out = tmp_path / "pip"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
         "--disable-pip-version-check", "-d", str(out), "--index-url", internal.url,
         "--extra-index-url", public.url, "acme-triton"],
        check=True, env=NO_CONFIG,
    )  # fmt: skip
    assert [p.name for p in out.iterdir()] == ["acme_triton-3.0-py3-none-any.whl"]


def test_naive_uv_best_match_resolves_to_the_attackers_package(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is a test dependency (pip install -e '.[test]')")
    internal, public = indexes
    result = subprocess.run(
        [uv, "pip", "compile", "-", "--no-cache", "--quiet", "--no-header",
         "--python", sys.executable, "--index-url", internal.url,
         "--extra-index-url", public.url, "--index-strategy", "unsafe-best-match"],
        input="acme-triton\n", capture_output=True, text=True, check=True, env=NO_CONFIG,
    )  # fmt: skip
    assert "acme-triton==3.0" in result.stdout


def test_the_gate_stops_the_same_resolution_and_says_why(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-triton", "--policy", str(policy), "--json"]) == 14
    report = json_output(capsys.readouterr().out, "check")
    (issue,) = report["issues"]
    assert issue["kind"] == "confusion" and issue["severity"] == "error"
    assert "3.0" in issue["message"] and "internal 1.0" in issue["message"]
    assert list(issue["details"]["public"].values()) == [["3.0"]]


def test_an_internal_name_the_public_index_lacks_is_reported_as_registrable(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-secret", "--policy", str(policy)]) == 0
    err = capsys.readouterr().err
    assert "warning unclaimed" in err and "an attacker could register it" in err


def test_a_public_copy_with_a_lower_version_is_a_warning(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-stable", "--policy", str(policy)]) == 0
    assert "internal 9.0 is newer today" in capsys.readouterr().err


def test_a_configuration_that_merges_indexes_is_refused(
    policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/simple/")
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
    assert "PIP_EXTRA_INDEX_URL is set" in capsys.readouterr().err


def test_a_typosquat_in_a_requirements_file_is_refused_against_local_indexes_only(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.32.0\nreqeusts==1.0  # the attacker's\n")
    assert main(["check", str(requirements), "--policy", str(policy)]) == 14
    err = capsys.readouterr().err
    assert "reqeusts resembles requests (swapped" in err
    assert "requests resembles" not in err
