from __future__ import annotations

from pathlib import Path

import pytest

from builder.errors import RecipeError
from builder.recipe import load_recipe
from tests.conftest import REPO

SHA = "a" * 64
GOOD = f"""
[package]
name = "MarkupSafe"
version = "3.0.3"

[sdist]
file = "markupsafe-3.0.3.tar.gz"
sha256 = "{SHA}"

[build]
image = "trixie-py"
env = {{ CFLAGS = "-O2" }}

[[build.requires]]
name = "setuptools"
version = "80.0.0"
file = "setuptools-80.0.0-py3-none-any.whl"
sha256 = "{"b" * 64}"

[limits]
memory_mib = 2048
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_valid_recipe_loads_with_normalized_name_and_pins(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, GOOD))
    assert recipe.name == "markupsafe"
    assert recipe.sdist.sha256 == SHA
    assert [r.file for r in recipe.requires] == ["setuptools-80.0.0-py3-none-any.whl"]
    assert recipe.limits.memory_mib == 2048
    assert recipe.env == {"CFLAGS": "-O2"}


def test_every_problem_is_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    text = GOOD.replace(f'sha256 = "{SHA}"', 'sha256 = "nothex"').replace(
        'image = "trixie-py"', 'imag = "trixie-py"'
    )
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = info.value.message
    assert f"{path}: sdist.sha256: expected 64 lowercase hex" in message
    assert f"{path}: build.imag: unknown key" in message
    assert f"{path}: build.image: missing" in message
    assert info.value.exit_code == 3


def test_sdist_file_must_belong_to_the_package(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("markupsafe-3.0.3.tar.gz", "markupsafe-2.0.0.tar.gz"))
    with pytest.raises(RecipeError, match=r"sdist.file: 'markupsafe-2.0.0.tar.gz' is not"):
        load_recipe(path)


def test_build_dep_wheel_must_match_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('name = "setuptools"', 'name = "setuptool"'))
    with pytest.raises(RecipeError, match=r"build.requires\[0\].file: .* is not a wheel of"):
        load_recipe(path)


def test_reproducibility_variables_cannot_be_overridden(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('CFLAGS = "-O2"', 'SOURCE_DATE_EPOCH = "1"'))
    with pytest.raises(RecipeError, match=r"build\.env\.SOURCE_DATE_EPOCH: set by builder"):
        load_recipe(path)


def test_missing_file_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="no such recipe"):
        load_recipe(tmp_path / "absent.toml")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(write(tmp_path, "[package\n"))


def test_reference_recipes_are_valid() -> None:
    from tests.conftest import REPO

    paths = sorted((REPO / "recipes").glob("*.toml"))
    assert {p.stem for p in paths} >= {"markupsafe", "msgpack", "safetensors"}
    for path in paths:
        load_recipe(path)


def test_a_rebuild_policy_that_fixes_a_variation_must_say_why(tmp_path: Path) -> None:
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    path = tmp_path / "r.toml"
    path.write_text(text + '\n[rebuild]\nfixed = ["build-path", "moon-phase"]\n')
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert "rebuild.fixed: expected a list of variations" in info.value.message
    path.write_text(text + '\n[rebuild]\nfixed = ["build-path"]\n')
    with pytest.raises(RecipeError, match=r"rebuild\.reason: say why"):
        load_recipe(path)


def test_the_safetensors_recipe_keeps_its_build_path_fixed_with_a_reason() -> None:
    from builder.variation import DEFAULT_KINDS

    policy = load_recipe(REPO / "recipes" / "safetensors.toml").rebuild
    assert policy.fixed == ("build-path",) and "out-of-workspace" in policy.reason
    assert policy.kinds(DEFAULT_KINDS) == DEFAULT_KINDS - {"build-path"}


def test_an_override_sets_image_env_packages_compiled_limits_and_names_every_bad_key(
    tmp_path: Path,
) -> None:
    from builder.limits import Limits
    from builder.recipe import load_settings

    good = tmp_path / "pyyaml.toml"
    good.write_text(
        '[build]\nimage = "trixie-backports-py"\nenv = { A = "1" }\n'
        'extra-packages = ["libyaml-dev"]\ncompiled = true\n'
        '[limits]\nmemory_mib = 8192\n[rebuild]\nfixed = ["build-path"]\n'
        'reason = "cargo hashes the path"\n'
    )
    settings = load_settings(good)
    assert settings.image == "trixie-backports-py"
    assert (dict(settings.env), settings.extra_packages, settings.compiled) == (
        {"A": "1"}, ("libyaml-dev",), True)  # fmt: skip
    assert settings.limits == Limits(memory_mib=8192)
    assert (settings.rebuild.fixed, settings.rebuild.reason) == (
        ("build-path",),
        "cargo hashes the path",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[build]\ncompiled = "yes"\nimage = 7\n[tools]\n[rebuild]\nfixed = ["uid"]\n')
    with pytest.raises(RecipeError) as info:
        load_settings(bad)
    message = str(info.value)
    assert all(k in message for k in ("build.compiled", "build.image", "tools", "rebuild.reason"))
