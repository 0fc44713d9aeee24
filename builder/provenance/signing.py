"""Keys and DSSE envelopes, through securesystemslib (never hand-written crypto).

A signer is securesystemslib's `Signer`: today a local key file (ed25519 or ECDSA P-256,
PEM PKCS#8), tomorrow a KMS or Sigstore signer behind the same interface. Public keys are
securesystemslib key dicts in JSON, with their key id. Private keys stay on the host: no
build container ever sees them.
"""

from __future__ import annotations

import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from platformdirs import user_config_dir
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import FormatError, UnsupportedLibraryError, VerificationError
from securesystemslib.signer import CryptoSigner, Key, Signer, SSlibKey

from builder.encoding import canonical_json
from builder.errors import KeyProblem, VerificationFailed
from builder.store import write_atomic

PAYLOAD_TYPE = "application/vnd.in-toto+json"
KEY_KINDS = ("ed25519", "ecdsa-p256")
KEY_ENV = "BUILDER_SIGNING_KEY"


@dataclass(frozen=True, slots=True)
class KeyPair:
    private: Path
    public: Path
    keyid: str


def default_key_path() -> Path:
    """$BUILDER_SIGNING_KEY, else the user's key under the config directory."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured)
    return Path(user_config_dir("builder")) / "signing-key.pem"


def public_key_path(private: Path) -> Path:
    return private.with_name(private.name.removesuffix(".pem") + ".pub.json")


def new_key(private: Path, kind: str = "ed25519", *, force: bool = False) -> KeyPair:
    """Write a key pair: the private key 0600 (PEM PKCS#8), the public key as JSON."""
    if kind not in KEY_KINDS:
        raise KeyProblem(f"unknown key kind {kind!r}", hint=f"one of {', '.join(KEY_KINDS)}")
    public = public_key_path(private)
    for path in (private, public):
        if path.is_dir():
            raise KeyProblem(
                f"{path} is a folder", hint="name the private key's file, e.g. DIR/signing-key.pem"
            )
        if path.exists() and not force:
            raise KeyProblem(f"{path} exists", hint="pass --force to replace the key pair")
    signer = CryptoSigner.generate_ed25519() if kind == "ed25519" else CryptoSigner.generate_ecdsa()
    private.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(private, signer.private_bytes, mode=0o600)
    key = signer.public_key
    write_atomic(public, _public_json(key))
    return KeyPair(private=private, public=public, keyid=key.keyid)


def _public_json(key: SSlibKey) -> bytes:
    return (json.dumps({"keyid": key.keyid, **key.to_dict()}, indent=2) + "\n").encode()


def load_signer(private: Path) -> Signer:
    try:
        pem = private.read_bytes()
    except OSError as exc:
        raise KeyProblem(
            f"{private}: cannot read the signing key: {exc.strerror}",
            hint="make one with: builder key new",
        ) from exc
    try:
        return CryptoSigner(load_pem_private_key(pem, None))
    except (ValueError, TypeError, UnsupportedLibraryError) as exc:
        raise KeyProblem(f"{private}: not a usable private key: {exc}") from exc


def load_public_key(path: Path) -> SSlibKey:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SSlibKey.from_dict(data.pop("keyid"), data)
    except OSError as exc:
        raise KeyProblem(f"{path}: cannot read the public key: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyProblem(
            f"{path}: not a public key file (JSON with keyid, keytype, scheme, keyval): {exc}"
        ) from exc


def sign_statement(statement: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """A DSSE envelope over the statement's canonical JSON."""
    payload = canonical_json(statement)
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    return envelope.to_dict()


def open_envelope(data: Any, key: Key, where: str) -> Envelope:
    """The envelope, its signature over PAE checked with `key`."""
    try:
        envelope = Envelope.from_dict(json.loads(json.dumps(data)))  # from_dict mutates
    except (KeyError, TypeError, ValueError, AttributeError, FormatError, binascii.Error) as exc:
        raise VerificationFailed(f"{where}: not a DSSE envelope: {exc!r}") from exc
    try:
        envelope.verify([key], 1)
    except VerificationError:
        found = ", ".join(envelope.signatures) or "none"
        raise VerificationFailed(
            f"{where}: the signature does not verify with key {key.keyid} "
            f"(signatures by key ids: {found})",
            hint="a wrong key, a signature from another key, or a payload changed after signing",
        ) from None
    return envelope
