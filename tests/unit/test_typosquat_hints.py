"""Hints: the shapes too many real projects share to report by the name alone, found only
when asked for (gate/hints.py; what the index's history makes of them:
tests/local/test_index_signals.py)."""

from __future__ import annotations

import pytest

from builder.gate.check import weighed
from builder.gate.signals import Evidence
from builder.gate.typosquat import Detector, load_popular

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_popular(None))


@pytest.mark.parametrize(
    ("name", "target", "rule"),
    [
        ("requests-beta", "requests", "joined-word"),  # after a plugin host too
        ("solana-coin", "solana", "joined-word"),  # a name below the top 3,000
        ("solana-transaction", "solana", "joined-word"),  # first, though less downloaded
        ("web3node", "web3", "glued-word"),
        ("etherrium", "ethereum", "edit-distance-2"),  # two edits, a long-tail name
        ("vper", "vyper", "edit-distance-1"),  # one edit, a short name
        ("wev3-py", "web3", "edit-distance-1"),  # the same, the ecosystem's word aside
        ("python-etherrium", "ethereum", "edit-distance-2"),
    ],
)
def test_a_hint_is_found_only_when_asked_for(
    detector: Detector, name: str, target: str, rule: str
) -> None:
    assert not [f for f in detector.check(name) if f.resembles == target]
    [found] = [f for f in detector.check(name, with_hints=True) if f.resembles == target]
    assert (found.rule, found.grade) == (rule, "hint") and found.why


def test_hints_come_after_the_findings_and_never_replace_one(detector: Detector) -> None:
    """reqeusts: requests by a swap (an error) first; a hint on the same target is not
    kept beside it."""
    found = detector.check("reqeusts", with_hints=True)
    assert (found[0].resembles, found[0].grade) == ("requests", "error")
    assert [f.grade for f in found] == sorted((f.grade for f in found), key="hint".__eq__)
    assert [f.resembles for f in found].count("requests") == 1


def test_a_word_in_the_middle_or_more_than_two_words_is_no_hint(detector: Detector) -> None:
    """A listed name below the top 3,000 (solana) inside a longer name, or with three
    words: how real projects are named more often than campaigns."""
    assert detector.check("my-solana-wallet", with_hints=True) == []
    assert detector.check("solana-tools-for-traders", with_hints=True) == []


def test_a_four_letter_word_glued_on_is_no_hint_without_a_digit(detector: Detector) -> None:
    """web3node: web3 glued on; flickpick: pick, a word as much as a name."""
    assert [f.rule for f in detector.check("web3node", with_hints=True)] == ["glued-word"]
    assert not [f for f in detector.check("flickpick", with_hints=True) if f.resembles == "pick"]


def test_a_big_familys_plugin_and_a_listed_name_at_the_end_are_no_hint(
    detector: Detector,
) -> None:
    """pytest- begins hundreds of listed names: its name with a word is the norm; a
    listed name at the end is how integrations are named (holoscan-inference): no hint."""
    assert detector.check("pytest-frobnicator", with_hints=True) == []
    assert detector.check("frobnicator-tools", with_hints=True) == []
    assert detector.check("eth-solana", with_hints=True) == []


NEW = Evidence("error", "first uploaded 3 days ago", new=True)
THIN = Evidence("error", "1 release, first uploaded 400 days ago")
ESTABLISHED = Evidence("warning", "an established project")
UNKNOWN = Evidence(None, "the index serves no upload times")


@pytest.mark.parametrize(
    ("grade", "policy", "evidence", "severity"),
    [
        ("hint", "error", None, None),  # offline: never reported
        ("hint", "error", NEW, "error"),
        ("hint", "warning", NEW, "warning"),  # never above the policy
        ("hint", "error", THIN, None),
        ("hint", "error", UNKNOWN, None),
        ("warning", "error", None, "warning"),
        ("warning", "error", THIN, "error"),
        ("error", "error", ESTABLISHED, "warning"),
        ("error", "error", UNKNOWN, "error"),
    ],
)
def test_a_finding_is_weighed_by_its_grade_and_the_index(
    grade: str, policy: str, evidence: Evidence | None, severity: str | None
) -> None:
    assert weighed(grade, policy, evidence) == severity
