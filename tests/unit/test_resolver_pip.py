"""The pip a plan's locks run: the wheel ensurepip installs, run straight from the wheel."""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from builder.inside import driver


def test_the_resolver_pip_runs_from_the_wheel_ensurepip_would_install(tmp_path: Path) -> None:
    wheel = driver.bundled_pip()
    assert wheel.is_file() and wheel.name.startswith("pip-") and wheel.suffix == ".whl"
    venv.create(tmp_path / "resolver", with_pip=False)  # as run_lock makes it: no ensurepip
    python = tmp_path / "resolver" / "bin" / "python"
    said = subprocess.run([str(python), str(wheel / "pip"), "--version"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert f"from {wheel / 'pip'}" in said, said


def test_the_newest_pip_wheel_of_the_distributions_folder_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("pip-9.0.3-py2.py3-none-any.whl", "pip-25.1.1-py3-none-any.whl",
                 "setuptools-78.1.1-py3-none-any.whl"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    wanted = {"WHEEL_PKG_DIR": str(tmp_path)}
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda n: wanted.get(n) or real(n))
    assert driver.bundled_pip() == tmp_path / "pip-25.1.1-py3-none-any.whl"


def test_a_python_without_a_pip_wheel_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sysconfig, "get_config_var", lambda n: str(tmp_path / "none"))
    monkeypatch.setattr(driver.ensurepip, "__file__", str(tmp_path / "ensurepip" / "x.py"))
    with pytest.raises(driver.BuilderError, match="no pip wheel"):
        driver.bundled_pip()
