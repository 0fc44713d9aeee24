"""The gate's rules are one entry each: every kind and name rule has its entry, its
weight, and its words in docs/gate.md."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from builder.gate.rules import KINDS, RULES, Kind, NameRule, hints
from builder.gate.typosquat import WEIGHTS
from builder.policy import read_policy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gate.md"


def test_every_kind_has_one_rule() -> None:
    assert sorted(KINDS) == sorted(get_args(Kind))
    assert len(set(KINDS)) == len(KINDS)


def test_every_name_rule_has_a_weight() -> None:
    assert set(WEIGHTS) == set(get_args(NameRule))


def test_the_docs_table_the_rules_as_the_registry_says() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for r in RULES:
        assert f"| {r.kind} | {r.looks_at} | {r.severity} | {r.finds} | {r.hint} |" in text


def test_a_policy_can_set_every_kind_and_the_defaults_are_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "builder.toml"
    path.write_text("[severity]\n" + "".join(f'{k} = "ignore"\n' for k in KINDS))
    assert set(read_policy(path).gate.severity.values()) == {"ignore"}
    assert read_policy(None).gate.severity == {r.kind: r.severity for r in RULES}


def test_a_refusal_gives_each_kind_hint_once() -> None:
    said = hints(["typosquat", "typosquat", "vulnerable"])
    assert said.count("[names] allow") == 1 and "[advisories] allow" in said


@pytest.mark.parametrize(
    ("name", "pattern", "grade"),
    [
        ("wcorp-biling", "corp-billing", "error"),  # two edits on ten letters or more
        ("corp-biling", "corp-billing", "error"),
        ("c0rp-billing", "corp-billing", "error"),  # a confusable character
        ("corp-billing-v2", "corp-billing", "error"),  # an affix: what campaigns add
        ("acrne-utils", "acme-*", "error"),  # confusable characters in the beginning
        ("acne-cream", "acme-*", "warning"),  # an edit in the beginning: real projects
        ("acme-utils", "acme-*", None),  # internal itself
        ("ab-x", "ab-*", None),  # too short a beginning to judge
    ],
)
def test_look_alikes_of_internal_names(name: str, pattern: str, grade: str | None) -> None:
    from builder.gate.check import _imitated
    from builder.names import normalize

    found = _imitated(normalize(name), normalize(pattern))
    assert (found[0] if found else None) == grade
