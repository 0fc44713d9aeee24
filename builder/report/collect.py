"""What an auditor's report holds, read from a dist folder (each wheel, its build record
and rebuild report) and from attestation folders (this machine's and other machines' or
signers' bundles): per wheel, every build and rebuild, every attestation, whether they
agree on the sha256, the inputs by digest and where each came from, and what differed.

Nothing is dropped: an attestation of an unknown predicate type, a wheel an attestation
names that the dist folder lacks, and two attestations that disagree about one wheel are
each shown as such. With public keys, each bundle's signatures are checked (verified by
which key, or why not); the gate's name rules (offline) look at each wheel's name and
the PyPI projects among its inputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from securesystemslib.signer import Key

from builder.errors import BuilderError, InputError, VerificationFailed
from builder.gate.check import Gate
from builder.images.tags import wheel_platform
from builder.names import normalize
from builder.provenance.bundle import read_bundle, read_statements, the_statement
from builder.provenance.signing import open_envelope
from builder.provenance.statements import PREDICATE_TYPES, SLSA_PROVENANCE
from builder.publish.quorum import Held
from builder.store import sha256_file
from builder.wheelbuild.record import BuildRecord, RecordError

BUNDLE_SUFFIX = ".intoto.jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    """One build of the wheel: the first ("build") or a rebuild under variation."""

    label: str
    sha256: str
    variations: tuple[str, ...] = ()
    agrees: bool = True
    worker: str = ""  # the cluster worker that ran it ("" on the head's own machine)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attestation:
    """One bundle about the wheel, from one attestation folder."""

    folder: str
    keyids: tuple[str, ...]
    sha256: str | None  # the provenance's subject; None: the bundle holds no provenance
    predicate_types: tuple[str, ...]
    unknown_types: tuple[str, ...] = ()
    problem: str | None = None  # unreadable, malformed
    agrees: bool = True
    signature: str = ""  # with keys: "verified: KEYID" or "not verified: why"; else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    name: str
    sha256: str
    role: str
    source: str = ""  # built, index (an exception), or "" where it does not apply
    project: str = ""  # the PyPI project (from a pkg:pypi purl), "" for other inputs


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    member: str
    category: str
    kind: str
    details: tuple[str, ...] = ()
    text_diff: tuple[str, ...] = ()


# What the report says of a wheel, as it counts them.
Status = Literal["reproducible", "differs", "not rebuilt", "attestations disagree", "wheel missing"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelEntry:
    wheel: str
    sha256: str | None  # of the wheel in the dist folder; None: not there
    status: Status
    builds: tuple[Build, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    inputs: tuple[Input, ...] = ()
    image: str = ""
    image_digest: str = ""
    image_packages: int = 0
    crates: int = 0
    fixed: tuple[str, ...] = ()  # variations the recipe keeps fixed, with `reason`
    fixed_reason: str = ""
    normalized: str = ""  # what normalization said, when asked for
    differences: tuple[Difference, ...] = ()
    gate: tuple[str, ...] = ()  # the gate's findings on the wheel's and its inputs' names
    platform: str = ""  # its platform tags and the oldest glibc they install on
    glibc: str | None = None  # that glibc ("2.17"); None: pure, or no manylinux tag

    @property
    def unverified(self) -> bool:
        return any(a.signature.startswith("not verified") for a in self.attestations)

    @property
    def exceptions(self) -> tuple[Input, ...]:
        """Build requirements taken from the index, not built here (the image's tools,
        pinned index wheels of every build, are listed among the inputs, not here)."""
        return tuple(
            i for i in self.inputs if i.source == "index" and i.role == "build-requirement"
        )

    @property
    def slug(self) -> str:
        return self.wheel.removesuffix(".whl")


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphRow:
    """A node of the graph build that made the dist folder (its graph-build.json)."""

    node: str
    image: str
    state: str
    reproducible: bool | None
    platform: str | None
    seconds: float | None
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldCandidate:
    sha256: str
    signers: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldFile:
    project: str
    filename: str
    state: Held
    why: str
    candidates: tuple[HeldCandidate, ...]
    inputs_differ: tuple[str, ...] = ()  # quarantined: which attested inputs differ
    differences: tuple[Difference, ...] = ()  # quarantined: the first two wheels' diff

    @property
    def slug(self) -> str:
        return f"held-{self.filename.removesuffix('.whl')}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    wheels: tuple[WheelEntry, ...]
    folders: tuple[str, ...]  # the attestation folders, in the order given
    counts: dict[str, int] = field(default_factory=dict)
    keys: tuple[str, ...] = ()  # the key ids signatures were checked against
    advisories: str = ""  # what the gate knew of advisories (the snapshot's date), if run
    graph: tuple[GraphRow, ...] = ()  # the graph build's table, where dist holds one
    held: tuple[HeldFile, ...] = ()  # what an index published with a quorum holds back

    def to_json(self) -> dict[str, Any]:
        return {
            "advisories": self.advisories,
            "folders": list(self.folders),
            "keys": list(self.keys),
            "counts": dict(self.counts),
            "graph": [asdict(r) for r in self.graph],
            "held": [h.to_json() for h in self.held],
            "wheels": [_entry_json(w) for w in self.wheels],
        }


def collect(
    dist: Path | None,
    attestation_folders: Sequence[Path],
    keys: Sequence[Key] = (),
    gate: Gate | None = None,
) -> Report:
    """The report of every wheel in `dist` and every wheel the bundles name; with `keys`,
    every bundle's signatures checked against them; with `gate`, its name rules applied."""
    names = set(_dist_wheels(dist))
    bundles = {folder: _bundles(folder) for folder in attestation_folders}
    for found in bundles.values():
        names |= set(found)
    entries = tuple(_checked(_entry(n, dist, bundles), bundles, keys, gate) for n in sorted(names))
    counts = {"wheels": len(entries)}
    for status in STATUSES:
        counts[status] = sum(e.status == status for e in entries)
    counts["with exceptions"] = sum(bool(e.exceptions) for e in entries)
    counts["unverified signatures"] = sum(e.unverified for e in entries)
    counts["gate findings"] = sum(bool(e.gate) for e in entries)
    return Report(wheels=entries, folders=tuple(str(f) for f in attestation_folders),
                  counts=counts, keys=tuple(k.keyid for k in keys),
                  advisories=gate.advisories_said() if gate else "",
                  graph=graph_rows(dist))  # fmt: skip


GRAPH_SUMMARY = "graph-build.json"  # what builder build --graph writes into its dist


def graph_rows(dist: Path | None) -> tuple[GraphRow, ...]:
    """The graph build's table from dist/graph-build.json (none where there is none)."""
    path = dist / GRAPH_SUMMARY if dist is not None else None
    if path is None or not path.is_file():
        return ()
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"]
        return tuple(GraphRow(node=str(n["node"]), image=str(n["image"]), state=str(n["state"]),
                              reproducible=n.get("reproducible"), platform=n.get("platform"),
                              seconds=n.get("seconds"), reason=n.get("reason"))
                     for n in nodes)  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path}: not a graph build's table: {exc!r}",
            hint="builder build --graph writes it; build again",
        ) from exc


def _checked(
    entry: WheelEntry, bundles: dict[Path, dict[str, Path]], keys: Sequence[Key],
    gate: Gate | None,
) -> WheelEntry:  # fmt: skip
    """The entry with its bundles' signatures checked and its names through the gate."""
    if keys:
        paths = [found[entry.wheel] for found in bundles.values() if entry.wheel in found]
        checked = [replace(a, signature=_signature(path, keys))
                   for a, path in zip(entry.attestations, paths, strict=True)]  # fmt: skip
        entry = replace(entry, attestations=tuple(checked))
    if gate is not None:
        project = entry.wheel.split("-", 1)[0]
        inputs = (normalize(i.project) for i in entry.inputs if i.project)
        names = sorted({normalize(project), *inputs})
        found = [i for n in names for i in gate.typosquats(n, look_up=False)]  # offline
        release = _release(entry.wheel)
        found += gate.releases([release] if release else [])
        said = [i.message for i in found]
        if release is None:
            said.append(f"{entry.wheel} is not a wheel's file name (PEP 427)")
        entry = replace(entry, gate=tuple(said))
    return entry


def _release(wheel: str) -> tuple[str, str] | None:
    try:
        name, version, _, _ = parse_wheel_filename(wheel)
    except InvalidWheelFilename:
        return None
    return name, str(version)


def _signature(bundle: Path, keys: Sequence[Key]) -> str:
    """Whether every envelope of the bundle is signed by one of the keys, and by which."""
    try:
        envelopes = read_bundle(bundle)
    except BuilderError as exc:
        return f"not verified: {exc.message}"
    signers = []
    for i, raw in enumerate(envelopes):
        for key in keys:
            try:
                open_envelope(raw, key, f"envelope[{i}]")
            except VerificationFailed:
                continue
            signers.append(key.keyid)
            break
        else:
            return f"not verified: envelope[{i}] is signed by none of the keys given"
    if not signers:
        return "not verified: the bundle holds no envelope"
    return "verified: " + ", ".join(sorted(set(signers)))


def _dist_wheels(dist: Path | None) -> list[str]:
    return sorted(p.name for p in dist.glob("*.whl")) if dist and dist.is_dir() else []


def _bundles(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise BuilderError(f"{folder}: no such attestation folder")
    return {p.name.removesuffix(BUNDLE_SUFFIX): p for p in folder.glob(f"*.whl{BUNDLE_SUFFIX}")}


def _entry(name: str, dist: Path | None, bundles: dict[Path, dict[str, Path]]) -> WheelEntry:
    wheel = dist / name if dist else None
    sha = sha256_file(wheel) if wheel is not None and wheel.is_file() else None
    record = _record(Path(f"{wheel}.build.json")) if wheel is not None else None
    rebuild = _rebuild(Path(f"{wheel}.rebuild.json")) if wheel is not None else None
    attestations = [_attestation(str(f), found[name]) for f, found in bundles.items()
                    if name in found]  # fmt: skip
    reference = sha or next((a.sha256 for a in attestations if a.sha256), None)
    attestations = [_agreeing(a, reference) for a in attestations]
    builds = _builds(record, rebuild, reference)
    provenance = _provenance(next((found[name] for found in bundles.values() if name in found),
                                  None))  # fmt: skip
    return WheelEntry(
        wheel=name,
        sha256=sha,
        **_platform(name),
        status=_status(sha, builds, attestations, record),
        builds=builds,
        attestations=tuple(attestations),
        inputs=_inputs(provenance),
        **_image(record),
        crates=len((record or {}).get("inputs", {}).get("crates", [])),
        **_policy(rebuild),
        differences=_differences(rebuild),
    )


def _platform(name: str) -> dict[str, Any]:
    try:
        platform = wheel_platform(name)
    except InvalidWheelFilename:  # a name an attestation gives, not a wheel's
        return {}
    return {"platform": platform.describe(), "glibc": platform.glibc_text}


def _status(
    sha: str | None, builds: tuple[Build, ...], attestations: list[Attestation],
    record: dict[str, Any] | None,
) -> Status:  # fmt: skip
    if sha is None:
        return "wheel missing"
    if any(not a.agrees for a in attestations):
        return "attestations disagree"
    if len(builds) < 2:
        return "not rebuilt"
    return "reproducible" if all(b.agrees for b in builds) else "differs"


def _builds(
    record: dict[str, Any] | None, rebuild: dict[str, Any] | None, reference: str | None
) -> tuple[Build, ...]:
    if rebuild is not None:
        first = rebuild["reference"]["sha256"]
        builds = [Build(label="build", sha256=first, agrees=first == reference,
                        worker=_worker(rebuild["reference"]))]  # fmt: skip
        for r in rebuild.get("rebuilds", []):
            variation = r.get("variation", {})
            builds.append(Build(label=f"rebuild {variation.get('index', len(builds))}",
                                sha256=r["sha256"], agrees=r["sha256"] == reference,
                                variations=tuple(variation.get("applied", [])),
                                worker=_worker(r)))  # fmt: skip
        return tuple(builds)
    if record is not None:
        sha = record["output"]["sha256"]
        return (Build(label="build", sha256=sha, agrees=sha == reference),)
    return ()


def _worker(build: dict[str, Any]) -> str:
    worker = build.get("worker")
    if not isinstance(worker, dict):
        return ""
    return f"{worker.get('name', '?')} ({worker.get('host', '?')})"


def _attestation(folder: str, path: Path) -> Attestation:
    try:
        statements = read_statements(path)
    except BuilderError as exc:
        return Attestation(folder=folder, keyids=(), sha256=None, predicate_types=(),
                           problem=exc.message)  # fmt: skip
    keyids = sorted({k for s in statements for k in s.keyids})
    types = tuple(s.predicate_type for s in statements)
    provenance = the_statement(statements, SLSA_PROVENANCE)
    subject = provenance.subjects[0].sha256 if provenance and provenance.subjects else None
    return Attestation(
        folder=folder, keyids=tuple(keyids), sha256=subject, predicate_types=types,
        unknown_types=tuple(t for t in types if t not in PREDICATE_TYPES),
    )  # fmt: skip


def _agreeing(attestation: Attestation, reference: str | None) -> Attestation:
    agrees = attestation.sha256 is None or attestation.sha256 == reference
    return replace(attestation, agrees=agrees)


def _provenance(bundle: Path | None) -> dict[str, Any]:
    if bundle is None:
        return {}
    try:
        statement = the_statement(read_statements(bundle), SLSA_PROVENANCE)
    except BuilderError:
        return {}  # said in the attestation's row
    return statement.predicate if statement else {}


def _inputs(provenance: dict[str, Any]) -> tuple[Input, ...]:
    dependencies = provenance.get("buildDefinition", {}).get("resolvedDependencies", [])
    return tuple(
        Input(name=str(d.get("name") or d.get("uri", "?")),
              sha256=str(d.get("digest", {}).get("sha256", "")),
              role=str(d.get("annotations", {}).get("role", "")),
              source=str(d.get("annotations", {}).get("source", "")),
              project=_pypi_project(str(d.get("uri", ""))))
        for d in dependencies
        if d.get("annotations", {}).get("role") not in ("crate", "image-package")
    )  # fmt: skip


def _pypi_project(uri: str) -> str:
    """The project a pkg:pypi purl names; "" for any other input (the image, the driver)."""
    if not uri.startswith("pkg:pypi/"):
        return ""
    return uri.removeprefix("pkg:pypi/").split("@", 1)[0]


def _image(record: dict[str, Any] | None) -> dict[str, Any]:
    image = (record or {}).get("inputs", {}).get("image", {})
    return {"image": image.get("name", ""), "image_digest": image.get("digest", ""),
            "image_packages": len(image.get("packages", []))}  # fmt: skip


def _policy(rebuild: dict[str, Any] | None) -> dict[str, Any]:
    policy = (rebuild or {}).get("recipe_policy", {})
    normalized = (rebuild or {}).get("normalized")
    said = "" if normalized is None else json.dumps(normalized, sort_keys=True)[:400]
    return {"fixed": tuple(policy.get("fixed", [])), "fixed_reason": policy.get("reason", ""),
            "normalized": said}  # fmt: skip


def _differences(rebuild: dict[str, Any] | None) -> tuple[Difference, ...]:
    found = []
    for difference in (rebuild or {}).get("differences", []):
        for m in difference.get("members", []):
            found.append(Difference(
                member=m["name"], category=m.get("category", ""), kind=m.get("kind", ""),
                details=tuple(m.get("details") or ()), text_diff=tuple(m.get("text_diff") or ()),
            ))  # fmt: skip
    return tuple(found)


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _record(path: Path) -> dict[str, Any] | None:
    """A build record beside the wheel; None when absent or not a record (a damaged file
    is not read field by field)."""
    data = _json(path)
    try:
        BuildRecord.from_json(data)
    except RecordError:
        return None
    return data


def _rebuild(path: Path) -> dict[str, Any] | None:
    """A rebuild report beside the wheel; None when absent or not one."""
    data = _json(path)
    if data is None:
        return None
    reference, rebuilds = data.get("reference"), data.get("rebuilds")
    shaped = (
        isinstance(reference, dict) and isinstance(reference.get("sha256"), str)
        and isinstance(rebuilds, list)
        and all(isinstance(r, dict) and isinstance(r.get("sha256"), str) for r in rebuilds)
    )  # fmt: skip
    return data if shaped else None


def _entry_json(entry: WheelEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["exceptions"] = [i.name for i in entry.exceptions]
    data["unverified"] = entry.unverified
    return data
