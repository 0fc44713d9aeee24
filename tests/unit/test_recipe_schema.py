"""A recipe's settings are one table (builder/recipe/schema.py): every field has its
entry, and what one form writes another reads back the same."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path

import tomlkit

from builder.limits import Limits
from builder.names import Sha256
from builder.recipe import Patch, RebuildPolicy, Recipe, Settings, load_settings, parse_recipe
from builder.recipe.load import recipe_from_parameters
from builder.recipe.schema import OVERRIDABLE, SETTINGS
from builder.resolve.new_recipe import NewRecipe
from tests.conftest import REPO

PINNED = {"path", "name", "version", "sdist", "image", "requires", "built"}
PATCH = "fix.patch"


def _every_setting(beside: Path) -> Settings:
    """Settings with every overridable setting away from its default."""
    (beside / PATCH).write_text("--- a\n+++ b\n")
    return Settings(
        image="trixie-py",
        env={"CFLAGS": "-O3", "A": "1"},
        extra_packages=("libyaml-dev",),
        compiled=True,
        limits=Limits(memory_mib=8192, cpus=1.5),
        rebuild=RebuildPolicy(fixed=("build-path",), also=("umask",), reason="the path"),
        patches=(Patch(file=PATCH, sha256=Sha256("c" * 64), path=beside / PATCH),),
        config_settings={"setup-args": ("-Dblas=openblas",), "b": "x"},
    )


def test_every_recipe_field_is_pinned_or_a_setting() -> None:
    assert {f.name for f in fields(Recipe)} - PINNED == {s.field for s in SETTINGS}
    assert {f.name for f in fields(Settings)} - {"image"} == {s.field for s in OVERRIDABLE}


def test_a_recipe_written_from_settings_reads_back_with_them(tmp_path: Path) -> None:
    settings = _every_setting(tmp_path)
    reference = REPO / "recipes" / "markupsafe.toml"
    base = parse_recipe(tomllib.loads(reference.read_text()), reference)
    new = NewRecipe(
        name=base.name, version=base.version, sdist=base.sdist, image="trixie-py",
        build_system_requires=(), requires=base.requires, settings=settings,
    )  # fmt: skip
    path = tmp_path / "written.toml"
    path.write_text(new.to_toml())
    recipe = parse_recipe(tomllib.loads(path.read_text()), path)
    assert {k: v for k, v in recipe.settings().items() if k in settings.settings()} == (
        settings.settings()
    )


def test_an_override_file_reads_what_a_recipe_would_write(tmp_path: Path) -> None:
    settings = _every_setting(tmp_path)
    reference = REPO / "recipes" / "markupsafe.toml"
    base = parse_recipe(tomllib.loads(reference.read_text()), reference)
    new = NewRecipe(
        name=base.name, version=base.version, sdist=base.sdist, image="trixie-py",
        build_system_requires=(), requires=(), settings=settings,
    )  # fmt: skip
    data = tomllib.loads(new.to_toml())
    override = {k: v for k, v in data.items() if k not in ("package", "sdist")}
    override["build"] = {k: v for k, v in data["build"].items() if k != "requires"}
    path = tmp_path / "override.toml"
    path.write_text(tomlkit.dumps(override))
    assert load_settings(path) == settings


def test_the_provenance_parameters_read_back_as_the_recipe(tmp_path: Path) -> None:
    reference = REPO / "recipes" / "markupsafe.toml"
    base = parse_recipe(tomllib.loads(reference.read_text()), reference)
    settings = _every_setting(tmp_path).settings()
    recipe = replace(
        base, **settings, source_date_epoch=1700000000, repair="skip",
        accepted_pickles={"model.pkl": "a test fixture"},
    )  # fmt: skip
    where = tmp_path / "a.intoto.jsonl"
    back = recipe_from_parameters(recipe.external_parameters(), settings["limits"].as_dict(),
                                  where)  # fmt: skip
    assert replace(back, path=recipe.path) == replace(
        recipe, patches=tuple(replace(p, path=tmp_path / p.file) for p in recipe.patches)
    )
