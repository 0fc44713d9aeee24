"""The report's signature checks and gate findings, on bundles and wheel names made here
(the real-browser test of tests/container/test_report.py covers real builds)."""

from __future__ import annotations

import json
from pathlib import Path

from builder.gate.check import Gate
from builder.gate.policy import GatePolicy
from builder.provenance.signing import load_public_key, load_signer, new_key, sign_statement
from builder.report.collect import collect

WHEEL = "reqeusts-1.0-py3-none-any.whl"


def _bundle(folder: Path, signer_key: Path, predicate: dict | None = None) -> None:
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": WHEEL, "digest": {"sha256": "0" * 64}}],
                 "predicateType": "https://slsa.dev/provenance/v1",
                 "predicate": predicate or {}}  # fmt: skip
    envelope = sign_statement(statement, load_signer(signer_key))
    folder.mkdir()
    (folder / f"{WHEEL}.intoto.jsonl").write_text(json.dumps(envelope) + "\n")


def test_signatures_are_checked_against_the_keys_given_and_a_stranger_s_is_said(
    tmp_path: Path,
) -> None:
    ours, theirs = tmp_path / "ours.pem", tmp_path / "theirs.pem"
    new_key(ours)
    new_key(theirs)
    _bundle(tmp_path / "mine", ours)
    _bundle(tmp_path / "stranger", theirs)
    key = load_public_key(tmp_path / "ours.pub.json")
    report = collect(None, [tmp_path / "mine", tmp_path / "stranger"], keys=[key])
    (entry,) = report.wheels
    mine, stranger = entry.attestations
    assert mine.signature == f"verified: {key.keyid}"
    assert stranger.signature.startswith("not verified: envelope[0] is signed by none")
    assert report.counts["unverified signatures"] == 1 and report.keys == (key.keyid,)
    unchecked = collect(None, [tmp_path / "mine"])
    assert unchecked.wheels[0].attestations[0].signature == ""  # no key: not checked


def test_a_look_alike_wheel_name_is_a_gate_finding_of_the_report(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / WHEEL).write_bytes(b"not really a wheel")
    report = collect(dist, [], gate=Gate(GatePolicy()))
    (entry,) = report.wheels
    assert entry.gate == ("reqeusts resembles requests (swapped: edit distance 1; score 0.90)",)
    assert report.counts["gate findings"] == 1


def test_the_gate_judges_the_inputs_pypi_projects_not_their_file_names(tmp_path: Path) -> None:
    """A build tool's wheel is judged as `build`, a look-alike input as itself; the image
    and the driver are no PyPI names at all."""
    key = tmp_path / "key.pem"
    new_key(key)
    dependencies = [
        {"name": "build-1.6.1-py3-none-any.whl", "uri": "pkg:pypi/build@1.6.1",
         "annotations": {"role": "tool"}},
        {"name": "setuptoools-80.0-py3-none-any.whl", "uri": "pkg:pypi/setuptoools@80.0",
         "annotations": {"role": "build-requirement"}},
        {"name": "trixie-py root filesystem", "uri": "builder-image:trixie-py",
         "annotations": {"role": "image"}},
        {"name": "builder in-container driver", "annotations": {"role": "driver"}},
    ]  # fmt: skip
    _bundle(tmp_path / "bundles", key, {"buildDefinition": {"resolvedDependencies": dependencies}})
    report = collect(None, [tmp_path / "bundles"], gate=Gate(GatePolicy()))
    (entry,) = report.wheels
    assert [i.project for i in entry.inputs] == ["build", "setuptoools", "", ""]
    flagged = sorted(message.split(" resembles ")[0] for message in entry.gate)
    assert flagged == ["reqeusts", "setuptoools"]


def test_a_graph_table_that_does_not_read_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from builder.errors import InputError

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "graph-build.json").write_text('{"nodes": [{"node": "x"}]}')
    with pytest.raises(InputError, match=r"graph-build\.json: not a graph build's table"):
        collect(dist, [])
