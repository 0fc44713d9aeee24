"""builder verify WHEEL --key PUB [--attestation FILE] [--policy FILE]: check provenance."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.markup import escape

from builder.cli.common import Subcommands, existing_file, existing_file_argument
from builder.cli.output import err_console, print_json
from builder.errors import UsageError
from builder.gate.binding import binding_of
from builder.pipeline.publish import verify_published
from builder.policy import policy_here, read_policy
from builder.provenance.bundle import BUNDLE_SUFFIX, find_bundle
from builder.provenance.signing import load_public_key
from builder.provenance.verify import Verification, verify
from builder.publish.remote import RemoteIndex
from builder.resolve.new_recipe import parse_pin


def register(sub: Subcommands) -> None:
    p = sub.add_parser("verify", help="verify a wheel against its signed attestations")
    p.add_argument(
        "target", metavar="WHEEL | NAME==VERSION",
        help="a wheel file, or with --index a release on a published index",
    )  # fmt: skip
    p.add_argument(
        "--index", default=None, metavar="URL",
        help="a builder index (its root: simple/, files/): fetch the release's wheels and "
        "provenance, check them against the index's pages, then verify them",
    )  # fmt: skip
    p.add_argument("--key", type=existing_file, required=True, help="public key file (JSON)")
    p.add_argument(
        "--attestation", type=existing_file, default=None,
        help=f"bundle (default: WHEEL{BUNDLE_SUFFIX}, then attestations/WHEEL{BUNDLE_SUFFIX})",
    )  # fmt: skip
    p.add_argument(
        "--policy", type=existing_file, default=None, help="policy file ([verify] table)"
    )
    p.add_argument("--json", action="store_true", help="every check as JSON on stdout")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.index is not None:
        return run_from_index(args)
    wheel = existing_file_argument(args.target, "WHEEL")
    key = load_public_key(args.key)
    policy = read_policy(args.policy).verify if args.policy else None
    result = verify(wheel, args.attestation or find_bundle(wheel), key, policy)
    if args.json:
        print_json("verify", result.to_json(), ok=not result.failed)
    render(result)
    result.raise_for_failures()
    return 0


def run_from_index(args: argparse.Namespace) -> int:
    if args.attestation is not None:
        raise UsageError("builder verify: --attestation and --index do not go together",
                         hint="with --index, the provenance comes from the index")  # fmt: skip
    name, version = parse_pin(args.target)
    key = load_public_key(args.key)
    policy = read_policy(args.policy).verify if args.policy else None
    index = RemoteIndex(args.index, binding_of(policy_here(None).gate))
    with tempfile.TemporaryDirectory(prefix="builder-verify-") as tmp:
        results = verify_published(
            name, version, index=index, key=key, policy=policy, dest=Path(tmp)
        )
    if args.json:
        data = {"index": args.index, "name": name, "version": version,
                "wheels": [r.to_json() for r in results]}  # fmt: skip
        print_json("verify-index", data, ok=not any(r.failed for r in results))
    for result in results:
        render(result)
    for result in results:
        result.raise_for_failures()
    return 0


def render(result: Verification) -> None:
    """Passing checks in one line each; failing ones with what was expected and found."""
    console = err_console()
    console.print(f"[bold]{escape(result.wheel)}[/] sha256 {result.sha256}")
    console.print(f"  attestation {escape(result.attestation)}")
    for c in result.checks:
        if c.ok:
            console.print(f"  [green]ok[/]   {escape(c.name)}")
        else:
            console.print(f"  [bold red]FAIL[/] {escape(c.name)}")
            console.print(f"       expected {escape(c.expected)}")
            console.print(f"       found    {escape(c.found)}")
