"""builder verify: every tampering and every policy failure, one by one, with its reason."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from builder.cli import main
from builder.provenance.bundle import attest
from builder.provenance.signing import KeyPair, load_signer, new_key, sign_statement
from builder.provenance.statements import builder_id
from tests.conftest import json_output
from tests.unit.conftest import IMAGE_DIGEST, record_for, synthetic_wheel

REBUILD_OK = {"builds": 2, "raw_equal": True, "reproducible": True, "normalized": None}


@pytest.fixture
def signed(tmp_path: Path, key_pair: KeyPair) -> tuple[Path, Path]:
    wheel = synthetic_wheel(tmp_path / "dist")
    bundle = attest(
        wheel, record_for(wheel), REBUILD_OK, signer=load_signer(key_pair.private),
        folder=tmp_path / "attestations",
    )  # fmt: skip
    return wheel, bundle.path


def run_verify(
    wheel: Path, bundle: Path, key: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = main(["verify", str(wheel), "--attestation", str(bundle), "--key", str(key),
                 "--json", *extra])  # fmt: skip
    out = capsys.readouterr()
    return code, json_output(out.out, "verify") if out.out else {}, out.err


def _lines(bundle: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bundle.read_text().splitlines()]


def _write(bundle: Path, envelopes: list[dict[str, Any]]) -> None:
    bundle.write_text("".join(json.dumps(e) + "\n" for e in envelopes))


def _failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["ok"]]


def test_a_good_attestation_verifies(signed, key_pair: KeyPair, capsys) -> None:  # type: ignore[no-untyped-def]
    code, report, _ = run_verify(*signed, key_pair.public, capsys)
    assert code == 0 and report["ok"] and not _failed(report)


def test_a_tampered_payload_fails_its_signature(signed, key_pair, capsys) -> None:  # type: ignore[no-untyped-def]
    wheel, bundle = signed
    envelopes = _lines(bundle)
    statement = json.loads(base64.b64decode(envelopes[0]["payload"]))
    statement["predicate"]["buildDefinition"]["externalParameters"]["env"] = {"EVIL": "1"}
    envelopes[0]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    _write(bundle, envelopes)
    code, report, _ = run_verify(wheel, bundle, key_pair.public, capsys)
    assert code == 12 and "envelope[0] signature" in _failed(report)
    assert "does not verify" in next(c["found"] for c in report["checks"] if not c["ok"])


def test_a_signature_swapped_in_from_another_key_fails(signed, key_pair, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    wheel, bundle = signed
    other = new_key(tmp_path / "other.pem")
    envelopes = _lines(bundle)
    statement = json.loads(base64.b64decode(envelopes[0]["payload"]))
    envelopes[0]["signatures"] = sign_statement(statement, load_signer(other.private))["signatures"]
    _write(bundle, envelopes)
    code, report, _ = run_verify(wheel, bundle, key_pair.public, capsys)
    assert code == 12 and _failed(report) == ["envelope[0] signature", "provenance statement"]


def test_the_wrong_key_fails_every_signature(signed, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    other = new_key(tmp_path / "other.pem")
    code, report, _ = run_verify(*signed, other.public, capsys)
    assert code == 12
    assert [n for n in _failed(report) if n.endswith("signature")] == [
        "envelope[0] signature", "envelope[1] signature", "envelope[2] signature",
    ]  # fmt: skip


def test_a_statement_for_another_wheel_fails_the_subject(
    signed, key_pair, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    _, bundle = signed
    other = synthetic_wheel(tmp_path / "other", payload=b"x = 2\n")
    code, report, _ = run_verify(other, bundle, key_pair.public, capsys)
    assert code == 12 and "envelope[0] subject" in _failed(report)
    (check,) = [c for c in report["checks"] if c["name"] == "envelope[0] subject"]
    assert report["sha256"] in check["expected"] and report["sha256"] not in check["found"]


def test_an_unknown_predicate_type_is_refused(signed, key_pair, capsys) -> None:  # type: ignore[no-untyped-def]
    wheel, bundle = signed
    envelopes = _lines(bundle)
    statement = json.loads(base64.b64decode(envelopes[2]["payload"]))
    statement["predicateType"] = "https://example.invalid/made-up/v1"
    envelopes[2] = sign_statement(statement, load_signer(key_pair.private))
    _write(bundle, envelopes)
    code, report, _ = run_verify(wheel, bundle, key_pair.public, capsys)
    assert code == 12 and _failed(report) == ["envelope[2] predicate type"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty attestation bundle"),
        ('{"payload": "eyJ', "not JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
    ids=["empty", "truncated", "not-an-object"],
)
def test_truncated_or_non_json_files_give_one_clear_reason(  # type: ignore[no-untyped-def]
    signed, key_pair, capsys, content: str, reason: str
) -> None:
    wheel, bundle = signed
    bundle.write_text(content)
    code = main(["verify", str(wheel), "--attestation", str(bundle), "--key", str(key_pair.public)])
    err = capsys.readouterr().err
    assert code == 12 and reason in err


def test_policy_failures_are_exit_13_each_with_expected_and_found(  # type: ignore[no-untyped-def]
    signed, key_pair, tmp_path, capsys
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        "[verify]\n"
        f'builder-ids = ["{builder_id("sandbox")}"]\n'
        'source-digests = ["sha256:' + "0" * 64 + '"]\n'
        'image-digests = ["sha256:' + "1" * 64 + '"]\n'
        "max-age-days = 1\n"
    )
    code, report, _ = run_verify(*signed, key_pair.public, capsys, "--policy", str(policy))
    assert code == 13
    assert _failed(report) == [
        "policy: builder id", "policy: source digest", "policy: image digest", "policy: age",
    ]  # fmt: skip
    (image,) = [c for c in report["checks"] if c["name"] == "policy: image digest"]
    assert image["found"] == IMAGE_DIGEST and image["expected"] == "1" * 64


def test_a_policy_requiring_reproducibility_needs_a_rebuild_statement(  # type: ignore[no-untyped-def]
    tmp_path, key_pair, capsys
) -> None:
    wheel = synthetic_wheel(tmp_path / "dist")
    bundle = attest(
        wheel, record_for(wheel), None, signer=load_signer(key_pair.private), folder=tmp_path
    ).path
    policy = tmp_path / "policy.toml"
    policy.write_text('[verify]\nreproducible = "raw"\n')
    code, report, _ = run_verify(wheel, bundle, key_pair.public, capsys, "--policy", str(policy))
    assert code == 13
    (check,) = [c for c in report["checks"] if not c["ok"]]
    assert check["found"] == "no rebuild statement"


def test_a_bad_policy_file_names_the_key(signed, key_pair, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.toml"
    policy.write_text('[verify]\nreproducible = "mostly"\n')
    code = main(["verify", str(signed[0]), "--attestation", str(signed[1]),
                 "--key", str(key_pair.public), "--policy", str(policy)])  # fmt: skip
    assert code == 3 and "verify.reproducible" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("allowed", "code"),
    [(None, 0), ("[]", 13), ('["setuptools"]', 13),
     ('["setuptools", "auditwheel", "build", "installer", "packaging", "pyelftools", '
      '"pyproject-hooks"]', 0)],
    ids=["no exceptions key", "no exceptions allowed", "one of seven", "every one named"],
)  # fmt: skip
def test_a_policy_can_refuse_wheels_not_built_here(  # type: ignore[no-untyped-def]
    tmp_path: Path, key_pair: KeyPair, capsys, allowed: str | None, code: int
) -> None:
    """Today's builds read their build requirements and tools as wheels from an index:
    exceptions to "built here from source", which a policy names or refuses."""
    import dataclasses

    from builder.recipe import load_recipe
    from tests.conftest import REPO

    wheel = synthetic_wheel(tmp_path / "dist")
    record = record_for(wheel)
    tools = load_recipe(REPO / "recipes" / "markupsafe.toml").requires  # setuptools
    names = ("auditwheel", "build", "installer", "packaging", "pyelftools", "pyproject-hooks")
    named = tuple(dataclasses.replace(tools[0], name=n) for n in names)
    inputs = dataclasses.replace(record.inputs, tools=named)
    record = dataclasses.replace(record, inputs=inputs)
    bundle = attest(wheel, record, None, signer=load_signer(key_pair.private), folder=tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text("[verify]\n" + (f"exceptions = {allowed}\n" if allowed is not None else ""))
    result, report, _ = run_verify(wheel, bundle.path, key_pair.public, capsys, "--policy",
                                   str(policy))  # fmt: skip
    assert result == code
    check = [c for c in report["checks"] if c["name"] == "policy: exceptions"]
    assert (check == []) == (allowed is None)
    if code == 13:
        assert "auditwheel" in check[0]["found"]
        assert ("setuptools" in check[0]["found"]) == (allowed == "[]")
