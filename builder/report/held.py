"""What an index published with a quorum holds back (publish/quorum.py): files staged
until k signers agree, and files in quarantine because trusted signers built different
sha256s, each with what differs between the candidates: the build inputs they attest,
and the wheels themselves, member by member."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from builder.compare.diff.wheel import diff_wheels
from builder.errors import BuilderError
from builder.provenance.rebuild_from import attested_inputs, read_provenance
from builder.publish.quorum import Candidate, StagedFile, all_held
from builder.report.collect import Difference, HeldCandidate, HeldFile


def held_files(index_root: Path) -> tuple[HeldFile, ...]:
    """Every file the index folder holds back, with the diffs of a quarantine."""
    return tuple(_held(folder, held) for folder, held in all_held(index_root))


def _held(folder: Path, held: StagedFile) -> HeldFile:
    candidates = tuple(HeldCandidate(sha256=c.sha256, signers=c.signers)
                       for c in held.candidates)  # fmt: skip
    entry = HeldFile(project=held.project, filename=held.filename, state=held.state,
                     why=held.why, candidates=candidates)  # fmt: skip
    if held.state != "quarantined" or len(held.candidates) < 2:
        return entry
    a, b = held.candidates[:2]
    wheels = folder / a.sha256 / held.filename, folder / b.sha256 / held.filename
    diff = diff_wheels(*wheels, labels=(a.sha256[:16], b.sha256[:16]))
    differences = tuple(
        Difference(member=m.name, category=m.category, kind=m.kind, details=m.details,
                   text_diff=m.text_diff)
        for m in diff.members
    )  # fmt: skip
    return replace(entry, inputs_differ=_inputs_differ(folder, a, b), differences=differences)


def _inputs_differ(folder: Path, a: Candidate, b: Candidate) -> tuple[str, ...]:
    """Which attested inputs the first bundles of two candidates disagree on (none: the
    same build gave two sha256s)."""
    try:
        ours, theirs = (attested_inputs(read_provenance(folder / c.signatures[0].file, None))
                        for c in (a, b))  # fmt: skip
    except (BuilderError, IndexError) as exc:
        return (f"unreadable: {exc}",)
    differ = [k for k in ours if ours[k] != theirs.get(k)]
    if "dependencies" in differ:
        only = sorted(
            set(map(tuple, ours["dependencies"])) ^ set(map(tuple, theirs["dependencies"]))
        )
        return tuple(f"{name} {digest}" for name, digest in only)
    return tuple(differ)
