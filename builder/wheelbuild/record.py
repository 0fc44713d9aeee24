"""The build record: every input by sha256, the exact run, and the output.

It is the raw material of provenance (see DESIGN.md, attest): frozen dataclasses, turned
into JSON only where it is written (the store, under the build key, and dist/ beside the
wheel) and read back from JSON only there.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builder import __version__
from builder.encoding import canonical_json
from builder.fetch.sources import Crate, Sources
from builder.images import DebPackage, Image
from builder.limits import Limits
from builder.names import Sha256
from builder.recipe import Patch, PinnedFile, Recipe
from builder.sandbox.staging import driver_digest
from builder.wheelbuild.run import BuiltWheel, MountRecord, RunRecord, WorkerInfo
from builder.wheelbuild.venvs import VenvsRef

RECORD_VERSION = 2


class RecordError(ValueError):
    """JSON that is not a build record (of this version)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInput:
    name: str
    digest: Sha256
    definition_sha256: Sha256
    packages: tuple[DebPackage, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """Everything the build reads, by content digest."""

    sdist: PinnedFile
    requires: tuple[PinnedFile, ...]
    tools: tuple[PinnedFile, ...]
    crates: tuple[Crate, ...]
    image: ImageInput
    driver_sha256: Sha256
    patches: tuple[Patch, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    wheel: str
    sha256: Sha256
    unrepaired_wheel: str
    grafted_libraries: tuple[str, ...]

    @property
    def repaired(self) -> bool:
        return self.wheel != self.unrepaired_wheel


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildSummary:
    """The rebuilds' outcome; the whole report is kept in the store by its sha256."""

    builds: int
    reproducible: bool
    sha256s: tuple[Sha256, ...]
    normalized_equal: bool | None
    report_sha256: Sha256


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRecord:
    build_key: Sha256
    invocation_id: str
    recipe_path: str
    parameters: Mapping[str, Any]  # the recipe as data: SLSA's externalParameters
    inputs: Inputs
    run: RunRecord
    started_on: str
    finished_on: str
    durations_s: Mapping[str, float]
    output: Output
    log_sha256: Sha256
    rebuild: RebuildSummary | None = None
    scans: Mapping[str, Any] | None = None  # the pickle scans of the sdist and the wheel
    builder_version: str = __version__
    record_version: int = RECORD_VERSION

    @property
    def source_date_epoch(self) -> int:
        return int(self.run.env["SOURCE_DATE_EPOCH"])

    def with_rebuild(self, summary: RebuildSummary) -> BuildRecord:
        return replace(self, rebuild=summary)

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, data: Any) -> BuildRecord:
        """The record `data` holds; RecordError when it is not one of this version."""
        return record_from_json(data)


def build_key(recipe: Recipe, image: Image, sources: Sources) -> Sha256:
    """The hash of the recipe (its limits included: a limit can change what a build
    gives) and of every input's digest: same key, same build."""
    material = {
        "record_version": RECORD_VERSION,
        "recipe": recipe.external_parameters(),
        "limits": recipe.limits.as_dict(),
        "image": image.digest,
        "tools": [t.sha256 for t in sources.tools],
        "crates": [c.sha256 for c in sources.crates],
        "driver": driver_digest(),
    }
    built = [r.sha256 for r in sources.requires if r.source == "built"]
    if built:  # the wheels built here that this build reads: a new one is a new build
        material["built"] = built
    return Sha256(hashlib.sha256(canonical_json(material)).hexdigest())


def make_record(
    *,
    key: Sha256,
    recipe: Recipe,
    image: Image,
    sources: Sources,
    built: BuiltWheel,
    started_on: str,
    finished_on: str,
) -> BuildRecord:
    return BuildRecord(
        build_key=key,
        invocation_id=uuid.uuid4().hex,
        recipe_path=str(recipe.path),
        parameters=recipe.external_parameters(),
        inputs=Inputs(
            sdist=sources.sdist,
            requires=sources.requires,
            tools=sources.tools,
            crates=sources.crates,
            patches=sources.patches,
            image=ImageInput(
                name=image.name,
                digest=image.digest,
                definition_sha256=image.definition_sha256,
                packages=image.packages,
            ),
            driver_sha256=driver_digest(),
        ),
        run=built.run,
        started_on=started_on,
        finished_on=finished_on,
        durations_s={"build": built.duration_s, **built.timings},
        output=Output(
            wheel=built.file,
            sha256=built.sha256,
            unrepaired_wheel=built.unrepaired_file,
            grafted_libraries=built.grafted_libraries,
        ),
        log_sha256=built.log_sha256,
    )


# JSON, at the edges only. The layout is documented in docs/attestations.md ("the record").


def record_to_json(record: BuildRecord) -> dict[str, Any]:
    inputs, run, output = record.inputs, record.run, record.output
    data: dict[str, Any] = {
        "record_version": record.record_version,
        "builder_version": record.builder_version,
        "build_key": record.build_key,
        "invocation_id": record.invocation_id,
        "recipe": {"path": record.recipe_path, "parameters": dict(record.parameters)},
        "inputs": {
            "sdist": inputs.sdist.as_dict(),
            "requires": [r.as_dict() for r in inputs.requires],
            "tools": [t.as_dict() for t in inputs.tools],
            "crates": [c.as_dict() for c in inputs.crates],
            "image": {
                "name": inputs.image.name,
                "digest": f"sha256:{inputs.image.digest}",
                "definition_sha256": inputs.image.definition_sha256,
                "packages": [p.as_dict() for p in inputs.image.packages],
            },
            "driver": {"sha256": inputs.driver_sha256},
        }
        | ({"patches": [p.as_dict() for p in inputs.patches]} if inputs.patches else {}),
        "run": {
            "backend": run.backend,
            "command": list(run.command),
            "env": dict(run.env),
            "mounts": [{"target": m.target, "read_only": m.read_only} for m in run.mounts],
            "tmpfs": list(run.tmpfs),
            "workdir": run.workdir,
            "network": run.network,
            "user": run.user,
            "hostname": run.hostname,
            "cpuset": run.cpuset,
            "limits": run.limits.as_dict(),
            **({"venvs": _venvs_json(run.venvs)} if run.venvs else {}),
            **({"worker": run.worker.as_dict()} if run.worker else {}),
            **compilers_json(run),
        },
        "started_on": record.started_on,
        "finished_on": record.finished_on,
        "durations_s": dict(record.durations_s),
        "output": {
            "wheel": output.wheel,
            "sha256": output.sha256,
            "unrepaired_wheel": output.unrepaired_wheel,
            "repaired": output.repaired,
            "grafted_libraries": list(output.grafted_libraries),
        },
        "log": {"sha256": record.log_sha256},
    }
    if record.scans is not None:
        data["scans"] = dict(record.scans)
    if record.rebuild is not None:
        data["rebuild"] = {
            "builds": record.rebuild.builds,
            "reproducible": record.rebuild.reproducible,
            "sha256s": list(record.rebuild.sha256s),
            "normalized_equal": record.rebuild.normalized_equal,
            "report_sha256": record.rebuild.report_sha256,
        }
    return data


def compilers_json(run: RunRecord) -> dict[str, Any]:
    """What the compiler wrappers passed (a record made before them has none)."""
    if not run.compilers:
        return {}
    return {"compilers": {language: list(args) for language, args in run.compilers.items()}}


def _venvs_json(venvs: VenvsRef) -> dict[str, str]:
    return {"key": venvs.key, "archive_sha256": venvs.archive_sha256}


def record_from_json(data: Any) -> BuildRecord:
    version = data.get("record_version") if isinstance(data, dict) else None
    if version != RECORD_VERSION:
        raise RecordError(f"not a build record of version {RECORD_VERSION} (found {version!r})")
    try:
        return _record(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise RecordError(f"not a build record: {exc!r}") from exc


def _record(data: Mapping[str, Any]) -> BuildRecord:
    inputs, run, output = data["inputs"], data["run"], data["output"]
    image = inputs["image"]
    rebuild = data.get("rebuild")
    return BuildRecord(
        record_version=int(data["record_version"]),
        builder_version=str(data["builder_version"]),
        build_key=Sha256(data["build_key"]),
        invocation_id=str(data["invocation_id"]),
        recipe_path=str(data["recipe"]["path"]),
        parameters=dict(data["recipe"]["parameters"]),
        inputs=Inputs(
            sdist=PinnedFile.from_json(inputs["sdist"]),
            requires=tuple(PinnedFile.from_json(r) for r in inputs["requires"]),
            tools=tuple(PinnedFile.from_json(t) for t in inputs["tools"]),
            crates=tuple(Crate.from_json(c) for c in inputs["crates"]),
            image=ImageInput(
                name=image["name"],
                digest=Sha256(str(image["digest"]).removeprefix("sha256:")),
                definition_sha256=Sha256(image["definition_sha256"]),
                packages=tuple(DebPackage(**p) for p in image["packages"]),
            ),
            driver_sha256=Sha256(inputs["driver"]["sha256"]),
            patches=tuple(
                Patch(file=p["file"], sha256=Sha256(p["sha256"]), path=Path(p["file"]))
                for p in inputs.get("patches", [])
            ),
        ),
        run=RunRecord(
            backend=run["backend"],
            command=tuple(run["command"]),
            env=dict(run["env"]),
            mounts=tuple(MountRecord(**m) for m in run["mounts"]),
            tmpfs=tuple(run["tmpfs"]),
            workdir=run["workdir"],
            network=bool(run["network"]),
            user=run["user"],
            hostname=run["hostname"],
            cpuset=run.get("cpuset"),
            limits=Limits(**run["limits"]),
            venvs=VenvsRef(**run["venvs"]) if run.get("venvs") else None,
            worker=WorkerInfo(**run["worker"]) if run.get("worker") else None,
            compilers={k: tuple(v) for k, v in run.get("compilers", {}).items()},
        ),
        started_on=str(data["started_on"]),
        finished_on=str(data["finished_on"]),
        durations_s=dict(data["durations_s"]),
        output=Output(
            wheel=output["wheel"],
            sha256=Sha256(output["sha256"]),
            unrepaired_wheel=output["unrepaired_wheel"],
            grafted_libraries=tuple(output["grafted_libraries"]),
        ),
        log_sha256=Sha256(data["log"]["sha256"]),
        scans=dict(data["scans"]) if data.get("scans") is not None else None,
        rebuild=RebuildSummary(
            builds=int(rebuild["builds"]),
            reproducible=bool(rebuild["reproducible"]),
            sha256s=tuple(rebuild["sha256s"]),
            normalized_equal=rebuild["normalized_equal"],
            report_sha256=Sha256(rebuild["report_sha256"]),
        )
        if rebuild
        else None,
    )
