"""builder reads pip's configuration files as pip does: the same value for each key as
pip's own Configuration, over global, user and PIP_CONFIG_FILE files, sections and key
spellings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.pip_config import pip_config_value, pip_configuration


def _pip_gets(key: str, env: dict[str, str]) -> str | None:
    """What pip's own configuration (pip's Configuration, as its commands load it) says
    for KEY under `env`: the oracle, run in a process of its own."""
    code = (
        "import sys\nfrom pip._internal.configuration import Configuration\n"
        "c = Configuration(isolated=False)\nc.load()\n"
        "try:\n    print(c.get_value(sys.argv[1]))\nexcept Exception:\n    sys.exit(3)\n"
    )
    got = subprocess.run([sys.executable, "-c", code, key], env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    return got.stdout.strip() if got.returncode == 0 else None


@pytest.mark.parametrize("with_env_file", [True, False])
def test_the_files_read_as_pip_config_list_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_env_file: bool
) -> None:
    xdg = tmp_path / "xdg-dirs" / "pip"
    xdg.mkdir(parents=True)
    (xdg / "pip.conf").write_text("[global]\nindex-url = http://global.example/simple/\n"
                                  "timeout = 9\n")  # fmt: skip
    user = tmp_path / "home" / ".config" / "pip"
    user.mkdir(parents=True)
    (user / "pip.conf").write_text(
        "[global]\nindex_url = http://user.example/simple/\n"
        "[install]\nExtra-Index-URL = http://extra.example/\n"
    )
    env = {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_DIRS": str(tmp_path / "xdg-dirs"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "PATH": os.environ["PATH"],
    }
    if with_env_file:
        named = tmp_path / "named.conf"
        named.write_text("[download]\nfind-links = /srv/links\n")
        env["PIP_CONFIG_FILE"] = str(named)
    for key in ("HOME", "XDG_CONFIG_DIRS", "XDG_CONFIG_HOME", "PIP_CONFIG_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ours = pip_configuration()
    keys = ("global.index-url", "global.timeout", "install.extra-index-url",
            "download.find-links", "global.cert")  # fmt: skip
    assert {k: ours.get(k) for k in keys} == {k: _pip_gets(k, env) for k in keys}
    expected_index = (
        "http://global.example/simple/" if with_env_file else "http://user.example/simple/"
    )
    assert pip_config_value("index-url") == expected_index


def test_pip_config_file_devnull_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert pip_configuration() == {}
