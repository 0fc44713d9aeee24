"""The project's own promises: CI runs the README's test command, and the code is lint-clean."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.DOTALL)


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    job, tests = _readme_commands()[:2]
    assert "python3 -m pytest" in tests and "builder build" in job
    ci = (REPO / ".ci" / "run").read_text().rstrip("\n").splitlines()
    assert ci[-1] == tests


def test_mypy_strict_finds_nothing_in_builder() -> None:
    """mypy --strict over the package (settings in pyproject.toml)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(REPO / ".mypy_cache")],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_nothing_to_fix_or_reformat() -> None:
    folders = ["builder", "tests", "bench"]
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, *folders],
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
