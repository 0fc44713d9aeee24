"""The in-toto Statements builder signs: SLSA provenance v1, the rebuild result, the SBOM.

Each is made from the build record (and the rebuild report), which already names every
input by digest; nothing here looks at the machine. The formats are documented in
docs/attestations.md, which the buildType and the rebuild predicate type point at.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from builder import __version__
from builder.recipe import PinnedFile
from builder.wheelbuild.record import BuildRecord, Inputs, compilers_json

PROJECT_URI = "https://github.com/builder-dev/builder"
DOCS_URI = f"{PROJECT_URI}/blob/main/docs/attestations.md"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = f"{DOCS_URI}#buildtype-wheel-v1"
REBUILD_PREDICATE = f"{DOCS_URI}#rebuild-v1"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
PREDICATE_TYPES = (SLSA_PROVENANCE, REBUILD_PREDICATE, CYCLONEDX_PREDICATE)


def builder_id(backend: str) -> str:
    """One builder id per isolation mode: what a policy allows is the isolation, too."""
    return f"{PROJECT_URI}/builders/{backend}@v1"


def subject(wheel: str, sha256: str) -> list[dict[str, Any]]:
    return [{"name": wheel, "digest": {"sha256": sha256}}]


def statement(wheel: str, sha256: str, predicate_type: str, predicate: Any) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": subject(wheel, sha256),
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def _timestamp(iso: str) -> str:
    """RFC 3339 in UTC with a Z, as SLSA asks."""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pypi(name: str, version: str) -> str:
    return f"pkg:pypi/{name}@{version}"


def _pin(pin: PinnedFile, role: str) -> dict[str, Any]:
    """A file of the build; wheels say where they came from: `built` (here, from their
    sdist) or `index` (downloaded: an exception, which a policy may refuse)."""
    annotations = {"role": role} | ({} if role == "sdist" else {"source": pin.source})
    return {
        "name": pin.file,
        "uri": _pypi(pin.name, pin.version),
        "digest": {"sha256": pin.sha256},
        "annotations": annotations,
    }


def resolved_dependencies(inputs: Inputs) -> list[dict[str, Any]]:
    """Every input of the build, each a ResourceDescriptor with its sha256."""
    deps = [_pin(inputs.sdist, "sdist")]
    deps += [_pin(p, "build-requirement") for p in inputs.requires]
    deps += [_pin(p, "tool") for p in inputs.tools]
    deps += [
        {"name": p.file, "digest": {"sha256": p.sha256}, "annotations": {"role": "patch"}}
        for p in inputs.patches
    ]
    deps += [
        {
            "name": c.file,
            "uri": f"pkg:cargo/{c.name}@{c.version}",
            "digest": {"sha256": c.sha256},
            "annotations": {"role": "vendored-crate"},
        }
        for c in inputs.crates
    ]
    image = inputs.image
    deps.append(
        {
            "name": f"{image.name} root filesystem",
            "uri": f"builder-image:{image.name}",
            "digest": {"sha256": image.digest},
            "annotations": {
                "role": "image",
                "definition_sha256": image.definition_sha256,
                "packages": [f"{p.name}={p.version}" for p in image.packages],
            },
        }
    )
    deps.append(
        {
            "name": "builder in-container driver",
            "digest": {"sha256": inputs.driver_sha256},
            "annotations": {"role": "driver"},
        }
    )
    return deps


def provenance(record: BuildRecord, rebuild_sha256: str | None) -> dict[str, Any]:
    """The SLSA v1 provenance predicate of one build record."""
    run = record.run
    byproducts = [{"name": "build.log", "digest": {"sha256": record.log_sha256}}]
    if rebuild_sha256 is not None:
        byproducts.append({"name": "rebuild-report.json", "digest": {"sha256": rebuild_sha256}})
    if record.scans is not None:
        byproducts.append({"name": "pickle-scan", "annotations": dict(record.scans)})
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": dict(record.parameters),
            "internalParameters": {
                "backend": run.backend,
                "limits": run.limits.as_dict(),
                "environment": dict(run.env),
                "command": list(run.command),
                **compilers_json(run),
                "user": run.user,
                "hostname": run.hostname,
                "workdir": run.workdir,
                "network": run.network,
                "variation": "none (reference build)",
            }
            | ({"worker": run.worker.as_dict()} if run.worker else {}),
            "resolvedDependencies": resolved_dependencies(record.inputs),
        },
        "runDetails": {
            "builder": {"id": builder_id(run.backend), "version": {"builder": __version__}},
            "metadata": {
                "invocationId": record.invocation_id,
                "startedOn": _timestamp(record.started_on),
                "finishedOn": _timestamp(record.finished_on),
            },
            "byproducts": byproducts,
        },
    }


def provenance_statement(record: BuildRecord, rebuild_sha256: str | None) -> dict[str, Any]:
    output = record.output
    return statement(
        output.wheel, output.sha256, SLSA_PROVENANCE, provenance(record, rebuild_sha256)
    )


def rebuild_statement(record: BuildRecord, report: dict[str, Any]) -> dict[str, Any]:
    return statement(record.output.wheel, record.output.sha256, REBUILD_PREDICATE, report)


def sbom_statement(record: BuildRecord, bom: dict[str, Any]) -> dict[str, Any]:
    return statement(record.output.wheel, record.output.sha256, CYCLONEDX_PREDICATE, bom)
