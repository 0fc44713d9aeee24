"""Rebuild a recipe under variations and compare the wheels, bit for bit.

The reference build is the recipe's ordinary build (possibly a cache hit). Each rebuild
runs for real, in a fresh container, with the variations of builder.variation; its wheel
and log go into the store like any other. Equal sha256 is the only test of
reproducibility; when a rebuild differs, the report carries builder diff's explanation.
On a cluster, each build names the worker it ran on, and `elsewhere` keeps the rebuilds
off the reference build's worker: agreement then holds across machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from builder.compare.diff.model import WheelDiff
from builder.compare.diff.wheel import diff_wheels
from builder.compare.normalize import NORMALIZATIONS, normalize_wheel
from builder.fetch.sources import Sources
from builder.images import Image
from builder.names import Sha256
from builder.progress import Progress
from builder.recipe import Recipe
from builder.store import Store
from builder.variation import ALWAYS, DEFAULT_KINDS, KINDS, rebuild_variations
from builder.wheelbuild.place import BuildPlace
from builder.wheelbuild.record import BuildRecord
from builder.wheelbuild.run import WorkerInfo

REPORT_VERSION = 1
INDEPENDENT = "another signer's machine, store and key, from the attestation alone"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rebuild:
    variation: dict[str, object]
    wheel: str
    sha256: Sha256
    log_sha256: Sha256
    duration_s: float
    worker: WorkerInfo | None = None
    remapped: tuple[str, ...] = ()  # text members written as built at /build


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildReport:
    name: str
    version: str
    build_key: str
    reference_wheel: str
    reference_sha256: Sha256
    kinds: tuple[str, ...]
    rebuilds: tuple[Rebuild, ...]
    differences: tuple[tuple[int, WheelDiff], ...]
    normalized_sha256s: tuple[Sha256, ...] | None = None
    policy: dict[str, Any] = field(default_factory=dict)
    reference_worker: WorkerInfo | None = None
    # The index's compiled wheels of the release, where the reference wheel holds none.
    upstream_compiled: tuple[str, ...] = ()

    @property
    def reproducible(self) -> bool:
        """Bit for bit, raw: the only meaning of reproducible in a report."""
        return all(r.sha256 == self.reference_sha256 for r in self.rebuilds)

    @property
    def normalized_equal(self) -> bool | None:
        """Equal after normalization; None when normalization was not asked for."""
        if self.normalized_sha256s is None:
            return None
        return len(set(self.normalized_sha256s)) == 1

    @property
    def passed(self) -> bool:
        return self.reproducible or bool(self.normalized_equal)

    @property
    def sha256s(self) -> list[Sha256]:
        return [self.reference_sha256, *(r.sha256 for r in self.rebuilds)]

    def to_json(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION,
            "package": {"name": self.name, "version": self.version},
            "build_key": self.build_key,
            "builds": len(self.rebuilds) + 1,
            "reference": {"wheel": self.reference_wheel, "sha256": self.reference_sha256}
            | _worker_json(self.reference_worker),
            "variations": {k: KINDS[k] for k in self.kinds} | {"always": ALWAYS},
            "recipe_policy": self.policy,
            "rebuilds": [
                {
                    "variation": r.variation,
                    "wheel": r.wheel,
                    "sha256": r.sha256,
                    "log_sha256": r.log_sha256,
                    "duration_s": r.duration_s,
                }
                | ({"build_path_remapped": list(r.remapped)} if r.remapped else {})
                | _worker_json(r.worker)
                for r in self.rebuilds
            ],
            "reproducible": self.reproducible,
            "raw_equal": self.reproducible,
            "normalized": None
            if self.normalized_sha256s is None
            else {
                "applied": list(NORMALIZATIONS),
                "sha256s": list(self.normalized_sha256s),
                "equal": self.normalized_equal,
            },
            "differences": [{"rebuild": i, **d.to_json()} for i, d in self.differences],
        } | _compiled_json(self.upstream_compiled)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rebuilds:
    """How many rebuilds, under which variations: `kinds` None is the recipe's rebuild
    policy applied to the default variations; `no_vary` is taken out of either."""

    count: int = 0
    kinds: frozenset[str] | None = None
    no_vary: frozenset[str] = frozenset()
    normalize: bool = False
    elsewhere: bool = False  # none on the worker of the reference build (a cluster's)

    def variations(self, recipe: Recipe) -> frozenset[str]:
        kinds = recipe.rebuild.kinds(DEFAULT_KINDS) if self.kinds is None else self.kinds
        return kinds - self.no_vary


NO_REBUILDS = Rebuilds()


def rebuild(
    recipe: Recipe,
    image: Image,
    sources: Sources,
    *,
    record: BuildRecord,
    store: Store,
    place: BuildPlace,
    progress: Progress,
    asked: Rebuilds,
) -> RebuildReport:
    """The rebuilds `asked` for; with `asked.elsewhere`, none on the worker that made the
    reference build (a cluster's; on one machine there is no elsewhere)."""
    reference, count, kinds = record.output, asked.count, asked.variations(recipe)
    worker = record.run.worker
    avoid = (worker.address,) if asked.elsewhere and worker else ()
    rebuilds = []
    differences = []
    for variation in rebuild_variations(count, kinds):
        built = place.build(recipe, image, sources, variation=variation, avoid=avoid)
        rebuilds.append(
            Rebuild(
                variation=variation.describe(),
                wheel=built.file,
                sha256=built.sha256,
                log_sha256=built.log_sha256,
                duration_s=built.duration_s,
                worker=built.run.worker,
                remapped=built.remapped,
            )
        )
        if built.sha256 != reference.sha256:
            progress.status(f"rebuild {variation.index} differs: {built.sha256[:16]}")
            diff = diff_wheels(
                store.verified_path(reference.sha256, reference.wheel),
                store.verified_path(built.sha256, built.file),
                labels=("reference build", f"rebuild {variation.index}"),
            )
            differences.append((variation.index, diff))
        else:
            progress.status(f"rebuild {variation.index} is bit-for-bit identical")
    normalized = None
    if asked.normalize:
        epoch = record.source_date_epoch
        wheels = [(reference.sha256, reference.wheel)]
        wheels += [(r.sha256, r.wheel) for r in rebuilds]
        normalized = tuple(_normalized(store, sha, name, epoch) for sha, name in wheels)
    return RebuildReport(
        normalized_sha256s=normalized,
        policy=recipe.rebuild.as_dict(),
        name=recipe.name,
        version=recipe.version,
        build_key=record.build_key,
        reference_wheel=reference.wheel,
        reference_sha256=reference.sha256,
        kinds=tuple(sorted(kinds)),
        rebuilds=tuple(rebuilds),
        differences=tuple(differences),
        reference_worker=record.run.worker,
    )


def recorded_rebuilds(
    data: Mapping[str, Any], recipe: Recipe, record: BuildRecord, asked: Rebuilds
) -> RebuildReport | None:
    """The rebuilds a cache hit's record holds (its stored report, `data`), where they
    are what `asked` asks for now (the same count, variations, recipe policy and
    normalization; on a cluster, elsewhere) and agreed bit for bit: then they need not
    run again. None otherwise (a disagreement is run again: the report says why)."""
    try:
        kinds = tuple(sorted(asked.variations(recipe)))
        wanted = [v.describe() for v in rebuild_variations(asked.count, kinds)]
        rebuilds = tuple(_rebuild_of(r) for r in data["rebuilds"])
        normalized = data.get("normalized")
        same = (
            data.get("report_version") == REPORT_VERSION
            and [r.variation for r in rebuilds] == wanted
            and data.get("recipe_policy") == recipe.rebuild.as_dict()
            and data["reference"]["sha256"] == record.output.sha256
            and (normalized is not None or not asked.normalize)
            and all(r.sha256 == record.output.sha256 for r in rebuilds)
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    worker = record.run.worker
    if not same or (asked.elsewhere and any(r.worker == worker for r in rebuilds)):
        return None
    return RebuildReport(
        name=recipe.name, version=recipe.version, build_key=record.build_key,
        reference_wheel=record.output.wheel, reference_sha256=record.output.sha256,
        kinds=kinds, rebuilds=rebuilds, differences=(), policy=recipe.rebuild.as_dict(),
        normalized_sha256s=tuple(normalized["sha256s"]) if normalized else None,
        reference_worker=worker,
    )  # fmt: skip


def independent_rebuild(
    *, attested_wheel: str, attested_sha256: str, attested_by: tuple[str, ...],
    record: BuildRecord, seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """The rebuild report of another signer's rebuild from an attestation: two builds, the
    attested one (the reference, signed by `attested_by`) and this one, made on another
    machine with another store and key; reproducible when the sha256s are equal."""
    same = record.output.sha256 == attested_sha256
    reference = {"wheel": attested_wheel, "sha256": attested_sha256,
                 "attested_by": list(attested_by)}  # fmt: skip
    this = {"variation": ["independent"], "wheel": record.output.wheel,
            "sha256": record.output.sha256, "log_sha256": record.log_sha256,
            "duration_s": round(seconds, 3)}  # fmt: skip
    package = {"name": record.parameters["name"], "version": record.parameters["version"]}
    return {
        "report_version": REPORT_VERSION,
        "package": package,
        "build_key": record.build_key,
        "builds": 2,
        "reference": reference,
        "variations": {"independent": INDEPENDENT},
        "recipe_policy": {},
        "rebuilds": [this],
        "reproducible": same,
        "raw_equal": same,
        "normalized": None,
    }


def _rebuild_of(data: Mapping[str, Any]) -> Rebuild:
    worker = data.get("worker")
    return Rebuild(
        variation=dict(data["variation"]), wheel=str(data["wheel"]),
        sha256=Sha256(data["sha256"]), log_sha256=Sha256(data["log_sha256"]),
        duration_s=float(data["duration_s"]),
        worker=WorkerInfo(**worker) if isinstance(worker, dict) else None,
        remapped=tuple(data.get("build_path_remapped", ())),
    )  # fmt: skip


def _compiled_json(upstream: tuple[str, ...]) -> dict[str, Any]:
    """Said where builder's wheel is pure and upstream's compiled (not reproducibility,
    but a wheel slower than upstream's)."""
    if not upstream:
        return {}
    return {"compiled": {"wheel": False, "upstream": list(upstream)}}


def _worker_json(worker: WorkerInfo | None) -> dict[str, Any]:
    return {"worker": worker.as_dict()} if worker is not None else {}


def _normalized(store: Store, sha256: Sha256, name: str, epoch: int) -> Sha256:
    with store.temp_dir("normalize-") as work:
        src = work / "in" / name
        src.parent.mkdir()
        src.symlink_to(store.verified_path(sha256, name))
        return store.add_file(normalize_wheel(src, work / "out", epoch))
