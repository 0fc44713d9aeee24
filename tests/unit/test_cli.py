from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.errors import RecipeError


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


def test_recipe_new_refuses_to_replace_a_recipe_and_leaves_it_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from builder.names import Sha256, normalize
    from builder.new_recipe import NewRecipe, write_recipe
    from builder.recipe import PinnedFile

    existing = tmp_path / "p.toml"
    existing.write_text("# mine\n")
    sdist = PinnedFile(name=normalize("p"), version="1", file="p-1.tar.gz", sha256=Sha256("0" * 64))
    new = NewRecipe(
        name=sdist.name, version="1", sdist=sdist, image="i", build_system_requires=(), requires=()
    )
    with pytest.raises(RecipeError, match="exists"):
        write_recipe(new, existing)
    assert existing.read_text() == "# mine\n"
    write_recipe(new, existing, force=True)
    assert 'file = "p-1.tar.gz"' in existing.read_text()
