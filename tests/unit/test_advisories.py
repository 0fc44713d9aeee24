"""Known-malicious and known-vulnerable releases, from an OSV snapshot made in the test."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from builder.advisories.osv import parse_entry
from builder.advisories.snapshot import load, refresh, snapshot_path
from builder.cli import main
from builder.errors import AdvisoryError
from tests.conftest import json_output

pytestmark = pytest.mark.unit


def entry(ident: str, name: str, *ranges: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "modified": extra.pop("modified", "2026-11-20T10:00:00Z"),
        "summary": extra.pop("summary", f"about {name}"),
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": events} for events in ranges],
            "versions": extra.pop("versions", []),
        }],
        **extra,
    }  # fmt: skip


VULNERABLE = entry("GHSA-aaaa-bbbb-cccc", "Tiny_Lib", [{"introduced": "0"}, {"fixed": "2.3.1"}],
                   aliases=["CVE-2026-0001"], summary="a parser overflow")  # fmt: skip
MALICIOUS = entry("MAL-2026-42", "evil-pkg", [{"introduced": "0"}], summary="steals tokens")


@pytest.fixture
def osv_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "osv" / "pypi"
    folder.mkdir(parents=True)
    for e in (VULNERABLE, MALICIOUS):
        (folder / f"{e['id']}.json").write_text(json.dumps(e))
    return tmp_path / "osv"


@pytest.fixture
def store(tmp_path: Path, osv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("BUILDER_STORE", str(root))
    monkeypatch.chdir(tmp_path)  # no policy file of the repository's
    refresh(str(osv_dir), root)
    return root


@pytest.mark.parametrize(
    ("events", "version", "affected"),
    [
        ([{"introduced": "0"}, {"fixed": "2.0"}], "1.9", True),
        ([{"introduced": "0"}, {"fixed": "2.0"}], "2.0", False),
        ([{"introduced": "1.0"}, {"fixed": "2.0"}], "0.9", False),
        ([{"introduced": "1.0"}, {"last_affected": "1.5"}], "1.5", True),
        ([{"introduced": "1.0"}, {"last_affected": "1.5"}], "1.5.1", False),
        ([{"introduced": "1.0"}, {"limit": "1.2"}], "1.2", False),
        ([{"introduced": "1.0"}, {"fixed": "1.1"}, {"introduced": "2.0"}], "1.5", False),
        ([{"introduced": "1.0"}, {"fixed": "1.1"}, {"introduced": "2.0"}], "2.1", True),
    ],
)
def test_osv_ranges_are_evaluated_as_the_schema_says(
    events: list[dict[str, str]], version: str, affected: bool
) -> None:
    [advisory] = parse_entry(entry("X-1", "p", events), "x.json").advisories
    assert advisory.affects(version) is affected


def test_explicit_versions_count_and_pep440_spellings_compare_equal() -> None:
    [advisory] = parse_entry(entry("X-2", "p", versions=["1.0.0"]), "x.json").advisories
    assert advisory.affects("1.0") and not advisory.affects("1.0.1")


def test_an_entry_without_an_id_is_an_error_naming_the_file() -> None:
    with pytest.raises(AdvisoryError, match=r"broken\.json: the OSV entry has no id"):
        parse_entry({"modified": "2026-01-01T00:00:00Z"}, "broken.json")


def test_unknown_fields_are_named_and_unreadable_ranges_affect_every_version() -> None:
    odd = entry("X-3", "p", [{"introduced": "0"}, {"fixed_in": "2"}], novel_field=1)
    parsed = parse_entry(odd, "x.json")
    assert parsed.unknown_fields == ("novel_field",) and parsed.unreadable_range
    assert parsed.advisories[0].affects("99") is True


def test_refresh_reads_a_folder_a_zip_and_an_array_alike(tmp_path: Path, osv_dir: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as zf:
        for e in (VULNERABLE, MALICIOUS):
            zf.writestr(f"{e['id']}.json", json.dumps(e))
    array = tmp_path / "all.json"
    array.write_text(json.dumps([VULNERABLE, MALICIOUS]))
    for source in (osv_dir, dump, array):
        report = refresh(str(source), tmp_path / f"store-{source.suffix or 'dir'}")
        snapshot = report.snapshot
        assert snapshot.entries == 2 and snapshot.data_date == "2026-11-20T10:00:00Z"
        assert [a.id for a in snapshot.about("tiny-lib")] == ["GHSA-aaaa-bbbb-cccc"]


def test_a_truncated_snapshot_is_refused_not_read_as_empty(store: Path) -> None:
    path = snapshot_path(store)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(AdvisoryError, match="truncated or damaged"):
        load(store)


def test_an_edited_snapshot_is_refused(store: Path) -> None:
    path = snapshot_path(store)
    data = json.loads(path.read_text())
    data["advisories"] = [a for a in data["advisories"] if not a["malicious"]]
    path.write_text(json.dumps(data))
    with pytest.raises(AdvisoryError, match="damaged: its advisories hash to"):
        load(store)
    assert main(["check", "--name", "evil-pkg"]) == 17


def test_a_bad_source_fails_and_leaves_the_snapshot_as_it_was(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot_path(store).read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(VULNERABLE)[:50])
    assert main(["advisories", "refresh", "--from", str(cut)]) == 17
    assert f"{cut}: not JSON" in capsys.readouterr().err
    assert snapshot_path(store).read_bytes() == before


def test_a_truncated_zip_is_named_as_one_and_the_hint_says_nothing_was_lost(
    store: Path, tmp_path: Path, osv_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot_path(store).read_bytes()
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as zf:
        for file in sorted(osv_dir.rglob("*.json")):
            zf.write(file, file.name)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[:100])
    assert main(["advisories", "refresh", "--from", str(cut)]) == 17
    err = capsys.readouterr().err
    assert f"{cut}: a damaged or truncated zip" in err
    assert "the store's snapshot is left as it was" in err
    assert snapshot_path(store).read_bytes() == before


def test_a_name_refused_for_two_reasons_is_counted_once(
    store: Path, osv_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    squat = entry("MAL-2026-43", "reqeusts", [{"introduced": "0"}], summary="a typosquat")
    (osv_dir / "pypi" / "MAL-2026-43.json").write_text(json.dumps(squat))
    refresh(str(osv_dir), store)
    assert main(["check", "--name", "reqeusts==1.0", "--offline"]) == 14
    assert "1 name(s) refused: reqeusts (typosquat, malicious)" in capsys.readouterr().err


def test_check_refuses_a_malicious_name_and_says_the_snapshot_date(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--name", "evil-pkg", "--json"]) == 14
    out = capsys.readouterr()
    document = json_output(out.out, "check")
    [issue] = document["issues"]  # type: ignore[misc]
    assert issue["kind"] == "malicious" and issue["details"]["advisory"] == "MAL-2026-42"
    assert document["advisories"]["data_date"] == "2026-11-20T10:00:00Z"  # type: ignore[index]
    assert "advisories: OSV snapshot of 2026-11-20" in out.err


def test_check_reports_a_vulnerable_pin_with_its_fix_and_passes(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("tiny-lib==2.3.0\nother==1.0\n")
    assert main(["check", str(reqs)]) == 0
    err = capsys.readouterr().err
    assert "warning vulnerable: tiny-lib 2.3.0: GHSA-aaaa-bbbb-cccc (a parser overflow); " \
        "fixed in 2.3.1" in err  # fmt: skip
    reqs.write_text("tiny-lib==2.3.1\n")
    assert main(["check", str(reqs)]) == 0
    assert "vulnerable" not in capsys.readouterr().err


def test_a_policy_allows_an_advisory_by_id_with_a_reason(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "builder.toml"
    policy.write_text('[severity]\nvulnerable = "error"\n')
    assert main(["check", "--name", "tiny-lib==2.0"]) == 14
    policy.write_text(
        '[severity]\nvulnerable = "error"\n[advisories]\n'
        'allow = [{ id = "GHSA-aaaa-bbbb-cccc", reason = "we never parse untrusted input" }]\n'
    )
    capsys.readouterr()
    assert main(["check", "--name", "tiny-lib==2.0"]) == 0
    assert "allowed by the policy: we never parse untrusted input" in capsys.readouterr().err
    policy.write_text('[advisories]\nallow = [{ id = "GHSA-aaaa-bbbb-cccc" }]\n')
    assert main(["check", "--name", "tiny-lib==2.0"]) == 3
    assert "advisories.allow[0].reason: missing" in capsys.readouterr().err


def test_without_a_snapshot_check_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUILDER_STORE", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--name", "evil-pkg==1.0"]) == 0
    assert "no advisory snapshot in the store: releases were not checked" in (
        capsys.readouterr().err
    )


def test_recipe_new_refuses_a_malicious_release_before_any_download(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUILDER_INDEX_URL", "http://127.0.0.1:9/simple/")  # nothing answers
    assert main(["recipe", "new", "evil-pkg==1.0", "--output", "r.toml"]) == 14
    err = capsys.readouterr().err
    assert "malicious: every version of evil-pkg: known malicious (MAL-2026-42" in err
    assert not Path("r.toml").exists()


def test_advisories_show_summarizes_the_snapshot(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advisories", "show", "--json"]) == 0
    out = capsys.readouterr()
    assert json_output(out.out, "advisories")["snapshot"]["entries"] == 2  # type: ignore[index]
    assert "advisories: 1 of malicious releases, 1 of vulnerable ones" in out.err
