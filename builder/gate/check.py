"""The gate every resolved name passes: typosquats, dependency confusion, advisories.

The policy (gate/policy.py) says what is internal and what an error. Each name resolves
from exactly one index: internal names from the internal indexes, every other name from
the public ones (as uv's first-index strategy and PEP 708 intend); a configuration that
would merge candidates across indexes (pip's extra-index-url) is refused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version
from rapidfuzz.distance import DamerauLevenshtein

from builder.errors import FetchError
from builder.gate import names as index_names
from builder.gate.binding import IndexBinding
from builder.gate.configuration import (
    find_links,
    index_configuration,
    merging_indexes,
    uv_sources,
)
from builder.gate.locks import LockedFile, Taken
from builder.gate.place import Place
from builder.gate.policy import GatePolicy
from builder.gate.rules import Grade, Kind, Level, Severity
from builder.gate.signals import Evidence, history, judge
from builder.gate.typosquat import Detector, Finding, collapse, deconfuse, load_popular
from builder.index import Index, IndexFile
from builder.names import NormalizedName, normalize
from builder.progress import Progress, Silent
from builder.store import default_store_root

if TYPE_CHECKING:  # the advisory modules load when a snapshot is read
    from builder.advisories.snapshot import Snapshot

LOOK_UPS = 8  # names looked up on the public index at once (Gate.fetch_evidence)


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    name: str
    kind: Kind
    severity: Severity
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def files_on(index: Index, name: NormalizedName) -> dict[Version, dict[str, str | None]] | None:
    """Every version the index offers for `name`, with its files' sha256 by file name; None
    where the index does not know the name (404). A page it cannot serve whole or that is
    not a project page is a FetchError: the gate fails closed, never "not there"."""
    try:
        files = index.files(name)
    except FetchError as exc:
        if "no such project" in exc.message:
            return None
        raise
    found: dict[Version, dict[str, str | None]] = {}
    for f in files:
        if (version := f.version) is not None:
            found.setdefault(version, {})[f.filename] = f.sha256
    return dict(sorted(found.items()))


class Gate:
    """Checks names against a policy; index clients are made once per index URL."""

    def __init__(
        self, policy: GatePolicy, store_root: Path | None = None, progress: Progress | None = None
    ) -> None:
        self.policy = policy
        self.store_root = store_root
        self.progress = progress or Silent()
        self._snapshot: Snapshot | None = None
        self._snapshot_read = False
        self._advisories_told = False
        self._reading = threading.RLock()  # the store's snapshots: read once across threads
        self.detector = Detector(
            load_popular(policy.popular), allow=policy.allow, flag_popular=policy.flag_popular
        )
        self._indexes: dict[str, Index] = {}
        self._evidence: dict[NormalizedName, Evidence] = {}
        self._found: dict[tuple[NormalizedName, bool], list[Finding]] = {}
        self._names: index_names.NameList | None = None
        self._names_read = False
        self._names_unfetched: str | None = None  # why the index's names could not be fetched

    def index(self, url: str) -> Index:
        if url not in self._indexes:
            self._indexes[url] = Index(url)
        return self._indexes[url]

    def check(self, names: Iterable[str], here: Path | None = None) -> list[Issue]:
        """The names' findings, and the configuration's pip and uv would run with in
        `here` (default: the current folder)."""
        issues = self.configuration(here)
        unique = list(dict.fromkeys(normalize(n) for n in names))
        self.fetch_evidence([n for n in unique if self._flagged_online(n)])
        for raw in unique:
            issues += self.typosquats(raw) + self.internal_lookalikes(raw)
            issues += self.confusion(raw)
            issues += self.advised(raw, None)
        return [i for i in issues if i.severity != "ignore"]

    def releases(self, pinned: Iterable[tuple[str, str]]) -> list[Issue]:
        """Known-malicious and known-vulnerable releases among (name, version) pins, and
        public releases younger than the policy's cooldown."""
        issues = []
        for raw, version in dict.fromkeys(pinned):
            name = normalize(raw)
            issues += self.advised(name, version) + self.too_new(name, version)
        return [i for i in issues if i.severity != "ignore"]

    def too_new(self, name: NormalizedName, version: str) -> list[Issue]:
        """The release, where the policy has a cooldown ([releases] min-age-days) and its
        newest file on the public index is younger (PEP 700 upload times; an index that
        does not say is an issue too: the cooldown cannot be checked). Internal names,
        and names the public index does not know, are the organisation's own: no
        cooldown."""
        days = self.policy.min_release_age_days
        if days <= 0 or self.policy.is_internal_name(name):
            return []
        times = self._upload_times(name, version)
        if not times:
            return []
        if any(t is None for t in times):
            said = (f"the index does not say when {name} {version} was uploaded: the "
                    f"{days}-day cooldown cannot be checked")  # fmt: skip
            return [self._new(name, version, said)]
        newest = max(t for t in times if t is not None)
        eligible = newest + timedelta(days=days)
        if eligible <= datetime.now(UTC):
            return []
        message = (f"{name} {version} was uploaded {newest:%Y-%m-%d %H:%M} UTC; the policy "
                   f"takes public releases {days} days old or more: eligible on "
                   f"{eligible:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        return [self._new(name, version, message, uploaded=newest.isoformat())]

    def _upload_times(self, name: NormalizedName, version: str) -> list[datetime | None]:
        """When each file of the release was uploaded to the public index (None where it
        does not say); none for a release or a name it does not have."""
        try:
            wanted = Version(version)
            listed = self.index(self.policy.public()[0]).files(name)
        except InvalidVersion:
            return []
        except FetchError as exc:
            if "no such project" in exc.message:
                return []
            raise
        return [f.upload_time for f in listed if f.version == wanted]

    def _new(self, name: NormalizedName, version: str, message: str, **details: Any) -> Issue:
        issue = self._issue(name, "new-release", message, version=version, **details)
        reason = self.policy.allow_new.get(f"{name}=={version}")
        if reason is None:
            return issue
        return replace(
            issue, severity="note", message=f"{message}; allowed by the policy: {reason}"
        )

    @property
    def snapshot(self) -> Snapshot | None:
        """The store's advisory snapshot, read once; None where there is none."""
        with self._reading:
            if not self._snapshot_read:
                from builder.advisories.snapshot import load

                self._snapshot = load(self.store_root or default_store_root())
                self._snapshot_read = True
        return self._snapshot

    @property
    def names(self) -> index_names.NameList | None:
        """The store's snapshot of the index's names (gate/names.py), read once; fetched
        into the store the first time a run needs it, online, unless the policy says not."""
        with self._reading:  # read (or fetched) once, whatever thread asks first
            if not self._names_read:
                root = self.store_root or default_store_root()
                self._names = index_names.load(root)
                if self._names is None and self.policy.fetch_index_names and self._online():
                    self._names = self._fetch_names(root)
                self._names_read = True
        return self._names

    def _fetch_names(self, root: Path) -> index_names.NameList | None:
        """The public index's names, fetched into the store; None, and why kept for
        names_said, where the index cannot list them."""
        url = self.policy.public()[0]
        self.progress.status(f"fetching the index's names from {url} into the store (once)")
        try:
            return index_names.refresh(root, url, timeout=index_names.FETCH_TIMEOUT)
        except FetchError as exc:
            self._names_unfetched = exc.message
            return None

    def names_said(self) -> str:
        """What the gate knew of the index's names: said beside every report (from the
        snapshot's head: the list itself is read only for an unlisted name)."""
        if self._names_unfetched is not None:
            return (f"not fetched ({self._names_unfetched}): names outside the popular "
                    "list were not compared with the index's")  # fmt: skip
        said = index_names.said(self.store_root or default_store_root())
        if said is not None:
            return said
        if self.policy.fetch_index_names and self._online():
            return ("no snapshot of the index's names yet: no name needed them (they are "
                    "fetched for the first name outside the popular list)")  # fmt: skip
        return ("no snapshot of the index's names: names outside the popular list were "
                "not compared with the index's (builder names refresh)")  # fmt: skip

    def advisories_news(self) -> str | None:
        """advisories_said() the first time a run asks, None after: a plan of many
        packages says it once."""
        with self._reading:
            if self._advisories_told:
                return None
            self._advisories_told = True
        return self.advisories_said()

    def advisories_said(self) -> str:
        """What the gate knew of advisories: said beside every report."""
        if self.snapshot is None:
            return ("no advisory snapshot in the store: releases were not checked against "
                    "advisories (builder advisories refresh --from FILE|URL)")  # fmt: skip
        return self.snapshot.describe()

    def advised(self, name: NormalizedName, version: str | None) -> list[Issue]:
        if self.snapshot is None:
            return []
        from builder.advisories.match import findings

        issues = []
        for found in findings(self.snapshot, name, version):
            issue = self._issue(
                name, found.kind, found.message(), advisory=found.advisory.id,
                aliases=list(found.advisory.aliases), version=version,
                fixed=list(found.advisory.fixed()),
            )  # fmt: skip
            reason = self.policy.allow_advisories.get(found.advisory.id)
            if reason is not None:
                said = f"{issue.message}; allowed by the policy: {reason}"
                issue = replace(issue, severity="note", message=said)
            issues.append(issue)
        return issues

    def _issue(self, name: str, kind: Kind, message: str, **details: Any) -> Issue:
        return Issue(
            name=name,
            kind=kind,
            severity=self.policy.severity[kind],
            message=message,
            details=details,
        )

    def configuration(self, here: Path | None = None) -> list[Issue]:
        """The index configuration pip and uv will run with in `here`, against the
        policy: pip's extra-index-url merges candidates across indexes (the torchtriton
        route), an index that is not internal, as the primary one or as a uv extra index
        (searched first), would serve internal names, and a uv source takes an internal
        name from elsewhere."""
        if not (self.policy.internal_indexes or self.policy.internal_names):
            return []
        here = here or Path.cwd()
        shadowing = (
            (merging_indexes(), "pip merges candidates from every index and picks the highest "
             "version, so a public package can shadow an internal name"),
            (find_links(here), "pip and uv add the files found there to every index's "
             "candidates, so a file there can shadow an internal name"),
        )  # fmt: skip
        issues = [
            self._issue("*", "configuration", f"{where} is set ({value}): {why}", setting=value)
            for found, why in shadowing
            for where, value in found
        ]
        internal = {Place.of(u) for u in self.policy.internal_indexes}
        configured = index_configuration(here)
        if not any(c.primary for c in configured):
            issues.append(self._issue(
                "*", "configuration", "no index is configured: pip's and uv's default index "
                "serves every name, internal ones too", index_url=None,
            ))  # fmt: skip
        issues += [self._issue("*", "configuration", f"{c.where} is {c.url}, which the policy "
                               "does not name internal: internal names would resolve from it",
                               index_url=c.url)
                   for c in configured if Place.of(c.url) not in internal]  # fmt: skip
        return issues + self._uv_sources(here)

    def _uv_sources(self, here: Path) -> list[Issue]:
        """uv sources that take an internal name from outside the internal indexes (an
        index not internal, a URL or git repository outside their files; a local path is
        the project's own)."""
        binding = IndexBinding(policy=self.policy)
        issues = []
        for source in uv_sources(here):
            name = normalize(source.name)
            if not self.policy.is_internal_name(name) or source.kind == "path":
                continue
            why = (binding.refusal(name, source.value) if source.kind == "index"
                   else binding.file_refusal(name, source.value))  # fmt: skip
            if why is not None:
                issues.append(self._issue(name, "confusion", f"{source.where}: {why}",
                                          source=source.value))  # fmt: skip
        return issues

    def direct_urls(self, requested: Iterable[tuple[str, str, str]]) -> list[Issue]:
        """Requirements by direct URL (name, URL, where): an internal name must point into
        an internal index's files (its path, not only its host: gate/binding.py), and any
        URL should be pinned by a hash fragment."""
        binding = IndexBinding(policy=self.policy)
        issues = []
        for raw, url, where in requested:
            name = normalize(raw)
            if binding.file_refusal(name, url) is not None:
                issues.append(self._issue(
                    name, "confusion",
                    f"{where}: {name} is an internal name, asked for by a direct URL outside "
                    f"the internal indexes' files ({url})", url=url,
                ))  # fmt: skip
            if not re.search(r"#(sha256|sha384|sha512)=[0-9a-f]+", url):
                issues.append(self._issue(
                    name, "direct-url",
                    f"{where}: {name} by a direct URL not pinned by hash ({url}): add "
                    "#sha256=<digest> so that only those bytes install", url=url,
                ))  # fmt: skip
        return [i for i in issues if i.severity != "ignore"]

    def _online(self) -> bool:
        """Whether typosquat findings are weighed by the index's history (gate/signals.py)."""
        return self.policy.index_signals and self.policy.severity["typosquat"] != "ignore"

    def _flagged_online(self, name: NormalizedName) -> bool:
        """Whether typosquats(name) will look `name` up on the index."""
        if not self._online() or self.policy.is_internal_name(name):
            return False
        return bool(self._findings(name, with_hints=self.policy.hints)) or self._unlisted(name)

    def _unlisted(self, name: NormalizedName) -> bool:
        """Whether `name` is neither popular nor allowed, long enough to be searched, and
        the index's names are known: a name the near-name search (_near_established)
        takes (a shorter one neither fetches the names nor is looked up)."""
        known = name in self.detector.rank or name in self.detector.allow
        searched = index_names.edits_searched(len(name.replace("-", ""))) > 0
        return not known and searched and self.names is not None

    def _findings(self, name: NormalizedName, *, with_hints: bool) -> list[Finding]:
        """The detector's findings on `name`, found once per run."""
        key = (name, with_hints)
        if key not in self._found:
            self._found[key] = self.detector.check(name, with_hints=with_hints)
        return self._found[key]

    def fetch_evidence(self, names: list[NormalizedName]) -> None:
        """The index's evidence on `names`, fetched LOOK_UPS at a time (each thread with
        its own connection) and kept for typosquats(): a list's look-ups cost about the
        slowest of them, not their sum."""
        missing = [n for n in names if n not in self._evidence]
        if len(missing) < 2:
            return
        url = self.policy.public()[0]
        local = threading.local()

        def one(name: NormalizedName) -> Evidence:
            if not hasattr(local, "index"):
                local.index = Index(url)
            return evidence_on(local.index, name)

        with ThreadPoolExecutor(LOOK_UPS) as pool:
            self._evidence.update(zip(missing, pool.map(one, missing), strict=True))

    def typosquats(self, name: NormalizedName, *, look_up: bool = True) -> list[Issue]:
        """The typosquat finding on `name`, with its history on the public index unless
        `look_up` is false or the policy turns index signals off; with the history, the
        hints too (gate/hints.py), reported only for a project new on the index."""
        if self.policy.is_internal_name(name):
            return []  # the organisation's own name: the confusion rules judge it
        policy = self.policy.severity["typosquat"]
        online = look_up and self._online()
        findings = self._findings(name, with_hints=online and self.policy.hints)
        if not findings:
            return self._near_established(name, policy) if online and self._unlisted(name) else []
        best = strongest(findings)
        message = (f"{name} resembles {best.resembles} ({best.rule}: {best.detail}; "
                   f"score {best.score:.2f})")  # fmt: skip
        if best.why:
            message += f"; {'a warning' if best.grade == 'warning' else 'a hint'}: {best.why}"
        details: dict[str, Any] = {"resembles": [asdict(f) for f in findings[:5]]}
        evidence = self.index_evidence(name) if online else None
        if evidence is not None:
            message += f"; index: {evidence.said}"
            details["index"] = evidence.said
        severity = weighed(best.grade, policy, evidence)
        if severity is None:
            return []
        return [Issue(name=name, kind="typosquat", severity=severity, message=message,
                      details=details)]  # fmt: skip

    def internal_lookalikes(self, name: NormalizedName) -> list[Issue]:
        """A name that is not internal but imitates one the policy calls internal: an
        internal name written out (one edit away, two for ten letters or more, or the same
        but for confusable characters), or the fixed beginning of a pattern (`acme-` of
        `acme-*`) with confusable characters: graded as misspellings; the beginning with an
        edit: a warning (real projects share short beginnings). Online, the index's
        history weighs it as it weighs any look-alike."""
        if self.policy.is_internal_name(name):
            return []
        for pattern in self.policy.internal_names:
            found = _imitated(name, normalize(pattern))
            if found is None:
                continue
            grade, how = found
            evidence = self.index_evidence(name) if self._online() else None
            severity = weighed(grade, self.policy.severity["typosquat"], evidence)
            if severity is None:
                return []
            message = f"{name} resembles the internal name {pattern} ({how})"
            return [Issue(name=name, kind="typosquat", severity=severity, message=message,
                          details={"internal": pattern})]  # fmt: skip
        return []

    def _near_established(self, name: NormalizedName, policy: Level) -> list[Issue]:
        """A name new on the index (or absent) within an edit or two of an established
        project of the index's list (gate/names.py): the closest NEAR_LOOKED are looked up."""
        evidence = self.index_evidence(name)
        if not evidence.new or self.names is None:
            return []
        index = self.index(self.policy.public()[0])
        now = datetime.now(UTC)
        years, releases = self.policy.established_years, self.policy.established_releases
        for near, edits in self.names.closest(name):
            try:
                found = history(index, normalize(near))
            except (FetchError, ValueError, TypeError, KeyError):
                continue
            if found and found.first and index_names.established(found, now, years, releases):
                message = (
                    f"{name} is {edits} edit(s) from {near}, on the index since "
                    f"{found.first:%Y} with {found.releases} releases (not on the popular "
                    f"list); index: {evidence.said}"
                )
                details = {"near": near, "edits": edits, "index": evidence.said,
                           "names": self.names.describe()}  # fmt: skip
                return [Issue(name=name, kind="typosquat", severity=policy, message=message,
                              details=details)]  # fmt: skip
        return []

    def index_evidence(self, name: NormalizedName) -> Evidence:
        """What the public index's history of `name` says (looked up now unless
        fetch_evidence did); where it cannot say, why."""
        if name in self._evidence:
            return self._evidence[name]
        return evidence_on(self.index(self.policy.public()[0]), name)

    def confusion(self, name: NormalizedName) -> list[Issue]:
        """An internal name (by the policy's patterns, or hosted by an internal index that
        is not a mirror, even on an empty page) that the public index also has, that no
        internal index hosts, or whose page an internal index sends elsewhere; for other
        names, files a mirror serves that are not the public index's."""
        by_pattern = self.policy.is_internal_name(name)
        mirrored = [] if by_pattern else self.mirrored(name)
        return mirrored + self._internal_confusion(name, by_pattern)

    def _internal_confusion(self, name: NormalizedName, by_pattern: bool) -> list[Issue]:
        urls = self.policy.internal_indexes if by_pattern else self.policy.hosting()
        if not urls:
            return []
        hosted = {u: files_on(self.index(u), name) for u in urls}
        if all(v is None for v in hosted.values()):
            return [self._not_hosted(name)] if by_pattern else []
        if moved := self._redirected(name, [u for u, v in hosted.items() if v is not None]):
            return moved
        internal = {u: v for u, v in hosted.items() if v is not None}
        public = {u: files_on(self.index(u), name) or {} for u in self.policy.public()}
        details = {
            "internal": {u: [str(v) for v in vs] for u, vs in internal.items()},
            "public": {u: [str(v) for v in vs] for u, vs in public.items()},
        }
        if not any(public.values()):
            return [
                self._issue(
                    name,
                    "unclaimed",
                    f"{name} is internal and unclaimed on the public index: an attacker could "
                    "register it there",
                    **details,
                )
            ]
        return [self._confusion_issue(name, _merged(internal), _merged(public), details)]

    def mirrored(self, name: NormalizedName) -> list[Issue]:
        """Files a declared mirror serves for `name` that are not the public index's
        (another sha256, none, or a file the public index does not list)."""
        if not self.policy.mirrors:
            return []
        theirs = {f: h for files in (self._public_files(name) or {}).values()
                  for f, h in files.items()}  # fmt: skip
        issues = []
        for url in self.policy.mirrors:
            for files in (files_on(self.index(url), name) or {}).values():
                for filename, sha256 in files.items():
                    if sha256 is not None and theirs.get(filename) == sha256:
                        continue
                    why = (
                        "which the public index does not list"
                        if filename not in theirs
                        else "with other bytes than the public index's (or no sha256)"
                    )
                    issues.append(self._issue(
                        name, "confusion",
                        f"the mirror {url} serves {filename} {why}: a mirror passes the "
                        "public index's files on, pinned by their sha256", mirror=url,
                    ))  # fmt: skip
        return issues

    def _public_files(self, name: NormalizedName) -> dict[Version, dict[str, str | None]] | None:
        return files_on(self.index(self.policy.public()[0]), name)

    def outcome(self, taken: Iterable[Taken]) -> list[Issue]:
        """Each release a resolution or a lock takes, file by file (gate/outcome.py,
        gate/locks.py): the index it records must be one the name may come from, each file
        listed by such an index (by URL, or by file name and sha256), an internal name's
        file under the internal indexes' files, an internal name's direct source too."""
        binding = IndexBinding(policy=self.policy)
        taken = list(taken)
        self._read_ahead(taken)
        issues = []
        for t in taken:
            why = [binding.refusal(t.name, t.index)] if t.index else []
            if t.direct is not None and "://" in t.direct:
                why.append(binding.file_refusal(t.name, t.direct))
            for f in t.files:
                why.append(self._unlisted_file(t, f, binding))
            issues += [self._issue(t.name, "outcome", f"{t.where}: {t.name} {t.version}: {w}",
                                   version=t.version) for w in why if w]  # fmt: skip
        return [i for i in issues if i.severity != "ignore"]

    def unresolved(self, message: str) -> list[Issue]:
        issue = self._issue("*", "unresolved", message)
        return [issue] if issue.severity != "ignore" else []

    def _read_ahead(self, taken: list[Taken]) -> None:
        """The pages the outcome's judgement reads, read side by side, index by index."""
        names = [t.name for t in taken if t.files]
        every = (*self.policy.internal_indexes, *self.policy.mirrors, *self.policy.public())
        for url in dict.fromkeys(every):
            self.index(url).read_ahead(names, LOOK_UPS)

    def _unlisted_file(self, t: Taken, f: LockedFile, binding: IndexBinding) -> str | None:
        """Why `f` may not be taken for `t.name`; None where an allowed index lists it."""
        if f.url is not None and (why := binding.file_refusal(t.name, f.url)):
            return why
        internal = self.policy.is_internal_name(t.name) or self._hosted_internally(t.name)
        allowed = (
            self.policy.internal_indexes
            if internal
            else (*self.policy.internal_indexes, *self.policy.mirrors, *self.policy.public())
        )
        for url in dict.fromkeys(allowed):
            try:
                listed = self.index(url).listing(t.name).files
            except FetchError as exc:
                if "no such project" in exc.message:
                    continue
                raise
            if any(_same_file(f, mine) for mine in listed):
                return None
        shown = f.url or f.filename or f"sha256 {f.sha256}"
        side = "internal index" if internal else "index the policy allows for it"
        return f"{shown} is listed by no {side}"

    def _hosted_internally(self, name: NormalizedName) -> bool:
        return any(files_on(self.index(u), name) is not None for u in self.policy.hosting())

    def _redirected(self, name: NormalizedName, urls: list[str]) -> list[Issue]:
        """An internal index whose page for `name` came, after redirects, from outside it
        (an internal index sending a name on to the public index)."""
        issues = []
        for url in urls:
            final = self.index(url).listing(name).url
            if not Place.of(url).holds(Place.of(final)):
                issues.append(self._issue(
                    name, "confusion",
                    f"the internal index {url} sends {name}'s page on to {final}: files "
                    "from there would pass as internal", internal=url, page=final,
                ))  # fmt: skip
        return issues

    def _not_hosted(self, name: NormalizedName) -> Issue:
        where = ", ".join(self.policy.internal_indexes)
        return self._issue(
            name, "confusion",
            f"{name} is internal by the policy's names.internal, and no internal index hosts "
            f"it ({where} answered 404): a resolver would take it from any other index "
            "it is configured with", internal=list(self.policy.internal_indexes),
        )  # fmt: skip

    def _confusion_issue(
        self,
        name: NormalizedName,
        internal: dict[Version, dict[str, str | None]],
        public: dict[Version, dict[str, str | None]],
        details: dict[str, Any],
    ) -> Issue:
        shown = ", ".join(str(v) for v in list(public)[-5:])
        newest = max(public)
        latest = max(internal) if internal else None
        if latest is None or newest > latest:
            message = (
                f"{name} is an internal name, and the public index has {shown} (newer than "
                f"internal {latest or 'none'}): pip with --extra-index-url would install the "
                "public one"
            )
            return self._issue(name, "confusion", message, **details)
        if newest == latest and public[newest] != internal[latest]:
            message = (
                f"{name} is an internal name, and the public index has the same version "
                f"{newest} with a different file: which file pip takes is up to its "
                "tie-breaking between indexes"
            )
            return self._issue(name, "confusion", message, **details)
        if shared := self._shared(internal, public):
            return self._issue(name, "confusion", f"{name} is an internal name, and {shared}",
                               **details)  # fmt: skip
        if newest == latest:
            message = (
                f"{name} is an internal name, and the public index serves the same files of "
                f"{latest}, published by the organisation (the policy's names.published); a "
                "newer public version would shadow it any day"
            )
        else:
            message = (
                f"{name} is an internal name that also exists on the public index ({shown}); "
                f"internal {latest} is newer today, which can change any day"
            )
        issue = self._issue(name, "confusion", message, **details)
        return replace(issue, severity="warning")

    def _shared(
        self,
        internal: dict[Version, dict[str, str | None]],
        public: dict[Version, dict[str, str | None]],
    ) -> str | None:
        """What is wrong with the files both sides list under one name, if anything: other
        bytes than the public index's, or the public file itself passed on by the internal
        index (a proxy merging the public index), unless the policy says the organisation
        published it (names.published, by sha256)."""
        theirs = {f: h for files in public.values() for f, h in files.items()}
        for files in internal.values():
            for filename, sha256 in files.items():
                if filename not in theirs:
                    continue
                if sha256 is None or theirs[filename] is None or sha256 != theirs[filename]:
                    return (
                        f"the internal index serves {filename} with other bytes than the "
                        "public index's file of that name (or without a sha256 to tell)"
                    )
                if sha256 not in self.policy.published:
                    return (
                        f"the internal index serves the public index's own {filename} "
                        f"(sha256 {sha256[:12]}…): an index merging the public one "
                        "passes public files on as internal; if the organisation "
                        "published it, pin it in the policy's names.published"
                    )
        return None


def _same_file(f: LockedFile, listed: IndexFile) -> bool:
    """Whether an index's file is the one a resolution or lock takes: the same URL (and
    sha256, where both say), else the same sha256 (and file name, where the lock says)."""
    if f.url is not None and f.url == listed.url:
        return f.sha256 is None or listed.sha256 is None or f.sha256 == listed.sha256
    if f.sha256 is None or listed.sha256 != f.sha256:
        return False
    return not f.filename or f.filename == listed.filename


def evidence_on(index: Index, name: NormalizedName) -> Evidence:
    """What `index`'s history of `name` says; where it cannot say, why."""
    try:
        return judge(history(index, name))
    except FetchError as exc:
        return Evidence(None, f"cannot be read ({exc.message}): name rules alone")
    except (ValueError, TypeError, KeyError) as exc:
        return Evidence(None, f"its page for {name} is malformed ({exc}): name rules alone")


def strongest(findings: list[Finding]) -> Finding:
    """The finding a typosquat issue is about: the best error-grade one, else the best."""
    return next((f for f in findings if f.grade == "error"), findings[0])


def weighed(grade: Grade, policy: Level, evidence: Evidence | None) -> Level | None:
    """A typosquat finding's severity (None: not reported) from its grade (error, warning,
    hint), the policy's severity, and what the index's history says (None: offline). An
    error-grade finding takes the policy's severity, a warning-grade one at most a
    warning; a project new on the index (or absent) raises it to the policy's, an
    established one lowers an error to a warning. A hint (gate/hints.py) is reported only
    for a project first uploaded recently or not on the index, at the policy's severity."""
    if grade == "hint":
        return policy if evidence is not None and evidence.new else None
    severity: Level = "warning" if grade == "warning" and policy == "error" else policy
    if evidence is None:
        return severity
    if evidence.severity == "error":
        return policy
    if evidence.severity == "warning" and severity == "error":
        return "warning"
    return severity


def _imitated(name: NormalizedName, pattern: str) -> tuple[Grade, str] | None:
    """How `name` imitates an internal name or pattern, and the grade of it; None if not."""
    wildcard = re.search(r"[*?\[]", pattern)
    target = collapse(pattern[: wildcard.start()] if wildcard else pattern)
    key = collapse(name)
    if len(target) < 3 or key == target:
        return None
    if wildcard is None:
        return _imitated_name(name, pattern, key, target)
    if key.startswith(target):
        return None
    if deconfuse(name).startswith(deconfuse(target)):
        return "error", "confusable characters in its beginning"
    near = len(target) >= 4 and DamerauLevenshtein.distance(key[: len(target)], target) <= 1
    return ("warning", "an edit in its beginning") if near else None


def _imitated_name(
    name: NormalizedName, pattern: str, key: str, target: str
) -> tuple[Grade, str] | None:
    if deconfuse(name) == deconfuse(pattern):
        return "error", "confusable characters"
    edits = DamerauLevenshtein.distance(key, target)
    return ("error", f"{edits} edit(s)") if edits <= (1 if len(target) < 10 else 2) else None


def _merged(
    by_index: dict[str, dict[Version, dict[str, str | None]]],
) -> dict[Version, dict[str, str | None]]:
    """Every index's versions and files as one (what a resolver merging them sees)."""
    merged: dict[Version, dict[str, str | None]] = {}
    for versions in by_index.values():
        for version, files in versions.items():
            merged.setdefault(version, {}).update(files)
    return merged
