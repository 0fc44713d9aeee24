"""Which typosquat findings are errors, and which warnings: the shapes real projects share.

A finding is an error unless its shape is one that legitimate projects have too, as
measured in bench/typosquat.py on the real projects of ranks 1,001-15,000, each judged
as if it were not on the popular list (the way a legitimate project outside it is):

- a popular name joined with another, or with a word (joined-popular, glued-popular,
  joined-word, glued-word): a plugin's name as much as a campaign's;
- names that differ only in digits, below the VERSIONED_RANK most downloaded
  (elasticsearch5 and elasticsearch6, nvidia-cufft-cu11 and -cu12, retry2 and retry,
  html2docx and htmldocx): major versions, builds, forks and successors;
- two plugins of one host whose last words are a letter apart (mypy-boto3-iam and
  mypy-boto3-oam, django-jinja and django-ninja): siblings, not imitations;
- a letter substituted, an affix, two edits, other separators, another word order or a
  confusable character, against a name below the LENIENT_RANK most downloaded: in the
  long tail of the list such names are mostly coincidences.

Swapped and doubled letters stay errors at any rank: campaigns use them, and of the
real projects of the list only three short ones (tdqm, daal, ttach). A letter omitted,
added or keyboard-adjacent stays an error too: grading it a warning below the top 3,000
cost more typosquats than false alarms. The index's history turns a warning into an
error for a project new on the index (signals.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from builder.gate.rules import NameRule

# A popular name joined with another or with a word (gate/composite.py).
JOINED_RULES: frozenset[NameRule] = frozenset(
    {"joined-popular", "glued-popular", "joined-word", "glued-word"}
)
# Single-edit and other rules that real projects of the long tail share by chance.
LONG_TAIL_RULES: frozenset[NameRule] = frozenset(
    {"substituted", "affix", "edit-distance-2", "separator", "word-order", "homoglyph"}
)
# Rules whose one changed letter may be a sibling plugin's other name.
SIBLING_RULES: frozenset[NameRule] = frozenset(
    {"substituted", "keyboard", "edit-distance-2", "homoglyph"}
)
LENIENT_RANK = 1000
# Names that differ only in digits are versions and forks below the VERSIONED_RANK most
# downloaded; above it, a digit dropped or added is worth an attacker's while (urllib for
# urllib3). A doubled or swapped digit is a typing slip, not a version (TYPING_RULES).
VERSIONED_RANK = 100
TYPING_RULES: frozenset[NameRule] = frozenset({"repeated", "swapped"})
_DIGITS = re.compile(r"\d")
# First words every project uses, which say nothing of a plugin family.
NOT_HOSTS = frozenset({"py", "py3", "python"})


@dataclass(frozen=True, slots=True)
class Grade:
    level: Literal["error", "warning"]
    why: str = ""  # for a warning: the reason, in words


def grade(
    rule: NameRule,
    name: str,
    target: str,
    rank: Mapping[str, int],
    hosts: Callable[[], frozenset[str]],
) -> Grade:
    """The grade of a finding that `name` (a PEP 503 name) imitates `target`: an error, or
    a warning for the shapes real projects share. `hosts` gives the plugin hosts
    (composite.plugin_hosts), asked for only where a sibling plugin is possible."""
    if rule in JOINED_RULES:
        return Grade("warning", "a popular name with another word is how plugins are named too")
    if rule not in TYPING_RULES and rank[target] >= VERSIONED_RANK and _versioned(name, target):
        return Grade("warning", "the names differ only in digits, as versions and forks do")
    if rule in SIBLING_RULES and _siblings(name, target, hosts()):
        return Grade("warning", "two plugins of one host, a letter apart")
    if rule in LONG_TAIL_RULES and rank[target] >= LENIENT_RANK:
        return Grade(
            "warning",
            f"{target} is not among the {LENIENT_RANK:,} most downloaded, where such a "
            "look-alike is mostly a coincidence",
        )
    return Grade("error")


def _versioned(name: str, target: str) -> bool:
    """Whether the names differ only in digits (html2docx and htmldocx, pyro4 and pyro5,
    retry2 and retry)."""
    a, b = name.replace("-", ""), target.replace("-", "")
    return a != b and _DIGITS.sub("", a) == _DIGITS.sub("", b)


def _siblings(name: str, target: str, hosts: frozenset[str]) -> bool:
    """Whether both names begin with the same plugin host's name (mypy-boto3-, django-)."""
    ours, theirs = name.split("-"), target.split("-")
    for i in range(1, min(len(ours), len(theirs))):
        host = "-".join(ours[:i])
        if ours[:i] == theirs[:i] and host in hosts and host not in NOT_HOSTS:
            return True
    return False
