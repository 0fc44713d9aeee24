from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main


def test_recipe_check_reports_a_bad_recipe_with_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[package]\nname = "x"\n')
    assert main(["recipe", "check", str(bad)]) == 3
    err = capsys.readouterr().err
    assert "error:" in err and f"{bad}: package.version: missing" in err
    assert "hint:" in err


def test_reference_recipes_pass_recipe_check() -> None:
    from tests.conftest import REPO

    assert main(["recipe", "check", *map(str, (REPO / "recipes").glob("*.toml"))]) == 0


def test_usage_errors_exit_2() -> None:
    assert main(["build"]) == 2
    assert main(["no-such-command"]) == 2
