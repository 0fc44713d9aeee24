"""The store's snapshot of the index's names (gate/names.py): the near-name search, and a
damaged snapshot refused with its path (the refresh from a real index:
tests/local/test_index_signals.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from builder.errors import StoreError
from builder.gate import names
from builder.gate.signals import History

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_the_near_names_are_within_one_edit_of_a_long_name_or_two_of_a_longer_one() -> None:
    """Among 900,000 names a short one is near another by chance: a name of fewer than
    eight letters is not searched, one of fewer than fourteen within one edit only."""
    listed = names.NameList("test", NOW, ("freqtrade", "freqtrades", "capmonstercloudclient",
                                          "frog", "fretrade-x", "volta"))  # fmt: skip
    assert listed.near("freqtrae") == [("freqtrade", 1)]  # 8 letters: one edit
    assert listed.near("freqtarde") == [("freqtrade", 1)]  # freqtrades is two
    assert names.NameList.near(listed, "capmonstercoudclent") == [("capmonstercloudclient", 2)]
    assert listed.near("voltai") == []  # too short to search
    assert listed.near("voltai", one_edit=5) == [("volta", 1)]
    assert "freqtrade" not in dict(listed.near("freqtrade"))  # never itself


def test_an_established_project_has_years_and_releases() -> None:
    old = NOW - timedelta(days=6 * 365)
    assert names.established(History(45, 90, old, NOW), NOW)
    assert not names.established(History(9, 18, old, NOW), NOW)  # too few releases
    assert not names.established(History(45, 90, NOW - timedelta(days=800), NOW), NOW)
    assert not names.established(History(45, 90, None, None), NOW)  # no upload times


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda text: text.replace("freqtrade", "freqtrad3"), "damaged: its names hash to"),
        (lambda text: text.replace("builder/index-names/v1", "v0"), "not an index-name snapshot"),
        (lambda text: text.replace("sha256\t", "sha\t"), "cannot be read"),
    ],
)
def test_a_damaged_snapshot_is_refused_with_its_path(
    tmp_path: Path, damage: object, said: str
) -> None:
    path = names.snapshot_path(tmp_path)
    path.parent.mkdir(parents=True)
    body = "freqtrade\nrequests\n"
    import hashlib

    digest = hashlib.sha256(body.encode()).hexdigest()
    path.write_text(f"format\t{names.FORMAT}\nsource\ttest\nfetched\t{NOW.isoformat()}\n"
                    f"names\t2\nsha256\t{digest}\n\n{body}")  # fmt: skip
    assert names.load(tmp_path) is not None
    assert names.said(tmp_path) == "2 names of test, fetched 2026-11-27"
    path.write_text(damage(path.read_text()))  # type: ignore[operator]
    with pytest.raises(StoreError) as raised:
        names.load(tmp_path)
    assert str(path) in raised.value.message and said in raised.value.message
    assert "builder names refresh" in (raised.value.hint or "")
