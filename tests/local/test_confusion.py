"""Dependency confusion with real indexes on 127.0.0.1, a real pip and a real uv."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.cli import main
from tests.conftest import json_output
from tests.local.conftest import StaticIndex

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null", "UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin"}


def test_naive_pip_with_an_extra_index_installs_the_attackers_package(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    internal, public = indexes
    out = tmp_path / "pip"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
         "--disable-pip-version-check", "-d", str(out), "--index-url", internal.url,
         "--extra-index-url", public.url, "acme-triton"],
        check=True, env=NO_CONFIG,
    )  # fmt: skip
    assert [p.name for p in out.iterdir()] == ["acme_triton-3.0-py3-none-any.whl"]


def test_naive_uv_best_match_resolves_to_the_attackers_package(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path
) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is a test dependency (pip install -e '.[test]')")
    internal, public = indexes
    result = subprocess.run(
        [uv, "pip", "compile", "-", "--no-cache", "--quiet", "--no-header",
         "--python", sys.executable, "--index-url", internal.url,
         "--extra-index-url", public.url, "--index-strategy", "unsafe-best-match"],
        input="acme-triton\n", capture_output=True, text=True, check=True, env=NO_CONFIG,
    )  # fmt: skip
    assert "acme-triton==3.0" in result.stdout


def test_the_gate_stops_the_same_resolution_and_says_why(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-triton", "--policy", str(policy), "--json"]) == 14
    report = json_output(capsys.readouterr().out, "check")
    (issue,) = report["issues"]
    assert issue["kind"] == "confusion" and issue["severity"] == "error"
    assert "3.0" in issue["message"] and "internal 1.0" in issue["message"]
    assert list(issue["details"]["public"].values()) == [["3.0"]]


def test_an_internal_name_the_public_index_lacks_is_reported_as_registrable(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-secret", "--policy", str(policy)]) == 0
    err = capsys.readouterr().err
    assert "warning unclaimed" in err and "an attacker could register it" in err


def test_a_public_copy_with_a_lower_version_is_a_warning(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-stable", "--policy", str(policy)]) == 0
    assert "internal 9.0 is newer today" in capsys.readouterr().err


def test_a_configuration_that_merges_indexes_is_refused(
    policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/simple/")
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
    assert "PIP_EXTRA_INDEX_URL is set" in capsys.readouterr().err


def test_a_typosquat_in_a_requirements_file_is_refused_against_local_indexes_only(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.32.0\nreqeusts==1.0  # the attacker's\n")
    assert main(["check", str(requirements), "--policy", str(policy)]) == 14
    err = capsys.readouterr().err
    assert "reqeusts resembles requests (swapped" in err
    assert "requests resembles" not in err


def test_the_same_version_on_both_indexes_with_other_bytes_is_an_error(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "acme-same", "--policy", str(policy)]) == 14
    err = capsys.readouterr().err
    assert "same version 1.0 with a different file" in err and "newer today" not in err


def test_a_direct_url_for_an_internal_name_outside_the_internal_index_is_refused(
    policy: Path, indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    wheel = "acme_triton-3.0-py3-none-any.whl"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"acme-triton @ {public.url.removesuffix('simple/')}files/{wheel}\n")
    assert main(["check", str(requirements), "--policy", str(policy), "--json"]) == 14
    issues = json_output(capsys.readouterr().out, "check")["issues"]
    kinds = sorted((i["kind"], i["severity"]) for i in issues if "direct URL" in i["message"])
    assert kinds == [("confusion", "error"), ("direct-url", "warning")]
    # Into the internal index and pinned by hash: neither finding.
    digest = hashlib.sha256((internal.root / "files" / "acme_triton-1.0-py3-none-any.whl")
                            .read_bytes()).hexdigest()  # fmt: skip
    url = f"{internal.url.removesuffix('simple/')}files/acme_triton-1.0-py3-none-any.whl"
    requirements.write_text(f"acme-triton @ {url}#sha256={digest}\n")
    main(["check", str(requirements), "--policy", str(policy), "--json"])
    issues = json_output(capsys.readouterr().out, "check")["issues"]
    assert [i for i in issues if "direct URL" in i["message"]] == []


@pytest.mark.parametrize("variable", ["PIP_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX"])
def test_an_index_configuration_that_is_not_internal_is_refused(
    variable: str, policy: Path, indexes: tuple[StaticIndex, StaticIndex],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    monkeypatch.setenv(variable, public.url)
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
    assert f"{variable} is {public.url}, which the policy does not name internal" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv(variable, internal.url)
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 0


def test_a_uv_toml_index_that_is_not_internal_is_refused(
    policy: Path, indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, public = indexes
    (tmp_path / "uv.toml").write_text(f'[[index]]\nname = "pypi"\nurl = "{public.url}"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
    assert "uv.toml ([[index]] pypi) is" in capsys.readouterr().err


def test_an_install_section_index_in_pip_conf_is_held_to_the_policy(
    policy: Path, indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """[install] index-url beside [global]: pip install takes the [install] one."""
    internal, public = indexes
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {internal.url}\n[install]\nindex-url = {public.url}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    said = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert f"install.index-url='{public.url}'" in said, "pip reads it so"
    assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
    assert f"pip's configuration (install.index-url) is {public.url}" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["PIP_FIND_LINKS", "UV_FIND_LINKS", "pip.conf"])
def test_find_links_beside_the_indexes_is_refused(
    where: str, policy: Path, indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A find-links folder holding the attacker's acme-triton 3.0: real pip, pointed at the
    internal index only, installs it from there."""
    internal, public = indexes
    links = public.root / "files"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
         "--disable-pip-version-check", "-d", str(tmp_path / "got"), "--index-url",
         internal.url, "--find-links", str(links), "acme-triton"],
        check=True, env=NO_CONFIG | {"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert pip.returncode == 0
    assert [p.name for p in (tmp_path / "got").iterdir()] == ["acme_triton-3.0-py3-none-any.whl"]
    if where == "pip.conf":
        conf = tmp_path / "pip.conf"
        conf.write_text(f"[global]\nfind-links = {links}\n")
        monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    else:
        monkeypatch.setenv(where, str(links))
    assert main(["check", "--name", "acme-triton", "--policy", str(policy)]) == 14
    assert "shadow an internal name" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "code", "said"),
    [
        ("acrne-utils", 14, "resembles the internal name acme-* (confusable characters"),
        ("acme-triton", 14, "public index has 3.0"),  # internal itself: the confusion rules
        ("acne-cream", 0, "resembles the internal name acme-* (an edit in its beginning)"),
        ("acme", 0, ""),
    ],
)
def test_look_alikes_of_internal_names_are_flagged(
    name: str, code: int, said: str, policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--offline", "--name", name, "--policy", str(policy)]) == code
    assert said in capsys.readouterr().err


def test_no_index_configured_at_all_is_refused_with_internal_names(
    policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing configured: pip and uv take every name, internal ones too, from their own
    default index."""
    for variable in ("PIP_INDEX_URL", "BUILDER_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.chdir(policy.parent)
    assert main(["check", "--name", "acme-secret", "--policy", str(policy)]) == 14
    assert "no index is configured" in capsys.readouterr().err
