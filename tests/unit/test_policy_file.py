"""builder.toml is one file read one way: every command takes every section, and every
problem in it is said at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.errors import InputError
from builder.policy import policy_here, read_policy
from tests.conftest import REPO

WHOLE = """\
[names]
allow = ["sklearn"]
[severity]
vulnerable = "error"
[plan]
bootstrap = ["flit-core"]
[verify]
reproducible = "raw"
[publish]
max-glibc = "2.36"
"""


def test_one_file_holds_the_gate_the_plan_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "builder.toml"
    path.write_text(WHOLE)
    policy = read_policy(path)
    assert policy.gate.allow == ("sklearn",) and policy.gate.severity["vulnerable"] == "error"
    assert policy.plan.bootstrap == ("flit-core",)
    assert (policy.verify.reproducible, policy.verify.max_glibc) == ("raw", (2, 36))


def test_pyproject_holds_it_under_tool_builder(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("".join(
        line.replace("[", "[tool.builder.", 1) if line.startswith("[") else line
        for line in WHOLE.splitlines(keepends=True)
    ))  # fmt: skip
    assert read_policy(path).plan.bootstrap == ("flit-core",)


def test_every_problem_of_every_section_is_said_at_once(tmp_path: Path) -> None:
    path = tmp_path / "builder.toml"
    path.write_text('[tools]\n[severity]\ntyposquat = "loud"\n[plan]\nbootstrap = 3\n'
                    '[verify]\nreproducible = "mostly"\n')  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_policy(path)
    said = caught.value.message
    for key in ("tools", "severity.typosquat", "plan.bootstrap", "verify.reproducible"):
        assert f"{path}: {key}:" in said


def test_check_takes_a_file_with_verify_and_publish_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`builder check` once refused [publish], and verify refused the gate's sections."""
    (tmp_path / "builder.toml").write_text(WHOLE)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--offline", "--name", "requests", "--store", str(tmp_path / "s")]) == 0


def test_the_ml_stack_example_is_one_file() -> None:
    policy = read_policy(REPO / "recipes" / "ml-stack" / "builder.toml")
    assert policy.plan.image_packages and policy.verify.reproducible == "raw"


def test_the_organisations_policy_is_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUILDER_POLICY", raising=False)
    (tmp_path / "builder.toml").write_text('[names]\ninternal = ["acme-*"]\n')
    deep = tmp_path / "services" / "api"
    deep.mkdir(parents=True)
    assert policy_here(None, deep).gate.internal_names == ("acme-*",)
    monkeypatch.setenv("BUILDER_POLICY", str(tmp_path / "builder.toml"))
    assert policy_here(None, Path("/")).gate.internal_names == ("acme-*",)


def test_a_checked_projects_own_policy_only_tightens_the_organisations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project under check cannot set a severity to ignore, allow a name or declare
    its own index internal; it may raise a severity or add internal names."""
    monkeypatch.delenv("BUILDER_POLICY", raising=False)
    (tmp_path / "builder.toml").write_text(
        '[indexes]\ninternal = ["https://org.example/simple/"]\n[names]\ninternal = ["acme-*"]\n'
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.builder.severity]\ntyposquat = "ignore"\nconfusion = "ignore"\n'
        'vulnerable = "error"\n[tool.builder.names]\nallow = ["reqeusts"]\n'
        'internal = ["team-*"]\n[tool.builder.indexes]\n'
        'internal = ["https://attacker.example/simple/"]\n'
    )
    gate = policy_here(None, project).gate
    assert gate.severity["typosquat"] == "error" and gate.severity["confusion"] == "error"
    assert gate.severity["vulnerable"] == "error", "raised"
    assert gate.allow == () and gate.internal_indexes == ("https://org.example/simple/",)
    assert gate.internal_names == ("acme-*", "team-*")
    assert "tightened by" in gate.source


def test_no_policy_beside_a_private_index_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BUILDER_POLICY", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", "https://private.example/simple/")
    assert main(["check", "--offline", "--name", "requests", "--store", str(tmp_path / "s")]) == 0
    assert "internal names are not guarded" in capsys.readouterr().err


def test_without_an_organisations_policy_a_project_cannot_weaken_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack the issue names: a checked project whose [tool.builder] ignores every
    finding, with no builder.toml around it."""
    monkeypatch.delenv("BUILDER_POLICY", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.builder.severity]\ntyposquat = "ignore"\nconfusion = "ignore"\n'
        'malicious = "ignore"\n[tool.builder.names]\nallow = ["reqeusts"]\n'
    )
    gate = policy_here(None, tmp_path).gate
    assert gate.severity["typosquat"] == "error" and gate.severity["malicious"] == "error"
    assert gate.allow == ()
    assert main(["check", "--offline", "--name", "reqeusts", "--store", str(tmp_path / "s"),
                 str(tmp_path / "pyproject.toml")]) == 14  # fmt: skip
