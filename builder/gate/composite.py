"""Names made from a popular name and something more: the shapes edit distance misses.

Reported typosquats often keep the popular name whole and add to it: a second popular
name (`requests-pandas`, `pandas-numpy`), a word (`requests-darwin-lite`, `print-pip`,
`sys-selenium`), the same glued on without a separator (`easyrequests`, `httpxboost`,
`urllib3installer`), another ecosystem prefix (`py-dateutil` for `python-dateutil`), or
they drop the popular name's last letters (`keras-preprocess`). These rules judge only names that
are not popular themselves, and only against the most popular names (TOP), where such a
name is worth an attacker's while.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TOP = 3000  # popular names these rules compare with: the most downloaded ones
# Words that campaigns join to a popular name; none is a project people ask for by itself.
# (The affix rule of typosquat.py has the words that legitimate projects also use:
# python-, py, -dev, -lib, -sdk, -api, ...)
FILLERS = frozenset({
    "boost", "darwin", "downloader", "easy", "fast", "faster", "free", "install",
    "installer", "latest", "lite", "loader", "new", "official", "ontop", "os", "plus",
    "print", "pro", "req", "super", "sys", "update", "updated", "wiki",
})  # fmt: skip
# Letters a word loses at its end (keras-preprocess for keras-preprocessing).
ENDINGS = ("ing", "ions", "ion", "es", "ed", "er", "s")
PREFIXES = ("python3-", "python-", "py3-", "py-", "python", "py")


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
            if parts[i] not in FILLERS:
                return None
            tokens.append(parts[i])
            i += 1
    return tokens


def glued(key: str, top: Mapping[str, str]) -> tuple[str, str] | None:
    """(target, what is glued on) when the separator-free `key` is a TOP name (as its
    separator-free key in `top`) with a filler word or another TOP name glued before or
    after it, without a separator."""
    for i in range(3, len(key) - 2):
        left, right = key[:i], key[i:]
        for whole, rest in ((left, right), (right, left)):
            target = top.get(whole) or top.get(whole + "s")
            if target and len(whole) >= 4 and (rest in FILLERS or _popular_key(rest, top)):
                return target, rest
    return None


def _popular_key(key: str, top: Mapping[str, str]) -> bool:
    return key in top or key + "s" in top


def swapped_prefix(name: str, bare_top: Mapping[str, str]) -> str | None:
    """The TOP name that is `name` with another ecosystem prefix (`python-cord` and
    `py-cord`), by the bare names of prefixed TOP names."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            bare = name[len(prefix) :].strip("-")
            target = bare_top.get(bare)
            if target and target != name and len(bare) >= 3:
                return target
    return None


def bare_names(top: Sequence[str]) -> dict[str, str]:
    """bare name -> TOP name, for the TOP names that carry an ecosystem prefix."""
    found: dict[str, str] = {}
    for name in top:
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
