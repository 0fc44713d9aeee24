"""builder verify WHEEL --key PUB [--attestation FILE] [--policy FILE]: check provenance."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from builder.cli.common import Subcommands, existing_file
from builder.cli.output import err_console, print_json
from builder.errors import VerificationFailed
from builder.provenance.bundle import BUNDLE_SUFFIX
from builder.provenance.signing import load_public_key
from builder.provenance.verify import Verification, load_policy, verify


def register(sub: Subcommands) -> None:
    p = sub.add_parser("verify", help="verify a wheel against its signed attestations")
    p.add_argument("wheel", type=existing_file)
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


def default_attestation(wheel: Path) -> Path:
    candidates = [
        wheel.with_name(wheel.name + BUNDLE_SUFFIX),
        Path("attestations") / (wheel.name + BUNDLE_SUFFIX),
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise VerificationFailed(
        f"no attestation found for {wheel.name} (looked at {', '.join(map(str, candidates))})",
        hint="pass --attestation FILE",
    )


def run(args: argparse.Namespace) -> int:
    key = load_public_key(args.key)
    policy = load_policy(args.policy) if args.policy else None
    result = verify(args.wheel, args.attestation or default_attestation(args.wheel), key, policy)
    if args.json:
        print_json("verify", result.to_json(), ok=not result.failed)
    render(result)
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
