"""Who may attest an index's wheels, and how many must agree: the trust file.

    # trust.toml
    quorum = 2                            # k: distinct signers that must agree
    [signers]                             # n: each signer's name and public key file
    acme-build = "keys/acme-build.pub.json"
    org-b-rebuilder = "keys/org-b.pub.json"

Key files are read relative to the trust file. Each signer's key must be its own key
material: one key under two names would count twice. docs/quorum.md is the guide.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from securesystemslib.signer import Key

from builder.errors import InputError, KeyProblem
from builder.problems import Problems, table_value
from builder.provenance.signing import load_public_key

TRUST_KEYS = {"quorum", "signers"}
HINT = "docs/quorum.md shows a trust file: quorum = k and [signers] NAME = KEY FILE"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedSigner:
    name: str
    key: Key


@dataclass(frozen=True, slots=True, kw_only=True)
class Trust:
    """k of n: the signers, and how many of them must attest the same build."""

    quorum: int
    signers: tuple[TrustedSigner, ...]
    path: Path

    def signer_of(self, keyids: Iterable[str]) -> TrustedSigner | None:
        """The trusted signer whose key id is among `keyids` (a bundle's), if any."""
        wanted = set(keyids)
        return next((s for s in self.signers if s.key.keyid in wanted), None)

    def describe(self) -> str:
        return f"{self.quorum} of {len(self.signers)} ({', '.join(self.names)})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.signers)


def read_trust(path: Path) -> Trust:
    """The trust file at `path`; every problem in it at once (InputError, exit 3), a key
    file that is not a public key named with it (KeyProblem, exit 11)."""
    p = Problems(path, hint=HINT, error=InputError)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the trust file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not TOML: {exc}", hint=HINT) from exc
    table_value(data, "(top level)", TRUST_KEYS, p)
    files = table_value(data.get("signers", {}), "signers", set(data.get("signers", {})), p)
    quorum = data.get("quorum")
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
        p.add("quorum", f"expected a whole number of signers, at least 1, got {quorum!r}")
        quorum = 1
    elif quorum > len(files):
        p.add("quorum", f"{quorum} signers must agree, and [signers] names {len(files)}")
    for name, file in files.items():
        if not isinstance(file, str) or not file:
            p.add(f"signers.{name}", f"expected the path of a public key file, got {file!r}")
    p.raise_if_any()
    signers = tuple(
        TrustedSigner(name=name, key=_key(path.parent / file, f"signers.{name}", path))
        for name, file in files.items()
    )
    _distinct(signers, path, p)
    p.raise_if_any()
    return Trust(quorum=quorum, signers=signers, path=path)


def _key(file: Path, dotted: str, trust: Path) -> Key:
    try:
        return load_public_key(file)
    except KeyProblem as exc:
        raise KeyProblem(f"{trust}: {dotted}: {exc.message}", hint=HINT) from exc


def _distinct(signers: tuple[TrustedSigner, ...], path: Path, p: Problems) -> None:
    """Each signer its own key: by key id and by key material."""
    seen: dict[str, str] = {}
    for signer in signers:
        for mark in (signer.key.keyid, repr(sorted(signer.key.keyval.items()))):
            if mark in seen:
                p.add(f"signers.{signer.name}",
                      f"the same key as signers.{seen[mark]}: one key counts once")  # fmt: skip
                break
            seen[mark] = signer.name
