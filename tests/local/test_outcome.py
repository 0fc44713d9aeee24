"""The outcome decides: `builder check` runs the resolver the user runs (real pip, real uv)
under the user's configuration, and reads lock files entry by entry; every file taken
must be one an index the policy allows for its name lists. Each case first shows the
resolver taking the attacker's file, then builder refusing it. Real indexes on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.cli import main
from tests.conftest import json_output
from tests.local.conftest import StaticIndex

ATTACKER = "acme_triton-3.0-py3-none-any.whl"


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: Path) -> Path:
    """A user whose pip and uv read only what each test gives them: a project folder with
    the policy, an empty home, no machine find-links, the internal index as pip's."""
    for variable in (
        "PIP_FIND_LINKS",
        "UV_FIND_LINKS",
        "PIP_EXTRA_INDEX_URL",
        "UV_INDEX_URL",
        "UV_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_DEFAULT_INDEX",
    ):
        monkeypatch.delenv(variable, raising=False)  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(policy, project / "builder.toml")
    return project


def _check(*args: str) -> int:
    return main(["check", "--offline", *args])


def test_pip_taking_an_internal_name_from_find_links_is_refused_by_its_outcome(
    indexes: tuple[StaticIndex, StaticIndex], user: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    (user / "requirements.txt").write_text("acme-triton\n")
    monkeypatch.setenv("PIP_INDEX_URL", internal.url)
    monkeypatch.setenv("PIP_FIND_LINKS", str(public.files))
    report = user / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                    "-q", "--report", str(report), "-r", str(user / "requirements.txt")],
                   check=True)  # fmt: skip
    taken = json.loads(report.read_text())["install"][0]["download_info"]["url"]
    assert taken.endswith(ATTACKER), "pip takes the attacker's file from find-links"
    # With the configuration finding silenced, the outcome alone still refuses it.
    policy = user / "builder.toml"
    policy.write_text(policy.read_text() + '[severity]\nconfiguration = "ignore"\n')
    assert _check(str(user / "requirements.txt"), "--resolver", "pip", "--json") == 14
    found = json_output(capsys.readouterr().out, "check")
    (issue,) = [i for i in found["issues"] if i["kind"] == "outcome"]
    said = issue["message"]
    assert ATTACKER in said and "outside the internal indexes' files" in said
    assert "pip takes 1 file(s)" in found["outcome"]


def test_uv_with_a_user_level_extra_index_is_refused_by_its_outcome(
    indexes: tuple[StaticIndex, StaticIndex], user: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    (user / "requirements.txt").write_text("acme-triton\n")
    uv_toml = Path(os.environ["XDG_CONFIG_HOME"]) / "uv" / "uv.toml"
    uv_toml.parent.mkdir(parents=True)
    uv_toml.write_text(f'index-url = "{internal.url}"\n[[index]]\nurl = "{public.url}"\n')
    compiled = subprocess.run(
        ["uv", "pip", "compile", "requirements.txt", "--quiet", "--no-header",
         "--python", sys.executable],
        cwd=user, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "acme-triton==3.0" in compiled, "uv searches the user's extra index first"
    policy = user / "builder.toml"
    policy.write_text(policy.read_text() + '[severity]\nconfiguration = "ignore"\n')
    assert _check(str(user / "requirements.txt"), "--json") == 14  # uv chosen: it is configured
    found = json_output(capsys.readouterr().out, "check")
    assert "uv takes" in found["outcome"]
    messages = [i["message"] for i in found["issues"] if i["kind"] == "outcome"]
    assert any(ATTACKER in m and "outside the internal indexes' files" in m for m in messages)


def test_a_clean_resolution_passes_with_both_resolvers(
    indexes: tuple[StaticIndex, StaticIndex], user: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, _ = indexes
    (user / "requirements.txt").write_text("acme-secret\n")
    monkeypatch.setenv("PIP_INDEX_URL", internal.url)
    monkeypatch.setenv("UV_INDEX_URL", internal.url)
    for resolver in ("pip", "uv"):
        assert _check(str(user / "requirements.txt"), "--resolver", resolver) == 0
        assert f"outcome: {resolver} takes 1 file(s)" in capsys.readouterr().err


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("form", ["pylock.toml", "uv.lock", "requirements.txt"])
def test_a_lock_pinning_the_attackers_file_is_refused_entry_by_entry(
    form: str, indexes: tuple[StaticIndex, StaticIndex], user: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """acme-stable: internal 9.0, and the attacker's 1.0 on the public index (by name, a
    warning only: the internal release is newer)."""
    internal, public = indexes
    good = internal.files / "acme_stable-9.0-py3-none-any.whl"
    bad = public.files / "acme_stable-1.0-py3-none-any.whl"
    for wheel, origin, code in ((good, internal, 0), (bad, public, 14)):
        version = "9.0" if wheel is good else "1.0"
        url = f"{origin.url.removesuffix('simple/')}files/{wheel.name}"
        lock = user / form
        lock.write_text(_lock(form, version, url, _sha256(wheel), origin.url))
        assert _check(str(lock)) == code, capsys.readouterr().err
        said = capsys.readouterr().err
        if code:
            assert "outcome" in said and f"acme-stable {version}" in said


def _lock(form: str, version: str, url: str, sha256: str, index: str) -> str:
    if form == "pylock.toml":
        return (
            f'lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\nname = "acme-stable"\n'
            f'version = "{version}"\nindex = "{index}"\n'
            f'wheels = [{{ url = "{url}", hashes = {{ sha256 = "{sha256}" }} }}]\n'
        )
    if form == "uv.lock":
        return (
            f'version = 1\n[[package]]\nname = "acme-stable"\nversion = "{version}"\n'
            f'source = {{ registry = "{index}" }}\n'
            f'wheels = [{{ url = "{url}", hash = "sha256:{sha256}" }}]\n'
        )
    return f"acme-stable=={version} \\\n    --hash=sha256:{sha256}\n"


@pytest.mark.parametrize("key", ["url", "git"])
def test_a_uv_source_taking_an_internal_name_elsewhere_is_refused(
    key: str, user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = user / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\nversion = "1"\ndependencies = ["acme-triton"]\n'
                         f'[tool.uv.sources]\nacme-triton = {{ {key} = '
                         '"https://attacker.example/acme_triton-3.0.tar.gz" }\n')  # fmt: skip
    assert _check(str(pyproject), "--resolver", "none") == 14
    assert f"sources.acme-triton.{key}" in capsys.readouterr().err


def test_the_configuration_is_read_from_the_checked_files_folder(
    indexes: tuple[StaticIndex, StaticIndex], user: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, public = indexes
    (user / "uv.toml").write_text(f'[[index]]\nurl = "{public.url}"\n')
    (user / "requirements.txt").write_text("requests\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert _check(str(user / "requirements.txt"), "--resolver", "none") == 14
    assert f"{user / 'uv.toml'} ([[index]] ) is {public.url}" in capsys.readouterr().err


def test_configuration_findings_are_warnings_where_the_outcome_was_judged_clean(
    indexes: tuple[StaticIndex, StaticIndex], user: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """find-links that holds nothing the resolution takes: said, and the outcome decides;
    without a resolution to judge, the configuration decides (an error)."""
    internal, _ = indexes
    (user / "requirements.txt").write_text("acme-secret\n")
    empty = tmp_path / "links"
    empty.mkdir()
    monkeypatch.setenv("PIP_INDEX_URL", internal.url)
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    assert _check(str(user / "requirements.txt"), "--resolver", "pip") == 0
    said = capsys.readouterr().err
    assert "warning configuration: PIP_FIND_LINKS is set" in said
    assert "the outcome decides, and was judged" in said
    assert _check(str(user / "requirements.txt"), "--resolver", "none") == 14
