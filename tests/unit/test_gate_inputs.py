"""What the gate reads from the files a user names: every requirement pip or uv would
install from them, in the forms their tools write."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.gate.inputs import names_in, releases_in

HASHED = """\
requests==2.31.0 \\
    --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f \\
    --hash=sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1
    # via -r requirements.in
urllib3==2.2.1 ; python_version >= "3.8" \\
    --hash=sha256:450b20ec296a467077128bff42b73080516e71b56ff59a60a02bef2232c4fa9d
"""


def test_the_multi_line_hash_form_of_pip_compile_is_read(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(HASHED)
    assert names_in(path) == ["requests", "urllib3"]
    assert releases_in(path) == [("requests", "2.31.0"), ("urllib3", "2.2.1")]


def test_dependency_groups_and_uv_dev_dependencies_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["numpy"]\n'
        '[dependency-groups]\ndev = ["pytest", {include-group = "lint"}]\nlint = ["ruff"]\n'
        '[tool.uv]\ndev-dependencies = ["reqeusts"]\n'
    )
    assert names_in(path) == ["app", "numpy", "pytest", "ruff", "reqeusts"]


@pytest.mark.parametrize(
    "asked", ["reqeusts>=2.31", "reqeusts[socks]", 'reqeusts; python_version > "3"',
              "reqeusts @ https://example.invalid/reqeusts-1.0.tar.gz#sha256=00"],
)  # fmt: skip
def test_name_takes_any_requirement_and_checks_its_name(
    asked: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--offline", "--name", asked, "--store", str(tmp_path / "s")])
    assert code == 14 and "reqeusts resembles requests" in capsys.readouterr().err
