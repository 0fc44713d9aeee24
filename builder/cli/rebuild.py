"""builder rebuild --from ATTESTATION: the auditor's rebuild, from the provenance alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import (
    Subcommands,
    add_build_options,
    existing_file,
    folder_path,
    user_signer,
    workspace,
)
from builder.cli.output import err_console, print_json
from builder.errors import NotReproducible, UsageError
from builder.gate.binding import binding_of
from builder.pipeline.audit import rebuild_from_attestation
from builder.pipeline.request import Signing
from builder.policy import policy_here
from builder.provenance.signing import load_public_key
from builder.publish.remote import RemoteIndex


def register(sub: Subcommands) -> None:
    p = sub.add_parser("rebuild", help="rebuild a wheel from its attestation and compare")
    p.add_argument(
        "--from", dest="bundle", type=existing_file, required=True, metavar="ATTESTATION",
        help="a signed attestation bundle (.intoto.jsonl)",
    )  # fmt: skip
    p.add_argument("--key", type=existing_file, help="public key: check the signature first")
    p.add_argument(
        "--index", default=None, metavar="URL",
        help="a builder index serving images by digest: fetch the attested image from it "
        "instead of making one from today's Debian packages",
    )  # fmt: skip
    p.add_argument(
        "--sign", action="store_true",
        help="sign your own provenance of the rebuild (with --signing-key, else your key) "
        "into --attestations: what `builder publish --quorum` takes from a rebuilder",
    )  # fmt: skip
    p.add_argument("--signing-key", type=existing_file, default=None, metavar="PEM",
                   help="with --sign: the private key (default: ~/.config/builder/)")  # fmt: skip
    p.add_argument(
        "--attestations", type=folder_path, default=Path("attestations"), metavar="DIR",
        help="with --sign: where the signed bundle goes (default: attestations/)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="the result as JSON on stdout")
    add_build_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    console = err_console()
    key = load_public_key(args.key) if args.key else None
    if key is None:
        console.print("[yellow]warning:[/] no --key: the attestation's signature is not checked")
    if args.signing_key is not None and not args.sign:
        raise UsageError("builder rebuild: --signing-key goes with --sign")
    signing = (
        Signing(signer=user_signer(args.signing_key), folder=args.attestations)
        if args.sign
        else None
    )
    result = rebuild_from_attestation(
        args.bundle,
        key=key,
        workspace=workspace(args, signing=signing),
        index=RemoteIndex(args.index, binding_of(policy_here(None).gate)) if args.index else None,
    )
    attested, report = result.attested, result.report
    if args.json:
        data = {
            "attested": {"wheel": attested.wheel, "sha256": attested.sha256},
            "rebuilt": {"wheel": report.wheel.name, "sha256": report.sha256},
            "signature_checked": attested.signed,
            "matches": result.matches,
            "attestation": str(report.bundle.path) if report.bundle else None,
        }
        print_json("rebuild", data, ok=result.matches)
    if args.sign and report.bundle is not None:
        console.print(f"signed your provenance of the rebuild: {report.bundle.path}")
    if not result.matches:
        raise NotReproducible(
            f"rebuilt {report.wheel.name} has sha256 {report.sha256}; the attestation's "
            f"subject {attested.wheel} has {attested.sha256}",
            hint=f"explain the difference: builder diff {report.wheel} <the attested wheel>",
        )
    console.print(f"[bold green]reproduced[/] {attested.wheel}: sha256 {attested.sha256}")
    return 0
