"""builder publish WHEEL... --to DIR: verify each wheel, then add it to a static index
(with --quorum TRUSTFILE: staged until k trusted signers agree);
builder yank DIR NAME VERSION --reason TEXT: mark a release yanked (PEP 592)."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import Subcommands, add_store_option, existing_file, folder_path, open_store
from builder.cli.output import TerminalProgress, err_console, print_json
from builder.errors import PublishError, UsageError
from builder.pipeline.publish import publish_wheels, submit_wheels
from builder.policy import read_policy
from builder.provenance.signing import default_key_path, load_public_key, public_key_path
from builder.provenance.trust import read_trust
from builder.publish.quorum import Submission
from builder.publish.static import StaticIndex


def register(sub: Subcommands) -> None:
    p = sub.add_parser("publish", help="verify wheels and add them to a static package index")
    p.add_argument("wheels", type=existing_file, nargs="+", metavar="WHEEL")
    p.add_argument(
        "--to", type=folder_path, default=None, metavar="DIR", help="the static index folder"
    )
    p.add_argument(
        "--upload", default=None, metavar="URL",
        help="also upload to an index server a team runs (twine; provenance stays in --to)",
    )  # fmt: skip
    p.add_argument(
        "--key", type=existing_file, default=None,
        help="public key the provenance must be signed with (default: the user's key's)",
    )  # fmt: skip
    p.add_argument(
        "--policy", type=existing_file, default=None,
        help="verify policy every wheel must meet ([verify] table; docs/attestations.md)",
    )  # fmt: skip
    p.add_argument(
        "--attestations", type=folder_path, default=Path("attestations"), metavar="DIR",
        help="where the bundles are when not beside the wheels (default: attestations/)",
    )  # fmt: skip
    p.add_argument(
        "--quorum", type=existing_file, default=None, metavar="TRUSTFILE",
        help="list a wheel only once the trust file's quorum of signers attest it (each "
        "bundle checked with its signer's key; docs/quorum.md)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="what was published, as JSON on stdout")
    add_store_option(p)
    p.set_defaults(handler=run_publish)

    y = sub.add_parser("yank", help="mark a release of a static index yanked (PEP 592)")
    y.add_argument("index", type=Path, metavar="DIR", help="the index folder")
    y.add_argument("name")
    y.add_argument("version")
    y.add_argument("--reason", required=True, help="said to everyone who resolves it")
    y.add_argument("--undo", action="store_true", help="take the yank back")
    y.set_defaults(handler=run_yank)


def run_publish(args: argparse.Namespace) -> int:
    if args.to is None and args.upload is None:
        raise UsageError("builder publish: say where to: --to DIR, --upload URL, or both")
    if args.quorum is not None:
        return run_quorum(args)
    key = load_public_key(args.key or public_key_path(default_key_path()))
    policy = read_policy(args.policy).verify if args.policy else None
    added = publish_wheels(
        args.wheels,
        index=StaticIndex(args.to) if args.to else None,
        upload_to=args.upload,
        key=key,
        policy=policy,
        attestations=args.attestations,
        store=open_store(args),
        progress=TerminalProgress(),
    )
    if args.json:
        published = [{"project": a.project, "file": a.filename, "sha256": a.sha256, "new": a.new,
                      "attested": a.attested} for a in added]  # fmt: skip
        data = {"index": None if args.to is None else str(args.to), "uploaded_to": args.upload,
                "published": published}  # fmt: skip
        print_json("publish", data, ok=True)
    if args.to is not None:
        new, attested = sum(a.new for a in added), sum(a.attested for a in added)
        err_console().print(
            f"[bold green]{args.to}:[/] {new} new, {attested} attested by another signer, "
            f"{len(added) - new - attested} there already"
        )
    if args.upload is not None:
        err_console().print(f"[bold green]uploaded[/] {len(args.wheels)} to {args.upload}")
    return 0


def run_quorum(args: argparse.Namespace) -> int:
    if args.upload is not None or args.to is None or args.key is not None:
        raise UsageError(
            "builder publish --quorum: give --to DIR alone",
            hint="the trust file names every signer's key; an upload would serve a wheel "
            "before its quorum agrees",
        )
    trust = read_trust(args.quorum)
    said = submit_wheels(
        args.wheels,
        index=StaticIndex(args.to),
        trust=trust,
        policy=read_policy(args.policy).verify if args.policy else None,
        attestations=args.attestations,
        store=open_store(args),
        progress=TerminalProgress(),
    )
    if args.json:
        data = {"index": str(args.to), "quorum": trust.quorum, "signers": list(trust.names),
                "submitted": [_submission_json(s) for s in said]}  # fmt: skip
        print_json("publish-quorum", data, ok=not any(s.outcome == "quarantined" for s in said))
    counts = {o: sum(s.outcome == o for s in said) for o in ("published", "staged", "attested")}
    err_console().print(
        f"[bold]{args.to}[/] (quorum {trust.describe()}): {counts['published']} listed, "
        f"{counts['staged']} staged, {counts['attested']} attested by another signer"
    )
    if quarantined := [s for s in said if s.outcome == "quarantined"]:
        raise PublishError(
            f"{len(quarantined)} file(s) in quarantine: "
            + "; ".join(f"{s.filename} ({s.why})" for s in quarantined),
            hint=f"trusted signers built other sha256s; builder report --index {args.to} "
            "shows both wheels and what differs. The file is on no page",
        )
    return 0


def _submission_json(s: Submission) -> dict[str, object]:
    return {"project": s.project, "file": s.filename, "sha256": s.sha256, "signer": s.signer,
            "outcome": s.outcome, "agreed": list(s.agreed), "why": s.why}  # fmt: skip


def run_yank(args: argparse.Namespace) -> int:
    index = StaticIndex(args.index)
    with index.locked():
        files = index.yank(args.name, args.version, args.reason, undo=args.undo)
    word = "no longer yanked" if args.undo else f"yanked ({args.reason})"
    for name in files:
        err_console().print(f"{word}: {name}")
    return 0
