"""A look-alike's history on the index (PEP 691 JSON, PEP 700 upload times), from a real
index on 127.0.0.1 that serves JSON pages."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from builder.cli import main
from tests.conftest import json_output
from tests.fixtures.json_index import JsonPages, iso, page, served

pytestmark = pytest.mark.local

PAGES = {
    "reqeusts": page("reqeusts", [("1.0", iso(6))]),
    "numpyy": page("numpyy", [(f"1.{i}", iso(3000 - 100 * i)) for i in range(12)]),
    "djang0": page("djang0", [("1.0", None), ("1.1", None)]),
    "urlib3": page("urlib3", [("1.0", "yesterday at noon")]),
    "pytest-pandas": page("pytest-pandas", [("0.1", iso(2))]),
    "requests-pandas": page("requests-pandas", [("0.1", iso(2000))]),
    "pytest-numpy": page("pytest-numpy", []),
    "requests-beta": page("requests-beta", [("2.32.0", iso(3))]),
    "solana-utils": page("solana-utils", [(f"0.{i}", iso(2000 - 150 * i)) for i in range(8)]),
    "solana-coin": page("solana-coin", [("1.0", iso(400))]),
    "freqtrade": page("freqtrade", [(f"2.{i}", iso(2200 - 40 * i)) for i in range(45)]),
    "freqtarde": page("freqtarde", [("2.4.1", iso(3))]),
}


class JsonIndex(JsonPages):
    def project(self, name: str) -> dict[str, object] | None:
        return PAGES.get(name)

    def listed(self) -> list[str]:
        return [*PAGES, "Some_Other.Project"]


class MeetingIndex(JsonIndex):
    """Holds each page until MEETING requests are in at once: sequential look-ups never
    meet, and each is answered 503 when the wait gives up."""

    MEETING = 3
    meeting: ClassVar[threading.Barrier]

    def do_GET(self) -> None:
        try:
            type(self).meeting.wait()
        except threading.BrokenBarrierError:
            self.send_error(503)
            return
        super().do_GET()


def serve(
    handler: type[JsonIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[JsonIndex]]:
    with served(handler) as url:
        monkeypatch.setenv("BUILDER_INDEX_URL", url)
        monkeypatch.setenv("BUILDER_STORE", str(tmp_path / "store"))
        yield handler


@pytest.fixture
def json_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[JsonIndex]]:
    yield from serve(JsonIndex, tmp_path, monkeypatch)


@pytest.fixture
def meeting_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[JsonIndex]]:
    MeetingIndex.meeting = threading.Barrier(MeetingIndex.MEETING, timeout=20)
    yield from serve(MeetingIndex, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "code", "severity", "said"),
    [
        ("reqeusts", 14, "error", "(6 days ago), 1 release(s), 1 file(s): a new project"),
        ("numpyy", 0, "warning", "12 release(s), 12 file(s): an established project"),
        ("djang0", 14, "error", "the index serves no upload times: name rules alone"),
        ("urlib3", 14, "error", "is malformed"),
        ("scikit-lean", 14, "error", "not on the index: whoever registers it first owns it"),
    ],
)
def test_a_look_alike_is_judged_with_its_history_on_the_index(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str],
    name: str, code: int, severity: str, said: str,
) -> None:  # fmt: skip
    assert main(["check", "--name", name, "--json"]) == code
    [issue] = json_output(capsys.readouterr().out, "check")["issues"]  # type: ignore[misc]
    assert issue["kind"] == "typosquat" and issue["severity"] == severity
    assert said in issue["message"] and said in issue["details"]["index"]
    assert json_index.asked == [name]


def test_offline_the_name_rules_alone_decide_and_nothing_is_asked(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "numpyy", "--offline"]) == 14
    assert "index:" not in capsys.readouterr().err
    assert json_index.asked == []


def test_two_popular_names_joined_are_a_warning_unless_the_project_is_new(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    """The shape plugins share (django-redis): offline a warning; a project the index
    first saw two days ago, with one release, an error; one with a single release five
    years old, a warning still (a thin history alone is how most real projects look); a
    name the index lists with no files, an error (whoever holds it can upload)."""
    assert main(["check", "--name", "pytest-pandas", "--offline"]) == 0
    assert "warning typosquat: pytest-pandas resembles pytest (joined-popular" in (
        capsys.readouterr().err
    )
    assert main(["check", "--name", "pytest-pandas"]) == 14
    assert "error typosquat: pytest-pandas resembles pytest" in capsys.readouterr().err
    assert main(["check", "--name", "requests-pandas"]) == 0
    err = capsys.readouterr().err
    assert "warning typosquat: requests-pandas resembles requests (joined-popular" in err
    assert "(2000 days ago), 1 release(s), 1 file(s)" in err
    assert main(["check", "--name", "pytest-numpy"]) == 14
    err = capsys.readouterr().err
    assert "error typosquat: pytest-numpy resembles numpy (joined-popular" in err
    assert "index: listed with no files: nothing to install" in err


def test_a_hint_is_an_error_for_a_new_project_and_nothing_for_an_older_one(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    """A listed name with a word (gate/hints.py), the shape of a plugin as much as of a
    campaign: reported for a project first uploaded days ago, not for one on the index
    for years, nor for one with a single release uploaded 400 days ago (thin, not new);
    offline it is not reported."""
    assert main(["check", "--name", "requests-beta", "--offline"]) == 0
    assert "typosquat" not in capsys.readouterr().err and json_index.asked == []
    assert main(["check", "--name", "requests-beta"]) == 14
    err = capsys.readouterr().err
    assert "error typosquat: requests-beta resembles requests (joined-word" in err
    assert "a hint: " in err and "a new project" in err
    assert main(["check", "--name", "solana-utils", "--name", "solana-coin"]) == 0
    assert "typosquat" not in capsys.readouterr().err
    # the second command's two look-ups run at once, in either order
    assert json_index.asked[0] == "requests-beta"
    assert sorted(json_index.asked[1:]) == ["solana-coin", "solana-utils"]


def test_a_lists_look_ups_run_at_once(
    meeting_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Three flagged names of one list are looked up together: the index answers none
    until all three are asked (one after the other, the first would wait in vain)."""
    listed = tmp_path / "requirements.txt"
    listed.write_text("reqeusts\nnumpyy\nrequests-beta\nrequests\n")
    assert main(["check", str(listed), "--json"]) == 14
    issues: Any = json_output(capsys.readouterr().out, "check")["issues"]
    said = {i["name"]: i["details"]["index"] for i in issues}
    assert "a new project" in said["reqeusts"]
    assert "an established project" in said["numpyy"]
    assert "a new project" in said["requests-beta"]
    assert sorted(meeting_index.asked) == ["numpyy", "reqeusts", "requests-beta"]


def test_a_policy_turns_the_hints_off(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """[typosquat] hints = false: a new project with a hint's shape is not reported, nor
    looked up (the index-name search, which would look it up, is off too); a value that is
    not a boolean is refused with its key named."""
    policy = tmp_path / "builder.toml"
    policy.write_text("[typosquat]\nhints = false\nfetch-index-names = false\n")
    assert main(["check", "--name", "requests-beta", "--policy", str(policy)]) == 0
    assert "typosquat" not in capsys.readouterr().err and json_index.asked == []
    policy.write_text('[typosquat]\nhints = "no"\n')
    assert main(["check", "--name", "requests-beta", "--policy", str(policy)]) == 3
    assert "typosquat.hints: expected true or false" in capsys.readouterr().err


def test_a_new_name_near_an_established_project_of_the_index_is_refused(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """freqtrade is not on the popular list; the index lists it, on the index six years
    with 45 releases. freqtarde, uploaded three days ago, one swap away and no other
    rule's: refused, the index's names fetched into the store the first time a name
    needs them (gate/names.py), and read from the store after; freqtrade itself passes."""
    assert main(["check", "--name", "freqtarde"]) == 14
    err = capsys.readouterr().err
    assert "fetching the index's names from http://127.0.0.1" in err
    assert f"index names: {len(PAGES) + 1} names of http://127.0.0.1" in err
    assert "error typosquat: freqtarde is 1 edit(s) from freqtrade, on the index since" in err
    assert "with 45 releases" in err and "a new project" in err
    assert (tmp_path / "store" / "gate" / "index-names.txt").is_file()
    assert json_index.roots == ["/simple/"]
    assert main(["check", "--name", "freqtarde", "--json"]) == 14
    out, err = capsys.readouterr()
    assert "fetching" not in err
    said = json_output(out, "check")["index_names"]
    assert isinstance(said, str) and said.startswith(f"{len(PAGES) + 1} names of http://")
    assert main(["check", "--name", "freqtrade"]) == 0
    assert "typosquat" not in capsys.readouterr().err
    assert json_index.roots == ["/simple/"]


def test_names_the_search_would_not_take_fetch_nothing(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    """A popular name, and an unlisted one of seven letters (searched from eight): the
    index's names are not fetched, nor is either looked up, and the report says why."""
    assert main(["check", "--name", "requests", "--name", "zqxwvut"]) == 0
    err = capsys.readouterr().err
    assert "index names: no snapshot of the index's names yet: no name needed them" in err
    assert json_index.roots == [] and json_index.asked == []


def test_a_policy_can_keep_the_gate_from_fetching_the_index_names(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """fetch-index-names = false: the names are searched only once `builder names
    refresh` put them in the store; until then freqtarde passes, and the report says so."""
    policy = tmp_path / "builder.toml"
    policy.write_text("[typosquat]\nfetch-index-names = false\n")
    assert main(["check", "--name", "freqtarde", "--policy", str(policy)]) == 0
    assert "index names: no snapshot of the index's names" in capsys.readouterr().err
    assert json_index.roots == []
    assert main(["names", "refresh"]) == 0
    assert main(["check", "--name", "freqtarde", "--policy", str(policy)]) == 14


def test_a_name_list_the_index_does_not_serve_is_said_and_nothing_is_written(
    json_index: type[JsonIndex],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An index whose root page lists no projects: the check runs on with the other
    rules, says on its "index names:" line why the names were not compared, and leaves
    nothing in the store's gate folder."""
    monkeypatch.setattr(JsonIndex, "listed", lambda self: [])
    assert main(["check", "--name", "freqtarde"]) == 0
    err = capsys.readouterr().err
    assert "index names: not fetched (http://127.0.0.1" in err
    assert "the index lists no projects" in err
    assert "names outside the popular list were not compared" in err
    gate = tmp_path / "store" / "gate"
    assert not gate.exists() or list(gate.iterdir()) == []


def test_a_policy_says_what_an_established_project_is(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """[typosquat] established-releases = 50: freqtrade's 45 releases no longer make it
    established, so freqtarde passes; 45 refuses it again; a value that is not a whole
    number is refused with its key named."""
    assert main(["names", "refresh"]) == 0
    policy = tmp_path / "builder.toml"
    policy.write_text("[typosquat]\nestablished-years = 5\nestablished-releases = 50\n")
    assert main(["check", "--name", "freqtarde", "--policy", str(policy)]) == 0
    assert "typosquat" not in capsys.readouterr().err
    policy.write_text("[typosquat]\nestablished-releases = 45\n")
    assert main(["check", "--name", "freqtarde", "--policy", str(policy)]) == 14
    assert "freqtarde is 1 edit(s) from freqtrade" in capsys.readouterr().err
    policy.write_text('[typosquat]\nestablished-years = "five"\n')
    assert main(["check", "--name", "freqtarde", "--policy", str(policy)]) == 3
    assert "typosquat.established-years: expected a whole number" in capsys.readouterr().err


def test_a_list_that_cannot_be_read_leaves_the_snapshot_as_it_was(
    json_index: type[JsonIndex], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A refresh from a page that is not there: exit 4, the path and the reason said, the
    snapshot of the last refresh untouched."""
    assert main(["names", "refresh"]) == 0
    snapshot = tmp_path / "store" / "gate" / "index-names.txt"
    before = snapshot.read_bytes()
    capsys.readouterr()
    url = os.environ["BUILDER_INDEX_URL"].replace("/simple/", "/nowhere/")
    assert main(["names", "refresh", "--from", url]) == 4
    err = capsys.readouterr().err
    assert f"{url}: the index's list of projects cannot be read" in err
    assert "the store's snapshot is left as it was" in err
    assert snapshot.read_bytes() == before
