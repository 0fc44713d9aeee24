"""The project's own promises: CI runs the README's test command, and the code is lint-clean."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.DOTALL)


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    job, tests = _readme_commands()[:2]
    assert "python3 -m pytest" in tests and "builder build" in job
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run runs the README's test command, word for word"
    slow = next(i for i, line in enumerate(ci) if "python3 -m pytest -m slow" in line)
    assert ci.index(tests) < slow, "then the slow tier"
    assert ci[slow].lstrip().startswith("timeout --signal=INT"), "under CI's deadline"


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


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command builder has, by its words ("build", "key new"), with its parser."""
    from builder.cli import parser

    found: dict[str, argparse.ArgumentParser] = {}

    def walk(p: argparse.ArgumentParser, words: list[str]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[" ".join(words)] = p
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*words, name])

    walk(parser(), [])
    return found


def _options(p: argparse.ArgumentParser) -> set[str]:
    common = {"--help", "--verbose"}
    return {s for a in p._actions for s in a.option_strings if s.startswith("--")} - common


def test_docs_cli_md_lists_every_command_and_option_and_no_other() -> None:
    doc = (REPO / "docs" / "cli.md").read_text()
    rows = re.findall(r"^\| `builder ([^`]*)` \|", doc, re.MULTILINE)
    for command, p in _leaf_parsers().items():
        documented = " ".join(r for r in rows if r == command or r.startswith(f"{command} "))
        assert documented, f"docs/cli.md has no row for `builder {command}`"
        mentioned = set(re.findall(r"--[a-z][a-z-]*", documented))
        assert mentioned == _options(p), f"builder {command}: docs/cli.md differs from --help"


def test_docs_cli_md_exit_codes_are_the_ones_builder_uses() -> None:
    from builder.errors import exit_codes

    doc = (REPO / "docs" / "cli.md").read_text()
    table = re.findall(r"^\| (\d+) \| ?`?(\w*)`? ?\|", doc, re.MULTILINE)
    assert [(int(code), name) for code, name in table] == [(c, n) for c, n, _ in exit_codes()]
