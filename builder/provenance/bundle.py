"""A build's statements, signed and written as one bundle; and read back.

The bundle is `<dir>/<wheel>.intoto.jsonl`: one DSSE envelope per line (provenance, then
the rebuild result when rebuilds ran, then the SBOM), the usual in-toto bundle layout.
Signing happens on the host with the user's key, after the container is gone. Reading
gives typed statements (read_statements), each envelope's signature checked when a key
is given; `builder verify` checks each step on its own (provenance/verify.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key, Signer

from builder.encoding import canonical_json
from builder.errors import VerificationFailed
from builder.provenance.sbom import wheel_sbom
from builder.provenance.signing import open_envelope, sign_statement
from builder.provenance.statements import provenance_statement, rebuild_statement, sbom_statement
from builder.store import write_atomic
from builder.wheelbuild.record import BuildRecord

BUNDLE_SUFFIX = ".intoto.jsonl"


@dataclass(frozen=True, slots=True)
class Bundle:
    path: Path
    envelopes: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One in-toto statement of a bundle."""

    where: str  # the file and envelope it came from
    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: dict[str, Any]
    keyids: tuple[str, ...]  # the key ids its envelope names (checked only if read with a key)


def bundle_path(folder: Path, wheel_name: str) -> Path:
    return folder / f"{wheel_name}{BUNDLE_SUFFIX}"


def find_bundle(wheel: Path, folder: Path = Path("attestations")) -> Path:
    """A wheel's bundle: beside it, else in `folder` (where builder build writes it)."""
    candidates = [bundle_path(wheel.parent, wheel.name), bundle_path(folder, wheel.name)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise VerificationFailed(
        f"no attestation found for {wheel.name} (looked at {', '.join(map(str, candidates))})",
        hint="pass --attestation FILE (an unsigned wheel is never published or trusted)",
    )


def statements(
    wheel: Path, record: BuildRecord, rebuild_report: dict[str, Any] | None
) -> list[dict[str, Any]]:
    rebuild_sha = None
    if rebuild_report is not None:
        rebuild_sha = hashlib.sha256(canonical_json(rebuild_report)).hexdigest()
    made = [provenance_statement(record, rebuild_sha)]
    if rebuild_report is not None:
        made.append(rebuild_statement(record, rebuild_report))
    made.append(sbom_statement(record, wheel_sbom(wheel, record)))
    return made


def attest(
    wheel: Path,
    record: BuildRecord,
    rebuild_report: dict[str, Any] | None,
    *,
    signer: Signer,
    folder: Path,
) -> Bundle:
    envelopes = tuple(sign_statement(s, signer) for s in statements(wheel, record, rebuild_report))
    path = bundle_path(folder, wheel.name)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(path, b"".join(_line(e) for e in envelopes))
    return Bundle(path=path, envelopes=envelopes)


def _line(envelope: dict[str, Any]) -> bytes:
    return canonical_json(envelope) + b"\n"


def bundle_keyids(path: Path) -> tuple[str, ...]:
    """The key ids that signed a bundle's envelopes, each once, in order."""
    found: dict[str, None] = {}
    for envelope in read_bundle(path):
        found.update(dict.fromkeys(_keyids(envelope)))
    return tuple(found)


def read_bundle(path: Path) -> Sequence[dict[str, Any]]:
    """The envelopes of a bundle file, each a JSON object; a clear error for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VerificationFailed(f"{path}: cannot read the attestation: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise VerificationFailed(f"{path}: not a text file (expected JSON lines)") from None
    try:
        whole = json.loads(text)  # one envelope, pretty-printed, is accepted too
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [whole]
    envelopes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            envelope = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VerificationFailed(
                f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})",
                hint="the file is truncated or not an in-toto bundle (.intoto.jsonl)",
            ) from exc
        if not isinstance(envelope, dict):
            raise VerificationFailed(f"{path}:{number}: expected a JSON object (a DSSE envelope)")
        envelopes.append(envelope)
    if not envelopes:
        raise VerificationFailed(f"{path}: empty attestation bundle")
    return envelopes


def read_statements(path: Path, key: Key | None = None) -> tuple[Statement, ...]:
    """Every statement of the bundle at `path`, in order; with `key`, each envelope's
    signature checked. VerificationFailed names the envelope that is not a signed
    in-toto statement."""
    found = []
    for i, raw in enumerate(read_bundle(path)):
        where = f"{path}: envelope[{i}]"
        payload = open_envelope(raw, key, where).payload if key else _payload(raw, where)
        found.append(_statement(payload, _keyids(raw), where))
    return tuple(found)


def the_statement(statements: Sequence[Statement], predicate_type: str) -> Statement | None:
    """The first statement of that predicate type, if any."""
    return next((s for s in statements if s.predicate_type == predicate_type), None)


def _payload(raw: dict[str, Any], where: str) -> bytes:
    try:
        return base64.b64decode(raw["payload"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise VerificationFailed(f"{where}: not a DSSE envelope: {exc!r}") from exc


def _keyids(raw: dict[str, Any]) -> tuple[str, ...]:
    signatures = raw.get("signatures")
    if not isinstance(signatures, list):
        return ()
    return tuple(str(s.get("keyid", "?")) for s in signatures if isinstance(s, dict))


def _statement(payload: bytes, keyids: tuple[str, ...], where: str) -> Statement:
    try:
        data = json.loads(payload)
        subjects = tuple(
            Subject(name=str(s["name"]), sha256=str(s["digest"]["sha256"])) for s in data["subject"]
        )
        predicate = data.get("predicate", {})
        if not isinstance(predicate, dict):
            raise TypeError(f"the predicate is a {type(predicate).__name__}")
        return Statement(where=where, predicate_type=str(data["predicateType"]),
                         subjects=subjects, predicate=predicate, keyids=keyids)  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationFailed(f"{where}: not an in-toto statement: {exc!r}") from exc
