"""Typosquat gate: recall on reported typosquats, false alarms on real names, and speed.

Sets, each split into a tuning half and a held-out half by the first byte of sha256(name)
(odd: held out; rules are tuned on the other half only):
- malicious: reported malicious typosquats (bench/data/typosquat-eval.tsv), by how their
  target is known (stated by the report, or inferred from the name: from reports and
  DataDog's dataset, or from the names of OpenSSF's malicious-packages list). Found when
  an error-grade finding names one of its targets among its first three (online, the
  share refused whichever project a finding names is given too). Recall is given per
  name and per imitated project (the mean of each project's share, so a campaign of
  fifty misspellings counts once), offline and online: with warnings and hints
  (gate/hints.py) counted as the errors the index's history makes of them for a project
  first uploaded recently, which a reported typosquat was when it was found.
- popular: the 500 most downloaded names, judged strictly (flag-popular: a popular name
  is flagged only for imitating one at least ten times more downloaded).
- legit look-alikes: the set's legit rows (judged strictly), and every name of ranks
  1,001-15,000 of the popular list within two edits of a top-1,000 name or made of one
  plus a word: real, legitimate projects that look alike, judged as unknown names: each
  against the whole list less the names judged with it (500 at a time), as a legitimate
  project outside the list is judged. Errors are counted as false alarms; the share
  warned only is printed beside them. Online, each is weighed by its own history on the
  index, as `builder check` weighs it, from bench/data/typosquat-history.tsv (fetched by
  bench/typosquat_history.py, judged as of its date); the share with any finding, hints
  included, is what a project first uploaded recently would have flagged.
- real names: ranks 10,001-10,500 of the popular list, judged as unknown names too.
- new real projects: those first uploaded within 90 days among 20,000 names drawn at
  random from the index (bench/data/typosquat-new.tsv), flagged online.
- random real projects: 2,000 names drawn at random from the index, each with its
  history (bench/data/typosquat-random.tsv), judged as `builder check` judges them with
  the default policy (popular ones pass): errors offline, and online.
Speed: 10,000 names against the 15,000 popular ones, index build included, against a
naive pairwise Damerau-Levenshtein scan (measured on a sample in the same run).

    python3 bench/typosquat.py [--misses]
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rapidfuzz.distance import DamerauLevenshtein

from builder.gate.check import strongest, weighed
from builder.gate.signals import History, judge
from builder.gate.typosquat import Detector, Finding, max_distance, shipped_targets
from builder.names import normalize

DATA = Path(__file__).resolve().parent / "data" / "typosquat-eval.tsv"
HISTORIES = DATA.parent / "typosquat-history.tsv"
NEW_PROJECTS = DATA.parent / "typosquat-new.tsv"
RANDOM_PROJECTS = DATA.parent / "typosquat-random.tsv"
OSV_LIST = "OpenSSF malicious-packages list"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    label: str
    targets: tuple[str, ...]
    known: str  # stated, inferred or example
    source: str

    @property
    def held_out(self) -> bool:
        return hashlib.sha256(self.name.encode()).digest()[0] % 2 == 1


def rows() -> list[Row]:
    found = []
    lines = [ln for ln in DATA.read_text().splitlines() if ln and not ln.startswith("#")]
    for line in lines[1:]:
        name, label, targets, known, source = line.split("\t")
        found.append(Row(name, label, tuple(t for t in targets.split("|") if t), known, source))
    return found


def look_alikes(popular: tuple[str, ...]) -> list[str]:
    """Real projects (ranks 1,001-15,000) that look like a top-1,000 name."""
    top = set(popular[:1000])
    found = []
    for name in popular[1000:15000]:
        parts = name.split("-")
        near = any(
            DamerauLevenshtein.distance(name, t, score_cutoff=2) <= 2
            for t in top if t[0] == name[0] and abs(len(t) - len(name)) <= 2
        )  # fmt: skip
        if near or (len(parts) > 1 and any(p in top for p in parts)):
            found.append(name)
    return found


def real_names(popular: tuple[str, ...]) -> list[str]:
    """A sample of real names: ranks 10,001-10,500 of the popular list."""
    return list(popular[10000:10500])


def judged_real_names(popular: tuple[str, ...]) -> list[str]:
    """Every real name the bench judges: the look-alikes, the sample, the set's legit rows."""
    legit = [r.name for r in rows() if r.label == "legit"]
    return [*look_alikes(popular), *real_names(popular), *legit]


@dataclass(frozen=True, slots=True)
class Histories:
    """The index histories of the judged real names (bench/typosquat_history.py), and
    when they were fetched: the bench judges them as of then."""

    of: dict[str, History | None]
    fetched: datetime

    def online(self, name: str, findings: list[Finding]) -> str | None:
        """The severity `builder check` gives `name` with its history looked up (None: no
        issue)."""
        if name not in self.of:
            raise SystemExit(f"{HISTORIES.name} has no {name}: run bench/typosquat_history.py")
        grade = strongest(findings).grade
        return weighed(grade, "error", judge(self.of[name], now=self.fetched))


def histories(path: Path = HISTORIES) -> Histories:
    """A file of bench/typosquat_history.py's, read; names PEP 503-normalized."""
    of: dict[str, History | None] = {}
    fetched = None
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "# fetched":
            fetched = datetime.fromisoformat(fields[1])
        if line.startswith(("#", "name\t")):
            continue
        name, releases, files, first, last = fields
        of[normalize(name)] = None if releases == "0" else History(
            int(releases), int(files), _day(first), _day(last)
        )  # fmt: skip
    if fetched is None:
        raise SystemExit(f"{path}: no '# fetched' line")
    return Histories(of, fetched)


def _day(text: str) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


@dataclass(frozen=True, slots=True)
class Judged:
    """Real names judged as unknown: errors offline, warned only, errors online, and
    looked up online (any finding, hints included, costs a look-up)."""

    errors: list[str]
    warned: list[str]
    online: list[str]
    looked_up: list[str]


def unknown(
    popular: tuple[str, ...], hosts: frozenset[str], names: list[str], known: Histories
) -> Judged:
    """Real `names` judged as unknown names: each against the whole list less the names
    judged with it (500 at a time), the way a legitimate project outside the list is
    judged; offline, and online (weighed by its history on the index)."""
    judged = Judged([], [], [], [])
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        left_out = set(chunk)
        detector = Detector([p for p in popular if p not in left_out], plugin_hosts=hosts)
        for name in chunk:
            findings = detector.check(name, with_hints=True)
            grades = {f.grade for f in findings} - {"hint"}
            if "error" in grades:
                judged.errors.append(name)
            elif grades:
                judged.warned.append(name)
            if findings:
                judged.looked_up.append(name)
            if findings and known.online(name, findings) == "error":
                judged.online.append(name)
    return judged


def new_projects(detector: Detector, known: Histories, held: bool) -> None:
    """The new real projects (bench/data/typosquat-new.tsv) flagged online, as `builder
    check` flags them as of the sample's date: with hints and without."""
    sample = halves(sorted(known.of))[held]
    flagged: list[str] = []
    strong: list[str] = []
    for name in sample:
        found = detector.check(name, with_hints=True)
        if found and known.online(name, found) == "error":
            flagged.append(name)
        named = [f for f in found if f.grade != "hint"]
        if named and known.online(name, named) == "error":
            strong.append(name)
    print(f"  flagged, new real projects (first uploaded within 90 days, drawn from the "
          f"index): online {share(flagged, sample)}; without hints "
          f"{share(strong, sample)}")  # fmt: skip


def random_projects(detector: Detector, known: Histories, held: bool) -> list[str]:
    """The random real projects (bench/data/typosquat-random.tsv) `builder check` refuses
    with the default policy, offline and online (as of the sample's date)."""
    sample = halves(sorted(known.of))[held]
    offline: list[str] = []
    online: list[str] = []
    for name in sample:
        found = detector.check(name, with_hints=True)
        if any(f.grade == "error" for f in found):
            offline.append(name)
        if found and known.online(name, found) == "error":
            online.append(name)
    print(f"  flagged, random real projects (drawn from the index, default policy): offline "
          f"{share(offline, sample)}; online {share(online, sample)}")  # fmt: skip
    return online


def rate(detector: Detector, names: list[str]) -> tuple[int, int, list[str]]:
    """Names with an error-grade finding (warnings are said, not counted)."""
    flagged = [n for n in names if any(f.grade == "error" for f in detector.check(n))]
    return len(flagged), len(names), flagged


def recall(detector: Detector, label: str, group: list[Row], show: bool) -> None:
    """Share of names caught as errors, and the mean over imitated projects (a campaign of
    fifty misspellings of one project counts once)."""
    caught: dict[str, list[bool]] = {}
    online: dict[str, list[bool]] = {}
    refused = 0  # online, with any finding: refused, whichever project it names
    for r in group:
        every = detector.check(r.name, with_hints=True)
        errors = [f for f in every if f.grade == "error"]
        hit = bool({f.resembles for f in errors[:3]} & set(r.targets))
        caught.setdefault(r.targets[0], []).append(hit)
        online.setdefault(r.targets[0], []).append(
            bool({f.resembles for f in every[:3]} & set(r.targets))
        )
        refused += bool(every)
        if show and not hit:
            print(f"   missed: {r.name} (imitates {'|'.join(r.targets)}): "
                  f"{every[0].rule if every else 'no finding'}")  # fmt: skip
    n = max(len(group), 1)
    hits, per_target = _recall(caught)
    print(f"  recall, {label}: {hits / n:.2f} ({hits} of {len(group)}); per imitated "
          f"project {per_target:.2f} ({len(caught)})")  # fmt: skip
    hits, per_target = _recall(online)
    listed = {t: v for t, v in online.items() if t in detector.rank}
    listed_hits, _ = _recall(listed)
    listed_n = max(sum(map(len, listed.values())), 1)
    print(f"    online (warnings and hints as errors for a new project): "
          f"{hits / n:.2f}; per imitated project {per_target:.2f}; of the names whose "
          f"target the gate lists: {listed_hits / listed_n:.2f} ({listed_n}); refused, "
          f"whichever project named: {refused / n:.2f}")  # fmt: skip


def _recall(caught: dict[str, list[bool]]) -> tuple[int, float]:
    """(names caught, the mean share caught per imitated project)."""
    hits = sum(sum(v) for v in caught.values())
    return hits, sum(sum(v) / len(v) for v in caught.values()) / max(len(caught), 1)


def halves(names: list[str]) -> tuple[list[str], list[str]]:
    odd = [n for n in names if hashlib.sha256(n.encode()).digest()[0] % 2 == 1]
    return [n for n in names if n not in set(odd)], odd


def main() -> int:
    show = "--misses" in sys.argv
    popular = shipped_targets()
    strict = Detector(popular, flag_popular=True)
    data = rows()
    known = histories()
    new = histories(NEW_PROJECTS)
    drawn = histories(RANDOM_PROJECTS)
    default = Detector(popular, plugin_hosts=strict.plugin_hosts)
    for half, held in (("tuning half", False), ("held-out half", True)):
        print(f"== {half}")
        malicious = [r for r in data if r.label == "malicious" and r.held_out == held]
        for label, group in (
            ("target stated", [r for r in malicious if r.known == "stated"]),
            ("target inferred, reports", [r for r in malicious if r.known == "inferred"
                                          and not r.source.startswith(OSV_LIST)]),
            ("target inferred, OSV list", [r for r in malicious
                                           if r.source.startswith(OSV_LIST)]),
        ):  # fmt: skip
            recall(strict, label, group, show and not held)
        legit = [r.name for r in data if r.label == "legit"]
        for label, names in (("popular (top 500)", list(popular[:500])), ("legit rows", legit)):
            n, total, _ = rate(strict, halves(names)[held])
            print(f"  flagged, {label}: {100 * n / max(total, 1):.1f}% ({n} of {total})")
        for label, names in (
            ("legit look-alikes, as unknown names", look_alikes(popular)),
            ("real names (ranks 10,001-10,500), as unknown", real_names(popular)),
        ):
            sample = halves(names)[held]
            judged = unknown(popular, strict.plugin_hosts, sample, known)
            print(f"  flagged, {label}: {share(judged.errors, sample)}; warned only: "
                  f"{share(judged.warned, sample)}")  # fmt: skip
            print(f"    online (histories of {known.fetched:%Y-%m-%d}): errors "
                  f"{share(judged.online, sample)}; looked up "
                  f"{share(judged.looked_up, sample)}")  # fmt: skip
            if show and not held and judged.errors:
                print("   " + ", ".join(judged.errors[:40]))
        new_projects(strict, new, held)
        flagged = random_projects(default, drawn, held)
        if show and not held and flagged:
            print("   " + ", ".join(flagged[:40]))
    speed(popular)
    return 0


def share(part: list[str], whole: list[str]) -> str:
    return f"{100 * len(part) / max(len(whole), 1):.1f}% ({len(part)} of {len(whole)})"


def speed(popular: tuple[str, ...]) -> None:
    names = [p[::-1] if i % 2 else p + "x" for i, p in enumerate(popular[:10_000])]
    started = time.perf_counter()
    fast = Detector(popular)
    for name in names:
        fast.check(name)
    ours = time.perf_counter() - started
    sample = names[:100]
    started = time.perf_counter()
    for name in sample:
        limit = max_distance(name) or 1
        for p in popular:
            DamerauLevenshtein.distance(name, p, score_cutoff=limit)
    naive = (time.perf_counter() - started) * len(names) / len(sample)
    print(f"10,000 names x {len(popular):,} popular: builder {ours:.2f} s, naive pairwise "
          f"{naive:.1f} s (extrapolated from 100), ratio {naive / ours:.0f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
