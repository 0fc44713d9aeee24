"""k of n: a wheel is listed on the index only once k trusted signers attest its sha256.

    DIR/staged/<project>/<file>/state.json           who attested which sha256 (staged/v1)
    DIR/staged/<project>/<file>/<sha256>/<file>      each candidate wheel
    DIR/staged/<project>/<file>/<sha256>/<keyid>.intoto.jsonl   each signer's bundle

A file waits in staged/ (stored, on no page) until k distinct signers of the trust file
(provenance/trust.py) have attested the same sha256 from the same build inputs; then it
is listed with every bundle at once, and its staging folder goes. A trusted signer whose
build of the same file name gives another sha256 puts the file in quarantine: no
candidate is listed, and a listed file is taken off its pages. The quarantine stays, with
both wheels and every bundle, for `builder report --index` to show. Every write is
atomic (state.json last); the caller holds the index lock. Docs: docs/quorum.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from packaging.utils import parse_wheel_filename

from builder.encoding import pretty_json
from builder.errors import PublishError
from builder.names import NormalizedName, Sha256, normalize
from builder.provenance.bundle import bundle_keyids
from builder.provenance.rebuild_from import attested_inputs, read_provenance
from builder.provenance.trust import Trust, TrustedSigner
from builder.publish.static import PROVENANCE_SUFFIX, StaticIndex, copy_atomic
from builder.store import sha256_file, write_atomic

SCHEMA = "builder/staged/v1"
STATE = "state.json"
# What became of one signer's attestation of one file.
Outcome = Literal["staged", "published", "attested", "already", "quarantined"]
Held = Literal["staged", "quarantined"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """One trusted signer's bundle of one candidate."""

    signer: str
    keyids: tuple[str, ...]
    file: str  # relative to the file's staging folder
    added: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    sha256: Sha256
    signatures: tuple[Signature, ...]

    @property
    def signers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.signer for s in self.signatures))


@dataclass(frozen=True, slots=True, kw_only=True)
class StagedFile:
    """A file the index holds back: waiting for its quorum, or in quarantine."""

    project: NormalizedName
    filename: str
    state: Held
    candidates: tuple[Candidate, ...]
    why: str = ""  # quarantined: what disagreed

    def candidate(self, sha256: str) -> Candidate | None:
        return next((c for c in self.candidates if c.sha256 == sha256), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "project": self.project, "filename": self.filename,
            "state": self.state, "why": self.why,
            "candidates": [{"sha256": c.sha256, "signatures": [
                {"signer": s.signer, "keyids": list(s.keyids), "file": s.file, "added": s.added}
                for s in c.signatures]} for c in self.candidates],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> StagedFile:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} state")
        state = data["state"]
        if state not in ("staged", "quarantined"):
            raise ValueError(f"state {state!r} is not staged or quarantined")
        candidates = tuple(
            Candidate(sha256=Sha256(c["sha256"]), signatures=tuple(
                Signature(signer=str(s["signer"]), keyids=tuple(map(str, s["keyids"])),
                          file=str(s["file"]), added=str(s["added"]))
                for s in c["signatures"]))
            for c in data["candidates"]
        )  # fmt: skip
        return cls(project=normalize(str(data["project"])), filename=str(data["filename"]),
                   state=state, candidates=candidates, why=str(data.get("why", "")))  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """What one signer's attestation of one wheel did, and who agrees on it so far."""

    project: NormalizedName
    filename: str
    sha256: Sha256
    signer: str
    outcome: Outcome
    agreed: tuple[str, ...]
    quorum: int
    why: str = ""


class Quorum:
    """The staging area of a static index under a trust file."""

    def __init__(self, index: StaticIndex, trust: Trust) -> None:
        self.index = index
        self.trust = trust
        self.root = index.root / "staged"

    # reading

    def folder(self, project: NormalizedName, filename: str) -> Path:
        return self.root / project / filename

    def held(self, project: NormalizedName, filename: str) -> StagedFile | None:
        return read_held(self.folder(project, filename) / STATE)

    # checking, before anything of a batch is written

    def check(self, wheel: Path, bundle: Path) -> None:
        """This bundle names the same build inputs as every bundle already held or listed
        for the same sha256 (else PublishError, exit 15, and the caller writes nothing)."""
        project, sha = _project(wheel), sha256_file(wheel)
        ours = attested_inputs(read_provenance(bundle, None))
        for theirs in self._bundles_of(project, wheel.name, sha):
            inputs = attested_inputs(read_provenance(theirs, None))
            if inputs != ours:
                differ = [k for k in ours if ours[k] != inputs.get(k)]
                raise PublishError(
                    f"{wheel.name}: this attestation and {theirs.name} attest sha256 "
                    f"{sha[:16]} from other build inputs ({', '.join(differ)}): not added, "
                    "nothing was published",
                    hint="signers agree only from the same recipe, sdist, build requirements "
                    "and image; builder report --index shows what each attests",
                )

    def _bundles_of(self, project: NormalizedName, filename: str, sha: str) -> list[Path]:
        listed = self.index.project(project).file(filename)
        if listed is not None and listed.sha256 == sha:
            return [self.index.files / project / b.file for b in listed.attestations]
        held = self.held(project, filename)
        candidate = held.candidate(sha) if held else None
        folder = self.folder(project, filename)
        return [folder / s.file for s in candidate.signatures] if candidate else []

    # writing

    def submit(self, wheel: Path, bundle: Path, signer: TrustedSigner) -> Submission:
        """One trusted signer's verified attestation of a wheel: staged, listed once k
        agree, added beside a listed file's others, or the file quarantined."""
        project, sha = _project(wheel), sha256_file(wheel)
        listed = self.index.project(project).file(wheel.name)
        if listed is not None and listed.sha256 == sha:
            added = self.index.add(wheel, bundle)
            keyids = [b.keyids for b in listed.attestations]
            if added.attested:
                keyids.append(bundle_keyids(bundle))
            agreed = self._signers_of(keyids)
            outcome: Outcome = "attested" if added.attested else "already"
            return self._said(wheel, sha, signer, outcome, agreed)
        held = self.held(project, wheel.name)
        if listed is not None:  # a trusted signer disputes a file already served
            held = self._take_back(project, wheel.name)
        held = self._with(held, project, wheel, sha, bundle, signer)
        if len(held.candidates) > 1 or held.state == "quarantined":
            held = replace(held, state="quarantined", why=_dispute(held))  # who says what now
            self._write(held)
            return self._said(wheel, sha, signer, "quarantined", (), why=held.why)
        (candidate,) = held.candidates
        agreed = self._trusted(candidate)
        if len(agreed) < self.trust.quorum:
            self._write(held)
            return self._said(wheel, sha, signer, "staged", agreed)
        self._list(held, candidate)
        return self._said(wheel, sha, signer, "published", agreed)

    def _trusted(self, candidate: Candidate) -> tuple[str, ...]:
        """The candidate's signers that the trust file still names, with the same key (a
        signer taken out of the trust file since it attested counts no more)."""
        keys = {s.name: s.key.keyid for s in self.trust.signers}
        return tuple(dict.fromkeys(s.signer for s in candidate.signatures
                                   if keys.get(s.signer) in s.keyids))  # fmt: skip

    def _with(
        self,
        held: StagedFile | None,
        project: NormalizedName,
        wheel: Path,
        sha: Sha256,
        bundle: Path,
        signer: TrustedSigner,
    ) -> StagedFile:
        """The held file with this signer's bundle of this sha256 kept (once per signer)."""
        held = held or StagedFile(project=project, filename=wheel.name, state="staged",
                                  candidates=())  # fmt: skip
        candidate = held.candidate(sha) or Candidate(sha256=sha, signatures=())
        folder = self.folder(project, wheel.name)
        if not (folder / sha / wheel.name).is_file():
            copy_atomic(wheel, folder / sha / wheel.name)
        if signer.name not in candidate.signers:
            keyids = bundle_keyids(bundle)
            file = _bundle_file(sha, keyids)
            copy_atomic(bundle, folder / file)
            signature = Signature(signer=signer.name, keyids=keyids, file=file,
                                  added=_now())  # fmt: skip
            candidate = replace(candidate, signatures=(*candidate.signatures, signature))
        others = tuple(c for c in held.candidates if c.sha256 != sha)
        return replace(held, candidates=(*others, candidate))

    def _take_back(self, project: NormalizedName, filename: str) -> StagedFile:
        """A listed file that a trusted signer disputes: its wheel and its trusted signers'
        bundles copied into staging, then the file taken off its pages."""
        listed = self.index.project(project).file(filename)
        assert listed is not None
        folder = self.folder(project, filename)
        copy_atomic(self.index.files / project / filename, folder / listed.sha256 / filename)
        signatures = []
        for signed in listed.attestations:
            trusted = self.trust.signer_of(signed.keyids)
            if trusted is None:
                continue
            file = _bundle_file(listed.sha256, signed.keyids)
            copy_atomic(self.index.files / project / signed.file, folder / file)
            signatures.append(Signature(signer=trusted.name, keyids=signed.keyids, file=file,
                                        added=listed.upload_time))  # fmt: skip
        held = StagedFile(project=project, filename=filename, state="quarantined",
                          candidates=(Candidate(sha256=listed.sha256,
                                                signatures=tuple(signatures)),))  # fmt: skip
        self._write(held)  # the dispute recorded before the file leaves the pages
        self.index.unlist(project, filename)
        return held

    def _list(self, held: StagedFile, candidate: Candidate) -> None:
        """The file on its pages with every agreeing signer's bundle, at once; then its
        staging folder goes."""
        folder = self.folder(held.project, held.filename)
        bundles = [folder / s.file for s in candidate.signatures]
        self.index.add(folder / candidate.sha256 / held.filename, bundles[0], more=bundles[1:])
        shutil.rmtree(folder)
        with contextlib.suppress(OSError):  # the project's folder, where it holds no other
            folder.parent.rmdir()

    def _write(self, held: StagedFile) -> None:
        write_atomic(self.folder(held.project, held.filename) / STATE,
                     pretty_json(held.to_json()))  # fmt: skip

    def _signers_of(self, keyids: list[tuple[str, ...]]) -> tuple[str, ...]:
        """The trusted signers of these bundles (by their key ids), each once, in order."""
        found = (self.trust.signer_of(k) for k in keyids)
        return tuple(dict.fromkeys(s.name for s in found if s is not None))

    def _said(
        self,
        wheel: Path,
        sha: Sha256,
        signer: TrustedSigner,
        outcome: Outcome,
        agreed: tuple[str, ...],
        why: str = "",
    ) -> Submission:
        return Submission(project=_project(wheel), filename=wheel.name, sha256=sha,
                          signer=signer.name, outcome=outcome, agreed=agreed,
                          quorum=self.trust.quorum, why=why)  # fmt: skip


def read_held(path: Path) -> StagedFile | None:
    """A held file's state (None where there is none)."""
    try:
        return StagedFile.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{path}: not a staged file's state builder wrote: {exc!r}",
                           hint="nothing was changed; look at the file") from exc  # fmt: skip


def all_held(index_root: Path) -> list[tuple[Path, StagedFile]]:
    """Every file an index folder holds back (its staging folder, its state)."""
    found = []
    for path in sorted((index_root / "staged").glob(f"*/*/{STATE}")):
        held = read_held(path)
        if held is not None:
            found.append((path.parent, held))
    return found


def _bundle_file(sha256: str, keyids: tuple[str, ...]) -> str:
    """Where a signer's bundle of a candidate is kept, in the file's staging folder."""
    return f"{sha256}/{keyids[0][:16]}{PROVENANCE_SUFFIX}"


def _dispute(held: StagedFile) -> str:
    return "; ".join(f"{', '.join(c.signers) or 'no trusted signer'}: sha256 {c.sha256[:16]}"
                     for c in held.candidates)  # fmt: skip


def _project(wheel: Path) -> NormalizedName:
    return normalize(parse_wheel_filename(wheel.name)[0])


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
