"""A release-age cooldown ([releases] min-age-days): a public release younger than the
policy's days is refused, with its upload time and the day it becomes eligible, from a
real JSON index on 127.0.0.1 (PEP 700 upload times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from tests.conftest import json_output
from tests.fixtures.json_index import JsonPages, iso, page, served

PAGES = {
    "fresh-lib": page("fresh-lib", [("1.0", iso(100)), ("2.0", iso(1))]),
    "untimed-lib": page("untimed-lib", [("1.0", None)]),
}


class Index(JsonPages):
    def project(self, name: str) -> dict[str, object] | None:
        return PAGES.get(name)


def _check(
    tmp_path: Path, policy: str, pin: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, object]]]:
    with served(Index) as url:
        path = tmp_path / "builder.toml"
        path.write_text(f'[indexes]\npublic = ["{url}"]\n' + policy)
        code = main(["check", "--name", pin, "--policy", str(path), "--offline", "--json",
                     "--store", str(tmp_path / "store")])  # fmt: skip
    issues = json_output(capsys.readouterr().out, "check")["issues"]
    return code, [i for i in issues if i["kind"] == "new-release"]  # type: ignore[union-attr]


def test_a_release_younger_than_the_cooldown_is_refused_saying_when_it_is_eligible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, (issue,) = _check(tmp_path, "[releases]\nmin-age-days = 7\n", "fresh-lib==2.0", capsys)
    assert code == 14 and issue["severity"] == "error"
    assert "was uploaded" in issue["message"] and "eligible on" in issue["message"]


def test_an_older_release_and_no_cooldown_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(tmp_path, "[releases]\nmin-age-days = 7\n", "fresh-lib==1.0", capsys) == (0, [])
    assert _check(tmp_path, "", "fresh-lib==2.0", capsys) == (0, []), "off unless set"


def test_a_release_allowed_with_a_reason_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ('[releases]\nmin-age-days = 7\nallow = [{ release = "Fresh_Lib==2.0", '
              'reason = "the fix we waited for" }]\n')  # fmt: skip
    code, (issue,) = _check(tmp_path, policy, "fresh-lib==2.0", capsys)
    assert code == 0 and issue["severity"] == "note"
    assert "allowed by the policy: the fix we waited for" in issue["message"]


def test_an_index_that_gives_no_upload_times_cannot_pass_a_cooldown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, (issue,) = _check(tmp_path, "[releases]\nmin-age-days = 7\n", "untimed-lib==1.0",
                            capsys)  # fmt: skip
    assert code == 14 and "cannot be checked" in issue["message"]


def test_a_release_the_public_index_does_not_know_has_no_cooldown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An internal project (hosted by an internal index, not by the public one)."""
    assert _check(tmp_path, "[releases]\nmin-age-days = 7\n", "acme-own==1.0", capsys) == (0, [])
