from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.errors import RecipeError
from tests.conftest import json_output


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
    from builder.recipe import PinnedFile
    from builder.resolve.new_recipe import NewRecipe, write_recipe

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


def test_diff_exits_0_for_identical_wheels_and_10_with_json_for_different_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from tests.unit.test_diff import BASE, make_wheel

    a = make_wheel(tmp_path / "a.whl", BASE)
    shutil.copyfile(a, tmp_path / "same.whl")
    b = make_wheel(tmp_path / "b.whl", [*BASE, ("pkg/new.py", b"")])
    assert main(["diff", str(a), str(tmp_path / "same.whl")]) == 0
    capsys.readouterr()
    assert main(["diff", "--json", str(a), str(b)]) == 10
    report = json_output(capsys.readouterr().out, "diff")
    assert report["identical"] is False and report["code_differs"] is True
    assert [m["name"] for m in report["members"]] == ["pkg/new.py"]
    assert main(["diff", str(a), str(tmp_path / "missing.whl")]) == 2


def test_diff_deep_hands_the_differing_member_to_diffoscope(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from tests.conftest import unavailable
    from tests.unit.test_diff import BASE, make_wheel

    if shutil.which("diffoscope") is None:
        unavailable("diffoscope", "the README's test command installs diffoscope-minimal")
    changed = [(n, b"print('changed')\n" if n.endswith(".py") else d) for n, d in BASE]
    a = make_wheel(tmp_path / "a.whl", BASE)
    b = make_wheel(tmp_path / "b.whl", changed)
    assert main(["diff", "--deep", str(a), str(b)]) == 10
    out, err = capfd.readouterr()
    assert out == "", "diffoscope's report is a report for people: stderr"
    assert "print('changed')" in err and "__init__.py" in err


class _Backend:
    def __init__(self, name: str) -> None:
        self.name = name


def _factory(name: str, available: bool):  # type: ignore[no-untyped-def]
    from builder.errors import SandboxUnavailable

    def make() -> _Backend:
        if not available:
            raise SandboxUnavailable(f"no {name} here")
        return _Backend(name)

    return make


@pytest.mark.parametrize(
    ("sandbox", "cgroup", "docker", "picked", "said"),
    [
        (True, True, True, "sandbox", "a cgroup holds the limits"),
        (True, False, True, "docker", "could make no cgroup"),
        (True, False, False, "sandbox", "limits by rlimits"),
        (False, True, True, "docker", "no sandbox here"),
    ],
)
def test_auto_prefers_the_sandbox_only_where_it_holds_every_limit(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, sandbox: bool, cgroup: bool, docker: bool, picked: str, said: str
) -> None:
    from builder.cli import common
    from builder.sandbox import cgroups

    monkeypatch.setattr(cgroups, "can_make", lambda: cgroup)
    chosen = common._auto(_factory("sandbox", sandbox), _factory("docker", docker))
    assert chosen.name == picked
    err = capsys.readouterr().err
    assert f"backend: {picked} (auto: " in err
    assert said in err
