"""Errors and warnings: the shapes real projects share are warnings (gate/severity.py), and
the rules added with them: a popular name with any word, a year, short names' slips."""

from __future__ import annotations

import pytest

from builder.gate import severity
from builder.gate.typosquat import Detector, load_popular

pytestmark = pytest.mark.unit

RANK = {"requests": 5, "pyro5": 7459, "urllib3": 3, "mypy-boto3-iam": 2160, "py-cord": 6184}
HOSTS = frozenset({"mypy", "mypy-boto3", "py"})


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_popular(None))


@pytest.mark.parametrize(
    ("rule", "name", "target", "grade"),
    [
        ("keyboard", "pyro4", "pyro5", "warning"),  # one digit for another: a major version
        ("added", "pyro52", "pyro5", "warning"),  # digits added: a successor
        ("omitted", "urllib", "urllib3", "error"),  # a top-100 name: worth a digit dropped
        ("repeated", "pyro55", "pyro5", "error"),  # a doubled digit is a slip, not a version
        ("substituted", "mypy-boto3-oam", "mypy-boto3-iam", "warning"),  # sibling plugins
        ("omitted", "mypy-boto3-ia", "mypy-boto3-iam", "error"),  # a letter lost is no sibling
        ("substituted", "py-cird", "py-cord", "warning"),  # the long tail of the list
        ("swapped", "py-corf", "py-cord", "error"),  # ...but not for a swap
        ("substituted", "reqvests", "requests", "error"),  # py-/python- host no family
        ("joined-word", "requests-beta", "requests", "warning"),
    ],
)
def test_a_finding_is_graded_by_its_shape_and_its_target_rank(
    rule: str, name: str, target: str, grade: str
) -> None:
    found = severity.grade(rule, name, target, RANK, lambda: HOSTS)
    assert found.level == grade
    assert bool(found.why) == (grade == "warning")


def test_py_is_no_plugin_host_for_siblings() -> None:
    assert severity.grade("keyboard", "py-corx", "py-cord", RANK, lambda: HOSTS).level == "error"


@pytest.mark.parametrize(
    ("name", "target", "rule", "grade"),
    [
        ("web3-checksum", "web3", "joined-word", "warning"),
        ("stripe-commands", "stripe", "joined-word", "warning"),
        ("httpxhelp", "httpx", "glued-word", "warning"),
        ("python-dateutil-malicious", "python-dateutil", "joined-word", "warning"),  # python-
        # begins many names but hosts no plugin family
        ("requests-2022", "requests", "combination", "error"),  # a year is a campaign's word
        ("new-requests-2021", "requests", "combination", "error"),
        ("request2022", "requests", "glued", "error"),
        ("cccxt", "ccxt", "repeated", "error"),  # a four-letter name, a letter doubled
        ("wbe3", "web3", "swapped", "error"),  # ...or two letters swapped
        ("elasticsearch4", "elasticsearch5", "keyboard", "warning"),  # a version, not a typo
    ],
)
def test_a_name_is_found_with_its_rule_and_grade(
    detector: Detector, name: str, target: str, rule: str, grade: str
) -> None:
    found = {f.resembles: f for f in detector.check(name)}
    assert target in found, detector.check(name)
    assert (found[target].rule, found[target].grade) == (rule, grade)


def test_a_plugin_hosts_name_with_a_word_is_no_finding(detector: Detector) -> None:
    """pytest-, django-, types-: a plugin's name, the way its host's family is named."""
    assert detector.check("pytest-frobnicator") == []
    assert not [f for f in detector.check("types-boto3-frob") if f.rule == "joined-word"]


def test_a_short_name_is_judged_for_slips_only(detector: Detector) -> None:
    """Four letters one substitution apart are too many to flag (web3, wev3)."""
    assert not [f for f in detector.check("wev3") if f.resembles == "web3"]
