"""The gate's rules, one entry each: the kind of issue, what it looks at, its default
severity (a policy's [severity] table changes it), and what to do about it.

A new rule is an entry here and the check that reports its kind (gate/check.py); a kind
or name rule spelt wrong is a type error (Kind, NameRule), and tests check that each has
its entry, its weight and its words in docs/gate.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal[
    "typosquat", "confusion", "unclaimed", "configuration", "direct-url", "malicious",
    "vulnerable", "new-release", "outcome", "unresolved",
]  # fmt: skip
Level = Literal["error", "warning", "ignore"]  # what a policy sets for a kind
Severity = Literal["error", "warning", "note", "ignore"]  # an issue's: note, allowed by policy
Looks = Literal["name", "release", "index configuration", "direct URL", "resolution"]
LEVELS: tuple[Level, ...] = get_args(Level)

# The typosquat detector's rules: how a name imitates a popular one (gate/typosquat.py
# weighs each, gate/severity.py grades their shapes).
NameRule = Literal[
    "homoglyph", "separator", "swapped", "keyboard", "repeated", "omitted", "word-order",
    "added", "substituted", "affix", "combination", "prefix-swap", "glued", "joined-popular",
    "glued-popular", "paired-popular", "joined-word", "glued-word", "truncated",
    "edit-distance-2", "edit-distance-1",
]  # fmt: skip
# A finding's grade: an error, a warning (a shape real projects share), or a hint (too
# common to report unless the index says the project is new).
Grade = Literal["error", "warning", "hint"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    kind: Kind
    looks_at: Looks
    severity: Level  # by default
    finds: str
    hint: str


RULES: tuple[Rule, ...] = (
    Rule(
        kind="typosquat", looks_at="name", severity="error",
        finds="a name that imitates a popular project's (weighed by the index's history)",
        hint="a false alarm? add the name to [names] allow in the policy",
    ),
    Rule(
        kind="confusion", looks_at="name", severity="error",
        finds="an internal name the public index also has, or asked for outside the "
        "internal indexes",
        hint="resolve internal names only from the internal indexes (no extra-index-url)",
    ),
    Rule(
        kind="unclaimed", looks_at="name", severity="warning",
        finds="an internal name nobody holds on the public index",
        hint="claim the name on the public index, or rename the internal project",
    ),
    Rule(
        kind="configuration", looks_at="index configuration", severity="error",
        finds="pip or uv configured to merge indexes or add find-links, or to take internal "
        "names from a public index",
        hint="name the internal index as the index URL; drop extra-index-url and find-links",
    ),
    Rule(
        kind="direct-url", looks_at="direct URL", severity="warning",
        finds="a requirement by URL with no hash fragment",
        hint="add #sha256=<digest> to the URL",
    ),
    Rule(
        kind="malicious", looks_at="release", severity="error",
        finds="a release an advisory calls malicious",
        hint="remove the release from the requirements; never install it",
    ),
    Rule(
        kind="vulnerable", looks_at="release", severity="warning",
        finds="a pinned release an advisory affects",
        hint="pin a fixed release, or accept the advisory in [advisories] allow with a reason",
    ),
    Rule(
        kind="new-release", looks_at="release", severity="error",
        finds="a pinned public release uploaded less than [releases] min-age-days ago "
        "(no cooldown unless set)",
        hint="pin an older release, wait until it is eligible, or allow it in [releases] "
        "allow with a reason",
    ),
    Rule(
        kind="outcome", looks_at="resolution", severity="error",
        finds="a file the user's resolver or a lock file takes that no index the policy "
        "allows for its name lists, or an internal name's file from outside the internal "
        "indexes' files",
        hint="find the configuration that sends the name there (the finding names the file "
        "and its URL), and take internal names only from internal indexes",
    ),
    Rule(
        kind="unresolved", looks_at="resolution", severity="warning",
        finds="the user's resolver could not resolve without building an sdist: the outcome "
        "was not checked, the names were",
        hint="check a lock file instead (pylock.toml, uv.lock, requirements with --hash)",
    ),
)  # fmt: skip
KINDS: tuple[Kind, ...] = tuple(r.kind for r in RULES)
DEFAULT_SEVERITY: dict[Kind, Level] = {r.kind: r.severity for r in RULES}


def rule(kind: Kind) -> Rule:
    return next(r for r in RULES if r.kind == kind)


def hints(kinds: Iterable[Kind]) -> str:
    """What to do about issues of these kinds, each rule's hint once."""
    return "; ".join(dict.fromkeys(rule(k).hint for k in kinds)) + " (docs/gate.md)"
