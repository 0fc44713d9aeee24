"""Errors and warnings: the shapes real projects share are warnings (gate/severity.py); a
plugin host's name with a word is no finding, nor a short name's substitution (the
names each rule finds, with their grades: test_typosquat_composite.py)."""

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


def test_a_plugin_hosts_name_with_a_word_is_no_finding(detector: Detector) -> None:
    """pytest-, django-, types-: a plugin's name, the way its host's family is named."""
    assert detector.check("pytest-frobnicator") == []
    assert not [f for f in detector.check("types-boto3-frob") if f.rule == "joined-word"]


def test_a_short_name_is_judged_for_slips_only(detector: Detector) -> None:
    """Four letters one substitution apart are too many to flag (web3, wev3)."""
    assert not [f for f in detector.check("wev3") if f.resembles == "web3"]
