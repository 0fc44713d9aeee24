"""Names made from a popular name and something more: the shapes edit distance misses.

Reported typosquats often keep the popular name whole and add to it: a second popular
name (`requests-pandas`, `pandas-numpy`), a word (`requests-darwin-lite`, `print-pip`,
`sys-selenium`), the same glued on without a separator (`easyrequests`, `httpxboost`,
`urllib3installer`), another ecosystem prefix (`py-dateutil` for `python-dateutil`), or
they drop the popular name's last letters (`keras-preprocess`). These rules judge only
names that are not popular themselves, and against the most popular names (TOP), where
such a name is worth an attacker's while (another prefix: against all of them). Two
popular names joined is a plugin's name when the first hosts plugins (`django-redis`)
and rarely otherwise (`pandas-numpy`). A typo may come on top (`matplatlib-plus`,
`kera-preprocess`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

TOP = 3000  # popular names these rules compare with: the most downloaded ones
# Two of the PAIR_TOP most downloaded names joined, the first not a plugin host (a name
# that begins PLUGIN_HOST popular names or more: pytest-, django-, flask-, types-), or
# glued without a separator: how campaigns name a package (pandas-numpy,
# matplotlib-sqlalchemy, pandasrequest, torchtriton) and rarely a real project
# (bench/typosquat.py: 0.1% of the real names of ranks 1,001-15,000).
PAIR_TOP = 500
PLUGIN_HOST = 16
# Words that campaigns join to a popular name; none is a project people ask for by itself.
# (The affix rule of typosquat.py has the words that legitimate projects also use:
# python-, py, -dev, -lib, -sdk, -api, ...)
FILLERS = frozenset({
    "boost", "darwin", "downloader", "easy", "fast", "faster", "free", "install",
    "installer", "latest", "lite", "loader", "new", "official", "ontop", "os", "plus",
    "print", "pro", "req", "super", "sys", "update", "updated", "wiki",
})  # fmt: skip
# A year joined on is a campaign's word too (requests-2022, request2022): two real projects
# of the 15,000 end in one (flake8-2020, base2048).
YEAR = re.compile(r"(19|20)\d\d")
# Letters a word loses at its end (keras-preprocess for keras-preprocessing).
ENDINGS = ("ing", "ions", "ion", "es", "ed", "er", "s")
# The ecosystem prefixes: the affix rule strips them, the prefix swap trades one for another.
PREFIXES = ("python3-", "python-", "py3-", "py-", "python", "py")
# A truncated name one edit further (kera-preprocess) is judged on truncations this long:
# no real project of ranks 1,001-15,000 is one edit from one (ten letters: one is).
TRUNCATED_EDIT_LENGTH = 12
# A TOP name this long joined with any word is a warning (with_word, glued_word): shorter
# ones are parts of other names too (six, tox, gql).
WORD_LENGTH = 4
GLUED_LENGTH = 5


def combination(name: str, rank: Mapping[str, int]) -> tuple[str, list[str]] | None:
    """(target, the rest) when `name` is popular names and filler words joined by "-",
    at least one of them among the TOP; the target is the most popular of them. Two
    popular names joined is also how plugins are named (django-redis): the caller grades
    a combination without a filler word lower."""
    parts = name.split("-")
    if len(parts) < 2:
        return None
    tokens = _segments(parts, rank)
    if tokens is None:
        return None
    popular = [t for t in tokens if t in rank and rank[t] < TOP]
    if not popular:
        return None
    target = min(popular, key=lambda t: rank[t])
    return target, [t for t in tokens if t != target]


def with_word(name: str, rank: Mapping[str, int]) -> tuple[str, list[str]] | None:
    """(target, the rest) when `name` is a TOP name of WORD_LENGTH letters or more joined
    by "-" with other words (requests-beta, web3-checksum): the shape of a plugin as much
    as of a campaign, which the caller grades a warning. The target is the most popular
    such name in it."""
    parts = name.split("-")
    best: tuple[str, list[str]] | None = None
    for i in range(len(parts)):
        for j in range(i + 1, len(parts) + 1):
            if j - i == len(parts):
                continue
            whole = "-".join(parts[i:j])
            at = rank.get(whole, TOP)
            if at < TOP and len(whole) >= WORD_LENGTH and (best is None or at < rank[best[0]]):
                best = whole, parts[:i] + parts[j:]
    return best


def glued_word(key: str, top: Mapping[str, str]) -> tuple[str, str] | None:
    """(target, what is glued on) when the separator-free `key` begins or ends with a TOP
    name of GLUED_LENGTH letters or more (httpxhelp, solanautil): a warning, as with_word."""
    for target, rest, _ in glued_splits(key, top, GLUED_LENGTH):
        return target, rest
    return None


def glued_splits(
    key: str, keys: Mapping[str, str], shortest: int
) -> Iterator[tuple[str, str, bool]]:
    """(name, what is glued on, whether the name ends `key`) for every separator-free key
    of `keys` (-> its name) of `shortest` letters or more that begins or ends `key` with two
    letters or more glued on, longest first."""
    for size in range(len(key) - 2, shortest - 1, -1):
        for whole, rest, at_end in ((key[:size], key[size:], False),
                                    (key[-size:], key[:-size], True)):  # fmt: skip
            if target := keys.get(whole):
                yield target, rest, at_end


def filler(word: str) -> bool:
    """Whether `word` is a campaign's word (FILLERS) or a year."""
    return word in FILLERS or bool(YEAR.fullmatch(word))


def without_fillers(name: str) -> str:
    """The name less its filler words and a year glued on its end (matplatlib-plus,
    request2022 -> matplatlib, request); "" if all are fillers."""
    core = "-".join(part for part in name.split("-") if not filler(part))
    end = YEAR.fullmatch(core[-4:]) if len(core) > 6 else None
    return core[:-4].rstrip("-") if end else core


def _segments(parts: list[str], rank: Mapping[str, int]) -> list[str] | None:
    """The parts grouped into popular names (longest first) and fillers; None when some
    part is neither."""
    tokens: list[str] = []
    i = 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            joined = "-".join(parts[i:j])
            if joined in rank and (j - i > 1 or len(joined) > 2):
                tokens.append(joined)
                i = j
                break
        else:
            if not filler(parts[i]):
                return None
            tokens.append(parts[i])
            i += 1
    return tokens


def plugin_hosts(popular: Iterable[str], least: int = PLUGIN_HOST) -> frozenset[str]:
    """The first words (one or more) that begin `least` popular names or more."""
    return _common(popular, least, at_end=False)


def common_endings(popular: Iterable[str]) -> frozenset[str]:
    """The last words (one or more) that end PLUGIN_HOST popular names or more: words
    (utils, tools, stubs) and the names integrations end with (langchain-openai)."""
    return _common(popular, PLUGIN_HOST, at_end=True)


def _common(popular: Iterable[str], least: int, *, at_end: bool) -> frozenset[str]:
    """The runs of whole words at a name's start (or end) shared by `least` names or more."""
    runs: list[str] = []
    for name in popular:
        if "-" in name:  # a one-word name has no run to share
            parts = name.split("-")
            runs += ("-".join(parts[i:] if at_end else parts[:i]) for i in range(1, len(parts)))
    return frozenset(run for run, count in Counter(runs).items() if count >= least)


def paired(name: str, rank: Mapping[str, int], hosts: frozenset[str]) -> tuple[str, str] | None:
    """(first, second) when `name` is two PAIR_TOP names joined by "-" and the first is
    not a plugin host."""
    parts = name.split("-")
    for i in range(1, len(parts)):
        first, second = "-".join(parts[:i]), "-".join(parts[i:])
        if _among_pair_top(first, rank) and _among_pair_top(second, rank) and first not in hosts:
            return first, second
    return None


def glued_pair(key: str, pair_keys: Mapping[str, str]) -> tuple[str, str] | None:
    """(first, second) when the separator-free `key` is two different PAIR_TOP names glued
    (by `pair_keys`): plugins name their host with a separator, so a host glued is no
    plugin's name (torchtriton; 2 of the real names of ranks 1,001-15,000, brotlicffi)."""
    for i in range(3, len(key) - 2):
        first = pair_keys.get(key[:i])
        second = pair_keys.get(key[i:]) if first else None
        if first and second and first != second:
            return first, second
    return None


def pair_keys(popular: Sequence[str]) -> dict[str, str]:
    """separator-free key -> name for the PAIR_TOP most popular names, and the same key
    without its plural s (pandasrequest)."""
    top = popular[:PAIR_TOP]
    keys: dict[str, str] = {}
    for name in top:
        keys.setdefault(name.replace("-", ""), name)
    for name in top:
        key = name.replace("-", "")
        if key.endswith("s"):
            keys.setdefault(key[:-1], name)
    return keys


def _among_pair_top(name: str, rank: Mapping[str, int]) -> bool:
    return rank.get(name, PAIR_TOP) < PAIR_TOP


def glued(key: str, top: Mapping[str, str]) -> tuple[str, str] | None:
    """(target, what is glued on) when the separator-free `key` is a TOP name (as its
    separator-free key in `top`) with a filler word or another TOP name glued before or
    after it, without a separator."""
    for i in range(3, len(key) - 2):
        left, right = key[:i], key[i:]
        for whole, rest in ((left, right), (right, left)):
            target = top.get(whole) or top.get(whole + "s")
            if target and len(whole) >= 4 and (filler(rest) or _popular_key(rest, top)):
                return target, rest
    return None


def _popular_key(key: str, top: Mapping[str, str]) -> bool:
    return key in top or key + "s" in top


def swapped_prefix(name: str, bare_popular: Mapping[str, str]) -> str | None:
    """The popular name that is `name` with another ecosystem prefix (`python-cord` and
    `py-cord`), by the bare names of prefixed popular names."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            bare = name[len(prefix) :].strip("-")
            target = bare_popular.get(bare)
            if target and target != name and len(bare) >= 3:
                return target
    return None


def bare_names(popular: Sequence[str]) -> dict[str, str]:
    """bare name -> popular name, for the popular names that carry an ecosystem prefix:
    all of the list, not only TOP (12 of the 14,026 real projects of ranks 1,001-15,000
    are another's prefix-swap, python-jwt and pyjwt; 7 against TOP)."""
    found: dict[str, str] = {}
    for name in popular:
        if not name.startswith(PREFIXES):  # one test in C: most names are out at once
            continue
        for prefix in PREFIXES:
            if name.startswith(prefix) and len(name) - len(prefix) >= 3:
                found.setdefault(name[len(prefix) :].strip("-"), name)
                break
    return found


def truncations(top_keys: Mapping[str, str]) -> dict[str, str]:
    """separator-free key less a word ending (ENDINGS) -> TOP name (keys of 8+)."""
    found: dict[str, str] = {}
    for key, name in top_keys.items():
        if len(key) >= 8:
            for ending in ENDINGS:
                if key.endswith(ending):
                    found.setdefault(key[: -len(ending)], name)
    return found
