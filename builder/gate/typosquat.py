"""Find the popular packages a name imitates, and how.

Rules, each with a weight: confusable characters (l/1/I, 0/o, rn/m, vv/w), separator
tricks (scikit_learn, scikitlearn), swapped words, added affixes (python-, python3-, py,
-dev, -lib, -sdk, -ml, 2/3, -nightly), keyboard-adjacent substitutions, and edit distance
(Damerau-Levenshtein: swapped, repeated, omitted, added or substituted characters) with a
threshold that grows with length. The popular list ships with builder
(data/popular-pypi.txt) and can be replaced.

Speed: exact-match rules are dictionary lookups on normalized keys; edit distance uses a
deletion index (every popular name with one character deleted), so a name is compared
only with the few popular names that share a deletion, never with all of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from importlib import resources
from itertools import permutations
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from builder.errors import InputError
from builder.gate import composite, hints, severity
from builder.gate.rules import Grade, NameRule
from builder.names import NormalizedName, normalize

SUFFIXES = ("-python", "-py", "-dev", "-lib", "-sdk", "-ml", "-nightly", "-api", "2", "3")
CONFUSABLES = (("rn", "m"), ("vv", "w"), ("1", "l"), ("i", "l"), ("0", "o"), ("5", "s"))
WEIGHTS: dict[NameRule, float] = {
    "homoglyph": 0.95,
    "separator": 0.9,
    "swapped": 0.9,
    "keyboard": 0.85,
    "repeated": 0.85,
    "omitted": 0.8,
    "word-order": 0.8,
    "added": 0.75,
    "substituted": 0.7,
    "affix": 0.7,
    "combination": 0.75,
    "prefix-swap": 0.75,
    "glued": 0.7,
    "joined-popular": 0.6,
    "glued-popular": 0.55,
    "paired-popular": 0.65,
    "joined-word": 0.5,
    "glued-word": 0.45,
    "truncated": 0.7,
    "edit-distance-2": 0.6,
    "edit-distance-1": 0.5,  # a hint's only (gate/hints.py)
}
# Two edits on a name at all would hit real projects by chance; on the hundred most
# downloaded names of eight letters or more it catches requesxt and requetses (requests)
# while flagging 0.1-0.2 points more of the legitimate look-alikes (bench/typosquat.py).
TWO_EDITS_TOP = 100
TWO_EDITS_LENGTH = 8
# Popular names this short are judged for a doubled or swapped letter only.
SHORT = 4
_KEYBOARD_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_SEPARATORS = re.compile(r"[-_.]+")
_SINGLE_CONFUSABLES = str.maketrans({fake: real for fake, real in CONFUSABLES[2:]})


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    resembles: str
    rule: NameRule
    score: float
    detail: str
    grade: Grade = "error"  # or "warning": the shapes real projects share (gate/severity.py),
    # or "hint": a shape too common to report unless the index says the project is new
    # (gate/hints.py)
    why: str = ""  # for a warning: the reason, in words


@cache
def adjacent_keys() -> dict[str, set[str]]:
    """The keys next to each key on a QWERTY keyboard (made on first use)."""
    positions = {c: (r, i) for r, row in enumerate(_KEYBOARD_ROWS) for i, c in enumerate(row)}
    adjacent: dict[str, set[str]] = defaultdict(set)
    for a, (ra, ia) in positions.items():
        for b, (rb, ib) in positions.items():
            if a != b and abs(ra - rb) <= 1 and abs(ia - ib) <= 1:
                adjacent[a].add(b)
    return adjacent


def collapse(name: str) -> str:
    """The name without separators (a PEP 503 name has only "-" left)."""
    return (
        name.replace("-", "")
        if "_" not in name and "." not in name
        else (_SEPARATORS.sub("", name))
    )


def deconfuse(name: str) -> str:
    return _deconfused(collapse(name))


def _deconfused(key: str) -> str:
    """The confusable pairs (rn, vv) first, then the single letters."""
    for fake, real in CONFUSABLES[:2]:
        if fake in key:
            key = key.replace(fake, real)
    return key.translate(_SINGLE_CONFUSABLES)


def words(name: str) -> tuple[str, ...]:
    parts = name.split("-") if "_" not in name and "." not in name else _SEPARATORS.split(name)
    return tuple(sorted(w for w in parts if w))


def strip_affixes(name: str) -> set[str]:
    """The name with one known prefix and/or suffix removed (each a real PyPI habit)."""
    bare = {name}
    for prefix in composite.PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            bare.add(name[len(prefix) :].strip("-_."))
    for candidate in list(bare):
        for suffix in SUFFIXES:
            if candidate.endswith(suffix) and len(candidate) > len(suffix) + 2:
                bare.add(candidate[: -len(suffix)].strip("-_."))
    bare.discard(name)
    return bare


def max_distance(name: str) -> int:
    """Short names collide by chance; the tolerance grows with length."""
    length = len(collapse(name))
    if length < 5:
        return 0
    return 1 if length < 10 else 2


def _deletions(key: str) -> set[str]:
    """The key and every string one deletion away: two names within one edit (or two, in
    many cases) share one of these (symmetric deletion, as in SymSpell)."""
    return {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}


def classify_edit(name: str, target: str) -> NameRule:
    """Which single edit turns `target` into `name` (or edit-distance-2)."""
    a, b = collapse(name), collapse(target)
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]:
            return "swapped"
        if len(diffs) == 1:
            i = diffs[0]
            return "keyboard" if a[i] in adjacent_keys().get(b[i], ()) else "substituted"
    if len(a) == len(b) + 1:
        for i in range(len(a)):
            if a[:i] + a[i + 1 :] == b:
                repeated = (i > 0 and a[i - 1] == a[i]) or (i + 1 < len(a) and a[i + 1] == a[i])
                return "repeated" if repeated else "added"
    if len(a) + 1 == len(b):
        return "omitted"
    return "edit-distance-2"


class Detector:
    """The rules over one popular list. Its indexes are built on first use; the deletion
    index (the costly one) only once more than LINEAR_QUERIES names were checked: before
    that, a name's edit-distance candidates come from one scan of the popular list in
    rapidfuzz's C code, filtered to what the index would give, so that one name at the
    command line costs milliseconds and both ways find the same."""

    LINEAR_QUERIES = 16

    def __init__(
        self,
        popular: Sequence[str],
        allow: Iterable[str] = (),
        flag_popular: bool = False,
        plugin_hosts: frozenset[str] | None = None,
    ) -> None:
        """`plugin_hosts` (composite.plugin_hosts) are read from `popular` unless given:
        a detector over a shortened list judges as one over the whole list would."""
        self.popular = [normalize(p) for p in popular]
        self._plugin_hosts = plugin_hosts
        self.rank: dict[str, int] = {p: i for i, p in reversed(list(enumerate(self.popular)))}
        self.allow = {normalize(a) for a in allow}
        self.flag_popular = flag_popular
        self._queries = 0

    # The popular names are PEP 503 names: "-" is their only separator, so the keys below
    # are plain string methods (the same as collapse, deconfuse and words give).

    @cached_property
    def _collapsed(self) -> list[str]:
        return [p.replace("-", "") for p in self.popular]

    @cached_property
    def by_collapsed(self) -> dict[object, list[str]]:
        return _grouped(zip(self._collapsed, self.popular, strict=True))

    @cached_property
    def by_confusable(self) -> dict[object, list[str]]:
        # the keys deconfused as one text (no key holds a newline): one pass, not 15,000
        keys = _deconfused("\n".join(self._collapsed)).split("\n")
        return _grouped(zip(keys, self.popular, strict=True))

    @cached_property
    def by_words(self) -> dict[object, list[str]]:
        return _grouped((tuple(sorted(p.split("-"))), p) for p in self._multi_word)

    @cached_property
    def by_joined_order(self) -> dict[object, list[str]]:
        return _grouped((k, p) for p in self._multi_word if p.count("-") < 3 for k in _orders(p))

    @cached_property
    def _multi_word(self) -> list[str]:
        return [p for p in self.popular if "-" in p]

    @cached_property
    def _multi_word_shapes(self) -> list[tuple[int, int, str]]:
        """(dashes, letters, name) of the multi-word names: what a scan filters on first."""
        return [(p.count("-"), len(p) - p.count("-"), p) for p in self._multi_word]

    def _same_words(self, name: str) -> list[str]:
        key = words(name)
        if self._indexed("by_words"):
            return self.by_words.get(key, [])
        dashes, letters = len(key) - 1, sum(map(len, key))
        return [p for d, n, p in self._multi_word_shapes
                if d == dashes and n == letters and tuple(sorted(p.split("-"))) == key]  # fmt: skip

    def _joined(self, key: str) -> list[str]:
        """Popular names of two or three words that, reordered and joined, are `key`."""
        if self._indexed("by_joined_order"):
            return self.by_joined_order.get(key, [])
        size = len(key)
        return [p for d, n, p in self._multi_word_shapes
                if d < 3 and n == size and key in _orders(p)]  # fmt: skip

    def _indexed(self, index: str) -> bool:
        """Whether to look up `index` (built already, or many names asked) rather than
        scan the list for one name."""
        return index in self.__dict__ or self._queries > self.LINEAR_QUERIES

    @cached_property
    def deletion_index(self) -> dict[str, set[str]]:
        return _by_deletions((collapse(p), p) for p in self._edit_targets)

    @cached_property
    def _edit_targets(self) -> list[str]:
        """The popular names the edit-distance rule compares with (long enough)."""
        return [p for p in self.popular if max_distance(p)]

    @cached_property
    def _collapsed_targets(self) -> list[str]:
        return [p.replace("-", "") for p in self._edit_targets]

    @cached_property
    def _top_keys(self) -> dict[str, str]:
        """separator-free key -> name, for the most popular names (composite.TOP)."""
        found: dict[str, str] = {}
        for p in self.popular[: composite.TOP]:
            found.setdefault(p.replace("-", ""), p)
        return found

    @cached_property
    def _bare_popular(self) -> dict[str, str]:
        return composite.bare_names(self.popular)

    @cached_property
    def plugin_hosts(self) -> frozenset[str]:
        if self._plugin_hosts is None:
            return composite.plugin_hosts(self.popular)
        return self._plugin_hosts

    @cached_property
    def _truncated(self) -> dict[str, str]:
        return composite.truncations(self._top_keys)

    def _composite(self, name: str) -> Iterable[tuple[NameRule, Iterable[str], str]]:
        """The rules for names built from a popular one (gate/composite.py); a name that
        is popular itself is left to the other rules."""
        if name in self.rank:
            return
        key = collapse(name)
        yield from self._combined(name, key)
        yield from self._reshaped(name, key)

    def _combined(self, name: str, key: str) -> Iterable[tuple[NameRule, Iterable[str], str]]:
        """A popular name joined with another or with a campaign's word. For one target
        the higher score wins: a filler word over a pair, a pair whose first name hosts no
        plugins over a pair that may be a plugin's name."""
        if "-" in name and (pair := composite.paired(name, self.rank, self.plugin_hosts)):
            detail = f"{pair[0]!r} and {pair[1]!r} joined, and {pair[0]!r} hosts no plugins"
            yield "paired-popular", sorted(pair, key=self.rank.__getitem__), detail
        elif "-" not in name and (pair := composite.glued_pair(key, self._pair_keys)):
            detail = f"{pair[0]!r} and {pair[1]!r} glued together"
            yield "paired-popular", sorted(pair, key=self.rank.__getitem__), detail
        if combined := composite.combination(name, self.rank):
            target, rest = combined
            rule: NameRule = "combination" if any(map(composite.filler, rest)) else "joined-popular"
            yield rule, [target], f"{target!r} joined with {', '.join(map(repr, rest))}"
        if "-" not in name and (stuck := composite.glued(key, self._top_keys)):
            glued: NameRule = "glued" if composite.filler(stuck[1]) else "glued-popular"
            yield glued, [stuck[0]], f"{stuck[0]!r} with {stuck[1]!r} glued on"
        worded = composite.with_word(name, self.rank) if "-" in name else None
        if worded and not self._plugin_named(name):
            target, rest = worded
            yield "joined-word", [target], f"{target!r} joined with {'-'.join(rest)!r}"
        elif "-" not in name and (stuck := composite.glued_word(key, self._top_keys)):
            yield "glued-word", [stuck[0]], f"{stuck[0]!r} with {stuck[1]!r} glued on"
        core = composite.without_fillers(name) if "-" in name else name
        if core not in (name, "") and core not in self.rank:
            for target, _ in self._edits(core):
                yield "combination", [target], f"{target!r} misspelt ({core!r}), words joined"

    def _reshaped(self, name: str, key: str) -> Iterable[tuple[NameRule, Iterable[str], str]]:
        """A popular name with another prefix, cut short, or two edits away."""
        if swapped := composite.swapped_prefix(name, self._bare_popular):
            yield "prefix-swap", [swapped], f"{swapped!r} with another prefix"
        if len(key) >= 6 and (cut := self._truncated.get(key)):
            yield "truncated", [cut], f"{cut!r} without its last letters"
        elif len(key) >= composite.TRUNCATED_EDIT_LENGTH - 1:
            detail = "without its last letters, and one edit"
            yield "truncated", self._near_truncations(key), detail
        if 7 <= len(key) <= 24:
            yield "edit-distance-2", self._two_added(key), "two letters added"
        if len(key) >= 7:
            yield "edit-distance-2", self._two_edits(key), "two edits"
        if len(key) >= 5:
            yield "edit-distance-2", self._two_omitted(key), "two letters omitted"
            yield "edit-distance-2", self._moved(key), "the same letters, rearranged (two edits)"

    def _plugin_named(self, name: str) -> bool:
        """Whether `name` begins with a plugin host's name (pytest-, types-, sphinxcontrib-)."""
        parts = name.split("-")
        hosts = self.plugin_hosts - severity.NOT_HOSTS
        return any("-".join(parts[:i]) in hosts for i in range(1, len(parts)))

    @cached_property
    def _pair_keys(self) -> dict[str, str]:
        return composite.pair_keys(self.popular)

    @cached_property
    def _long_truncations(self) -> dict[str, set[str]]:
        """Deletions (_deletions) of the long truncations -> those truncations."""
        long = (c for c in self._truncated if len(c) >= composite.TRUNCATED_EDIT_LENGTH)
        return _by_deletions((cut, cut) for cut in long)

    def _near_truncations(self, key: str) -> list[str]:
        """TOP names whose long truncation (_truncated) is one edit from `key`."""
        near = set().union(*(self._long_truncations.get(k, ()) for k in _deletions(key)))
        return [
            self._truncated[cut]
            for cut in near
            if DamerauLevenshtein.distance(key, cut, score_cutoff=1) == 1
        ]

    @cached_property
    def _top_by_ends(self) -> dict[tuple[int, str, str], list[str]]:
        """(length, first letter, last letter) -> the separator-free keys of _top_keys."""
        index: dict[tuple[int, str, str], list[str]] = defaultdict(list)
        for key in self._top_keys:
            index[len(key), key[0], key[-1]].append(key)
        return index

    def _two_added(self, key: str) -> list[str]:
        """Most popular names that are `key` less two letters, not as a two-letter prefix
        or suffix. Such a name begins with one of key's first three letters and ends with
        one of its last three: nine lookups, then a subsequence check."""
        found = []
        for first in set(key[:3]):
            for last in set(key[-3:]):
                for top in self._top_by_ends.get((len(key) - 2, first, last), ()):
                    if (_subsequence(top, key) and not key.startswith(top)
                            and not key.endswith(top)):  # fmt: skip
                        found.append(self._top_keys[top])
        return found

    @cached_property
    def _most_popular_keys(self) -> dict[str, str]:
        """name -> separator-free key, for the TWO_EDITS_TOP most popular names."""
        return dict(zip(self.popular[:TWO_EDITS_TOP], self._collapsed, strict=False))

    @cached_property
    def _long_top(self) -> dict[str, str]:
        """name -> separator-free key of the most popular names long enough that two edits
        rarely make another real name (TWO_EDITS_TOP names, TWO_EDITS_LENGTH letters)."""
        keys = self._most_popular_keys
        return {p: k for p, k in keys.items() if len(k) >= TWO_EDITS_LENGTH}

    @cached_property
    def _most_popular_by_length(self) -> dict[int, list[tuple[str, str]]]:
        """length -> (name, separator-free key), for the TWO_EDITS_TOP most popular."""
        index: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for name, key in self._most_popular_keys.items():
            index[len(key)].append((name, key))
        return index

    @cached_property
    def _most_popular_by_letters(self) -> dict[str, list[tuple[str, str]]]:
        """sorted letters -> (name, separator-free key), for the TWO_EDITS_TOP most popular."""
        index: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for name, key in self._most_popular_keys.items():
            index["".join(sorted(key))].append((name, key))
        return index

    def _two_omitted(self, key: str) -> list[str]:
        """Most popular names of seven letters or more that are `key` with two letters
        added back (urllb, urllib3)."""
        if len(key) + 2 < 7:
            return []
        pairs = self._most_popular_by_length.get(len(key) + 2, ())
        return [name for name, top in pairs if _subsequence(key, top)]

    def _moved(self, key: str) -> list[str]:
        """Most popular names with the same letters as `key`, two edits apart: a letter
        moved two places (bo3to, boto3) or two swaps."""
        pairs = self._most_popular_by_letters.get("".join(sorted(key)), ())
        return [
            name
            for name, top in pairs
            if top != key and DamerauLevenshtein.distance(key, top, score_cutoff=2) == 2
        ]

    def _two_edits(self, key: str) -> list[str]:
        """Most popular long names exactly two edits from `key` (requesxt, requetses)."""
        scored = process.extract(
            key, self._long_top, scorer=DamerauLevenshtein.distance, score_cutoff=2, limit=None
        )
        return [name for _, distance, name in scored if distance == 2]

    def _near(self, name: str) -> set[str]:
        """Popular names sharing a deletion with `name`: by the index once built (or once
        many names were asked), else by one linear scan within edit distance 2."""
        key = collapse(name)
        if self._indexed("deletion_index"):
            near: set[str] = set()
            for k in _deletions(key):
                near |= self.deletion_index.get(k, set())
            return near
        own = _deletions(key)
        scored = process.extract(
            key, self._collapsed_targets, scorer=DamerauLevenshtein.distance, score_cutoff=2,
            limit=None,
        )  # fmt: skip
        return {self._edit_targets[i] for target, _, i in scored if own & _deletions(target)}

    def check(self, raw: str, *, with_hints: bool = False) -> list[Finding]:
        """Findings for one name, best first; none for popular or allow-listed names.
        `with_hints`: the hints too (gate/hints.py), graded "hint", after the others,
        for targets no other rule found."""
        name = normalize(raw)
        self._queries += 1
        if name in self.allow or (name in self.rank and not self.flag_popular):
            return []
        found: dict[str, Finding] = {}
        for rule, targets, detail in self._candidates(name):
            for target in self._targets(name, targets):
                finding = Finding(name, target, rule, WEIGHTS[rule], detail)
                if target not in found or found[target].score < finding.score:
                    found[target] = finding
        graded = [self._graded(f) for f in found.values()]
        if with_hints and name not in self.rank:
            graded += self._hinted(name, set(found))
        return sorted(graded, key=lambda f: (f.grade == "hint", -f.score, self.rank[f.resembles]))

    def _targets(self, name: str, targets: Iterable[str]) -> Iterator[str]:
        return (t for t in targets if t != name and self._imitable(name, t))

    @cached_property
    def _hints(self) -> hints.Hints:
        return hints.Hints(self.popular, self.rank)

    def _hinted(self, name: str, found: set[str]) -> list[Finding]:
        """The hints' findings on targets not in `found`, one per target (the first rule's)."""
        hinted: dict[str, Finding] = {}
        for rule, targets, detail in self._hints.find(name):
            for target in self._targets(name, targets):
                if target not in found and target not in hinted:
                    hinted[target] = Finding(
                        name, target, rule, WEIGHTS[rule], detail, "hint", hints.WHY
                    )
        return list(hinted.values())

    def _graded(self, finding: Finding) -> Finding:
        grade = severity.grade(
            finding.rule, finding.name, finding.resembles, self.rank, lambda: self.plugin_hosts
        )
        return replace(finding, grade=grade.level, why=grade.why)

    def _imitable(self, name: str, target: str) -> bool:
        """A popular name is only said to imitate a much more popular one."""
        own = self.rank.get(name)
        return own is None or self.rank[target] * 10 < own

    def _candidates(self, name: str) -> Iterable[tuple[NameRule, Iterable[str], str]]:
        yield (
            "separator",
            self.by_collapsed.get(collapse(name), []),
            "same letters, other separators",
        )
        confusable = [
            p for p in self.by_confusable.get(deconfuse(name), []) if collapse(p) != collapse(name)
        ]
        yield "homoglyph", confusable, "confusable characters"
        if len(words(name)) > 1:
            yield "word-order", self._same_words(name), "same words, other order"
        joined = self._joined(collapse(name))
        yield "word-order", joined, "same words, other order, separators dropped"
        for bare in strip_affixes(name):
            for target in self.by_collapsed.get(collapse(bare), ()):
                yield "affix", [target], f"{target!r} with an added prefix or suffix"
        yield from self._composite(name)
        yield from self._short_slips(collapse(name))
        for target, distance in self._edits(name):
            rule = classify_edit(name, target) if distance == 1 else "edit-distance-2"
            yield rule, [target], f"edit distance {distance}"

    @cached_property
    def _short_keys(self) -> dict[str, str]:
        """separator-free key -> name, for the popular names of SHORT letters: too short for
        the edit-distance rule, but not for a doubled or swapped letter."""
        found: dict[str, str] = {}
        for name, key in zip(self.popular, self._collapsed, strict=True):
            if len(key) == SHORT:
                found.setdefault(key, name)
        return found

    def _short_slips(self, key: str) -> Iterator[tuple[NameRule, list[str], str]]:
        """A short popular name with a letter doubled (cccxt, idnna) or two letters swapped
        (wbe3): typing slips that three of the real projects of ranks 1,001-15,000 have
        (tdqm, daal, ttach), and campaigns many (bench/typosquat.py)."""
        if len(key) == SHORT + 1:
            for i in range(SHORT):
                target = self._short_keys.get(key[:i] + key[i + 1 :])
                if key[i] == key[i + 1] and target:
                    yield "repeated", [target], "a letter doubled"
        elif len(key) == SHORT:
            for i in range(SHORT - 1):
                turned = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
                if turned != key and (target := self._short_keys.get(turned)):
                    yield "swapped", [target], "two letters swapped"

    def _edits(self, name: str) -> Iterator[tuple[str, int]]:
        """(popular name, edit distance) within the distance both names' lengths allow."""
        depth = max_distance(name)
        if not depth:
            return
        for target in self._near(name):
            limit = min(depth, max_distance(target)) or 1
            distance = DamerauLevenshtein.distance(
                collapse(name), collapse(target), score_cutoff=limit
            )
            if 0 < distance <= limit:
                yield target, distance


def _subsequence(short: str, long: str) -> bool:
    """Whether `long` has `short`'s letters in order, maybe with others between."""
    letters = iter(long)
    return all(c in letters for c in short)


def _orders(p: str) -> set[str]:
    """A multi-word name's words in every other order, joined without separators."""
    parts = p.split("-")
    return {"".join(o) for o in permutations(parts) if list(o) != parts}


def _by_deletions(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Each key's deletions (_deletions) -> the values of the keys that have them."""
    index: dict[str, set[str]] = defaultdict(set)
    for key, value in pairs:
        for deleted in _deletions(key):
            index[deleted].add(value)
    return index


def _grouped(pairs: Iterable[tuple[object, str]]) -> dict[object, list[str]]:
    index: dict[object, list[str]] = defaultdict(list)
    for key, p in pairs:
        index[key].append(p)
    return index


@cache
def shipped_popular() -> tuple[str, ...]:
    text = resources.files("builder").joinpath("data/popular-pypi.txt").read_text("utf-8")
    return tuple(line for line in text.splitlines() if line and not line.startswith("#"))


@cache
def shipped_targets() -> tuple[str, ...]:
    """The popular list, then the famous names it lacks (data/famous-names.txt)."""
    text = resources.files("builder").joinpath("data/famous-names.txt").read_text("utf-8")
    famous = [line for line in text.splitlines() if line and not line.startswith("#")]
    known = set(shipped_popular())
    return shipped_popular() + tuple(n for n in famous if n not in known)


def load_popular(path: Path | None) -> tuple[str, ...]:
    if path is None:
        return shipped_targets()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the popular list: {exc}") from exc
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def refresh(dataset: Path, limit: int = 15_000) -> list[NormalizedName]:
    """The popular list from a top-pypi-packages JSON file ({"rows": [{"project": ...}]}),
    most downloaded first, PEP 503-normalized, without duplicates."""
    import json

    rows = json.loads(dataset.read_text(encoding="utf-8"))["rows"]
    names = dict.fromkeys(normalize(row["project"]) for row in rows)
    return list(names)[:limit]


if __name__ == "__main__":  # python3 -m builder.gate.typosquat refresh DATASET.json
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "refresh":
        sys.exit("usage: python3 -m builder.gate.typosquat refresh TOP_PYPI_PACKAGES.json")
    print("# The most downloaded PyPI projects, most downloaded first (PEP 503 names).")
    print(f"# Source: {Path(sys.argv[2]).name} (the top-pypi-packages dataset).")
    print("\n".join(refresh(Path(sys.argv[2]))))
