from __future__ import annotations

from pathlib import Path

import pytest

from builder.inside.compilers import WRAPPERS, CompilerFlags
from builder.recipe import load_recipe
from builder.wheelbuild.run import build_env
from tests.conftest import REPO


def test_the_build_environment_is_the_recipe_plus_reproducibility_settings_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILDER_TEST_CANARY", "leak")
    env = build_env(load_recipe(REPO / "recipes" / "markupsafe.toml"), 1234)
    assert "BUILDER_TEST_CANARY" not in env
    assert env["SOURCE_DATE_EPOCH"] == "1234"
    assert env["TZ"] == "UTC"
    assert env["LC_ALL"] == "C.UTF-8"
    assert env["PYTHONHASHSEED"] == "0"
    assert env["HOME"] == "/home/builder"
    assert env["TMPDIR"] == "/buildroot/tmp"  # under the root, which the prefix maps write as .
    assert env["PATH"].split(":")[:2] == ["/opt/builder/venv/bin", WRAPPERS]
    assert set(env) == {
        "CARGO_HOME", "CARGO_NET_OFFLINE", "HOME", "LC_ALL", "PATH", "PIP_NO_INDEX",
        "PYTHONHASHSEED", "SOURCE_DATE_EPOCH", "TMPDIR", "TZ",
    }  # fmt: skip
    # no CFLAGS: set, they would replace the flags setuptools takes from the image's Python


def test_a_recipes_flags_go_to_the_compiler_wrappers_not_the_environment(
    tmp_path: Path,
) -> None:
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    flags = (
        'env = { CFLAGS = "-march=x86-64-v2 -DNAME=\\"a b\\"", RUSTFLAGS = "-Cdebuginfo=0", '
        'X = "1" }'
    )
    path = tmp_path / "markupsafe.toml"
    path.write_text(text.replace('image = "trixie-py"', f'image = "trixie-py"\n{flags}'))
    recipe = load_recipe(path)
    env = build_env(recipe, 1)
    assert "CFLAGS" not in env and "RUSTFLAGS" not in env and env["X"] == "1"
    assert CompilerFlags.of_env(recipe.env) == CompilerFlags(
        c=("-march=x86-64-v2", "-DNAME=a b"), rust=("-Cdebuginfo=0",)
    )


def test_the_grafted_libraries_are_the_files_auditwheel_copied_in_not_their_folder(
    tmp_path: Path,
) -> None:
    import zipfile

    from builder.wheelbuild.run import grafted_libraries

    wheel = tmp_path / "numpy-2.5.5-cp313-cp313-manylinux_2_38_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name in ("numpy/__init__.py", "numpy.libs/", "numpy.libs/libopenblasp-r0.so"):
            zf.writestr(name, "")
    assert grafted_libraries(wheel) == ("numpy.libs/libopenblasp-r0.so",)
