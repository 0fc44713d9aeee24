"""The statements builder signs, checked against the in-toto attestation Python bindings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement

from builder.fetch.sources import Crate
from builder.names import Sha256
from builder.provenance.bundle import statements
from builder.provenance.statements import CYCLONEDX_PREDICATE, REBUILD_PREDICATE, SLSA_PROVENANCE
from builder.recipe import load_recipe
from tests.conftest import REPO
from tests.unit.conftest import IMAGE_DIGEST, record_for, synthetic_wheel

REBUILD = {"builds": 2, "raw_equal": True, "reproducible": True, "normalized": None}


def _validated(statement: dict) -> Statement:  # type: ignore[type-arg]
    proto = json_format.ParseDict(json.loads(json.dumps(statement)), statement_pb2.Statement())
    wrapped = Statement.copy_from_pb(proto)
    wrapped.validate()
    return wrapped


def test_every_statement_is_a_valid_in_toto_statement_about_the_wheel(tmp_path: Path) -> None:
    wheel = synthetic_wheel(tmp_path)
    record = record_for(wheel)
    made = statements(wheel, record, REBUILD)
    assert [s["predicateType"] for s in made] == [
        SLSA_PROVENANCE,
        REBUILD_PREDICATE,
        CYCLONEDX_PREDICATE,
    ]
    for statement in made:
        proto = _validated(statement).pb
        assert proto.subject[0].name == wheel.name
        assert proto.subject[0].digest["sha256"] == record.output.sha256


def test_the_provenance_parses_as_slsa_v1_and_holds_exactly_the_recipe(tmp_path: Path) -> None:
    wheel = synthetic_wheel(tmp_path)
    record = record_for(wheel)
    predicate = statements(wheel, record, None)[0]["predicate"]
    json_format.ParseDict(predicate, provenance_pb2.Provenance())  # strict field names
    definition = predicate["buildDefinition"]
    recipe = load_recipe(REPO / "recipes" / "markupsafe.toml")
    assert definition["externalParameters"] == recipe.external_parameters()
    assert definition["internalParameters"]["backend"] == "docker"
    roles = {d["annotations"]["role"]: d for d in definition["resolvedDependencies"]}
    assert roles["sdist"]["digest"]["sha256"] == recipe.sdist.sha256
    assert roles["build-requirement"]["name"] == recipe.requires[0].file
    assert roles["image"]["digest"]["sha256"] == IMAGE_DIGEST
    assert "python3=3.13.5-1" in roles["image"]["annotations"]["packages"]
    run = predicate["runDetails"]
    assert run["builder"]["id"].endswith("/builders/docker@v1")
    assert run["metadata"]["startedOn"] == "2026-11-20T10:00:00Z"
    assert run["metadata"]["invocationId"] == record.invocation_id
    assert [b["name"] for b in run["byproducts"]] == ["build.log"]


def test_the_sbom_lists_modules_and_the_crates_compiled_in(tmp_path: Path) -> None:
    wheel = synthetic_wheel(tmp_path)
    crate = Crate(name="pyo3", version="0.28.3", sha256=Sha256("cd" * 32))
    bom = statements(wheel, record_for(wheel, (crate,)), None)[-1]["predicate"]
    kinds = {
        c["name"]: {p["name"]: p["value"] for p in c.get("properties", [])}["builder:kind"]
        for c in bom["components"]
    }
    assert kinds["markupsafe/__init__.py"] == "python"
    assert kinds["markupsafe/_speedups.cpython-313-x86_64-linux-gnu.so"] == "compiled-module"
    assert kinds["pyo3"] == "crate-from-cargo-lock"
    assert bom["metadata"]["component"]["purl"] == "pkg:pypi/markupsafe@3.0.3"
    again = statements(wheel, record_for(wheel, (crate,)), None)[-1]["predicate"]
    assert again["serialNumber"] == bom["serialNumber"]


def test_a_record_survives_its_json_form_and_other_layouts_are_refused(tmp_path: Path) -> None:
    from builder.wheelbuild.record import BuildRecord, RecordError

    record = record_for(synthetic_wheel(tmp_path))
    assert BuildRecord.from_json(record.to_json()) == record
    for broken in ({}, {"record_version": 1}, {**record.to_json(), "inputs": None}, [1]):
        with pytest.raises(RecordError):
            BuildRecord.from_json(broken)
