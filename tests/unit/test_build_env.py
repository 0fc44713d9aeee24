from __future__ import annotations

from pathlib import Path

import pytest

from builder.build.run import build_env
from builder.recipe import load_recipe
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
    assert env["TMPDIR"] == "/build/tmp"  # under the root, which the prefix maps write as .
    assert env["CFLAGS"] == "-specs=/home/builder/.config/builder/prefix-map.specs"
    assert "--remap-path-prefix=/build=." in env["RUSTFLAGS"]
    assert set(env) == {
        "CARGO_HOME", "CARGO_NET_OFFLINE", "CFLAGS", "CXXFLAGS", "HOME", "LC_ALL", "PATH",
        "PIP_NO_INDEX", "PYTHONHASHSEED", "RUSTFLAGS", "SOURCE_DATE_EPOCH", "TMPDIR", "TZ",
    }  # fmt: skip


def test_recipe_flags_are_appended_after_the_prefix_maps(tmp_path: Path) -> None:
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    text = text.replace('image = "trixie-py"', 'image = "trixie-py"\nenv = { CFLAGS = "-O3" }')
    path = tmp_path / "markupsafe.toml"
    path.write_text(text)
    env = build_env(load_recipe(path), 1)
    assert env["CFLAGS"] == "-specs=/home/builder/.config/builder/prefix-map.specs -O3"
