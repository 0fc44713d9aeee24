"""Keys and DSSE: securesystemslib does the cryptography; builder keeps keys and errors tidy."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from builder.errors import KeyProblem, VerificationFailed
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
