"""Keys and DSSE: securesystemslib does the cryptography; builder keeps keys and errors tidy."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from builder.errors import KeyProblem, VerificationFailed
from builder.provenance.bundle import Subject, read_statements, the_statement
from builder.provenance.signing import (
    PAYLOAD_TYPE,
    KeyPair,
    load_public_key,
    load_signer,
    new_key,
    open_envelope,
    sign_statement,
)

STATEMENT = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicate": {}}


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256"])
def test_a_new_key_pair_signs_and_verifies(tmp_path: Path, kind: str) -> None:
    pair = new_key(tmp_path / "k.pem", kind)
    assert pair.private.stat().st_mode & 0o777 == 0o600
    envelope = sign_statement(STATEMENT, load_signer(pair.private))
    assert envelope["payloadType"] == PAYLOAD_TYPE
    opened = open_envelope(envelope, load_public_key(pair.public), "test")
    assert json.loads(opened.payload) == STATEMENT


def test_a_key_pair_is_never_overwritten_without_force(key_pair: KeyPair) -> None:
    before = key_pair.private.read_bytes()
    with pytest.raises(KeyProblem, match="exists"):
        new_key(key_pair.private)
    assert key_pair.private.read_bytes() == before


def test_pae_covers_the_payload_type(key_pair: KeyPair) -> None:
    envelope = sign_statement(STATEMENT, load_signer(key_pair.private))
    envelope["payloadType"] = "application/json"
    with pytest.raises(VerificationFailed, match="does not verify"):
        open_envelope(envelope, load_public_key(key_pair.public), "test")


def test_a_tampered_payload_does_not_verify(key_pair: KeyPair) -> None:
    envelope = sign_statement(STATEMENT, load_signer(key_pair.private))
    changed = {**STATEMENT, "predicate": {"evil": True}}
    envelope["payload"] = base64.b64encode(json.dumps(changed).encode()).decode()
    with pytest.raises(VerificationFailed, match="does not verify"):
        open_envelope(envelope, load_public_key(key_pair.public), "test")


def test_unreadable_keys_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(KeyProblem, match="cannot read the signing key"):
        load_signer(tmp_path / "missing.pem")
    (tmp_path / "bad.pub.json").write_text("{}")
    with pytest.raises(KeyProblem, match=r"bad\.pub\.json: not a public key file"):
        load_public_key(tmp_path / "bad.pub.json")


def _bundle(path: Path, *envelopes: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in envelopes))
    return path


def test_a_bundle_reads_as_typed_statements_checked_by_the_key(
    tmp_path: Path, key_pair: KeyPair
) -> None:
    provenance = {**STATEMENT, "predicateType": "https://slsa.dev/provenance/v1",
                  "subject": [{"name": "a-1.0-py3-none-any.whl", "digest": {"sha256": "ab"}}],
                  "predicate": {"buildDefinition": {}}}  # fmt: skip
    envelope = sign_statement(provenance, load_signer(key_pair.private))
    path = _bundle(tmp_path / "a.intoto.jsonl", envelope)
    key = load_public_key(key_pair.public)
    for read in (read_statements(path), read_statements(path, key)):
        (statement,) = read
        assert statement.subjects == (Subject("a-1.0-py3-none-any.whl", "ab"),)
        assert statement.predicate == {"buildDefinition": {}}
        assert statement.keyids == (key.keyid,)
    assert the_statement(read, "https://slsa.dev/provenance/v1") == statement
    other = new_key(tmp_path / "other.pem")
    with pytest.raises(VerificationFailed, match=r"envelope\[0\]: the signature does not verify"):
        read_statements(path, load_public_key(other.public))


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (b"not json", "not an in-toto statement"),
        (json.dumps({"subject": "a", "predicateType": "x"}).encode(), "not an in-toto statement"),
        (json.dumps({**STATEMENT, "predicateType": "x", "predicate": []}).encode(), "a list"),
    ],
)
def test_a_bundle_that_is_no_statement_names_its_envelope(
    tmp_path: Path, payload: bytes, said: str
) -> None:
    raw = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
           "signatures": []}  # fmt: skip
    path = _bundle(tmp_path / "b.intoto.jsonl", raw)
    with pytest.raises(VerificationFailed, match=r"b.intoto.jsonl: envelope\[0\]: ") as caught:
        read_statements(path)
    assert said in caught.value.message
