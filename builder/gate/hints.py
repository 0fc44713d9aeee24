"""Shapes a name shares with too many real projects to report by the name alone.

Most reported typosquats the other rules miss are one of four shapes: a listed name of
any rank with a word or two after it (`requests-beta`, `solana-coin`,
`deepface-weights`, `pymem-win`: the shape of a plugin, after a plugin host too), the
same glued on (`web3node`, `solanautil`), two edits on a long listed name, its first
letter kept (`etherrium` for `ethereum`, `playwrgith`), or one edit on a short one
(`vper` for `vyper`, `cick`); the edits on the name with the ecosystem's own word at its
start or end taken off too (`wev3-py`, `py-web4`). About one popular real project in six
has one of these shapes (bench/typosquat.py), so they are hints: the gate reports one
only where the index says the project was first uploaded within 90 days or is not there
at all (gate/signals.py), as a reported typosquat is when it is found; an older project,
thin or not, or an index that cannot say, drops it. They flag about one new real project
in twenty more than the other rules do. Offline they are not computed at all;
`[typosquat] hints = false` turns them off.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from builder.gate import composite
from builder.gate.rules import NameRule

WORD_LENGTH = 4  # a listed name this long (separators aside) is a hint with a word
EDGE_WORDS = 2  # ...at the name's start, with at most this many other words
TWO_EDITS_LENGTH = 8  # two edits on listed names this long (separators aside)
SHORT = (4, 6)  # one edit on listed names this long, from names of 3-5 letters
# A name this many listed names begin with (django-, pytest-, types-, flask-, azure-)
# heads a family so big that its name with a word is the norm, no hint (requests-: 29).
FAMILY = 50
# The ecosystem's own word, which a name may carry at its start or end without saying more.
ECOSYSTEM = ("py", "python")

WHY = "a shape many real projects share, reported only for a project new on the index"


class Hints:
    """The hint rules over one popular list (PEP 503 names, most downloaded first)."""

    def __init__(self, popular: Sequence[str], rank: Mapping[str, int]) -> None:
        self.popular = popular
        self.rank = rank

    @cached_property
    def _keys(self) -> dict[str, str]:
        """separator-free key -> the most downloaded name with it."""
        found: dict[str, str] = {}
        for p in self.popular:
            found.setdefault(p.replace("-", ""), p)
        return found

    @cached_property
    def _endings(self) -> frozenset[str]:
        return composite.common_endings(self.popular)

    @cached_property
    def _families(self) -> frozenset[str]:
        return composite.plugin_hosts(self.popular, FAMILY)

    @cached_property
    def _long(self) -> dict[str, str]:
        return {p: k for k, p in self._keys.items() if len(k) >= TWO_EDITS_LENGTH}

    @cached_property
    def _short(self) -> dict[str, str]:
        low, high = SHORT
        return {p: k for k, p in self._keys.items() if low <= len(k) <= high}

    def find(self, name: str) -> Iterator[tuple[NameRule, list[str], str]]:
        """(rule, targets, detail) for the hints `name` (a PEP 503 name) gives."""
        key = name.replace("-", "")
        if "-" in name and (worded := self.head_word(name)):
            target, rest = worded
            yield "joined-word", [target], f"{target!r} joined with {'-'.join(rest)!r}"
        elif "-" not in name and (stuck := self.glued(key)):
            yield "glued-word", [stuck[0]], f"{stuck[0]!r} with {stuck[1]!r} glued on"
        for core, said in without_ecosystem(name):
            core_key = core.replace("-", "")
            if len(core_key) >= TWO_EDITS_LENGTH - 2:
                near = [t for t in self._within(core_key, self._long, 2) if t[0] == core_key[0]]
                yield "edit-distance-2", near, f"two edits, the first letter kept{said}"
            if SHORT[0] - 1 <= len(core_key) <= SHORT[1] - 1:
                near = self._within(core_key, self._short, 1)
                yield "edit-distance-1", near, f"one edit, a short name{said}"

    def head_word(self, name: str) -> tuple[str, list[str]] | None:
        """(target, the rest) when `name` begins with a listed name of WORD_LENGTH letters
        or more, joined by "-" with at most EDGE_WORDS words; the most downloaded such
        name. None after a big family's head (FAMILY). A listed name at the end is how
        integrations are named (`holoscan-inference`): as a hint it flagged 8 of the 495
        new real projects of the bench's tuning half and caught two reported typosquats
        (`eth-web3`; `python3-shodan`, an affix now), while it named the wrong target for
        two more (`solana-transaction` as `transaction`)."""
        parts = name.split("-")
        if any("-".join(parts[:i]) in self._families for i in range(1, len(parts))):
            return None
        best: tuple[str, list[str]] | None = None
        for size in range(max(1, len(parts) - EDGE_WORDS), len(parts)):
            whole = "-".join(parts[:size])
            at = self.rank.get(whole)
            if at is None or len(whole.replace("-", "")) < WORD_LENGTH:
                continue
            if best is None or at < self.rank[best[0]]:
                best = whole, parts[size:]
        return best

    def glued(self, key: str) -> tuple[str, str] | None:
        """(target, what is glued on) when the separator-free `key` begins or ends with a
        listed name's key of WORD_LENGTH letters or more, two letters or more glued on;
        the longest such name (at the end, not one of the common endings). A name of
        WORD_LENGTH letters counts only with a digit (web3): without, it is mostly a word
        glued into another (flickpick, treegraph)."""
        for target, rest, at_end in composite.glued_splits(key, self._keys, WORD_LENGTH):
            if at_end and target in self._endings:
                continue
            if len(key) - len(rest) > WORD_LENGTH or any(c.isdigit() for c in target):
                return target, rest
        return None

    @staticmethod
    def _within(key: str, choices: Mapping[str, str], distance: int) -> list[str]:
        """Names in `choices` (name -> separator-free key) exactly `distance` edits away."""
        scored = process.extract(
            key, choices, scorer=DamerauLevenshtein.distance, score_cutoff=distance,
            limit=None,
        )  # fmt: skip
        return [name for _, found, name in scored if found == distance]


def without_ecosystem(name: str) -> Iterator[tuple[str, str]]:
    """(`name`, "") and, when it begins or ends with the ecosystem's own word (ECOSYSTEM)
    as a word of its own, (the rest, what was taken off, in words): `wev3-py` is `wev3`."""
    yield name, ""
    parts = name.split("-")
    if len(parts) > 1 and parts[0] in ECOSYSTEM:
        yield "-".join(parts[1:]), f", without {parts[0] + '-'!r}"
    if len(parts) > 1 and parts[-1] in ECOSYSTEM:
        yield "-".join(parts[:-1]), f", without {'-' + parts[-1]!r}"
