"""builder key new [PATH]: a signing key pair for attestations."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import Subcommands
from builder.cli.output import err_console
from builder.provenance.signing import KEY_KINDS, default_key_path, new_key


def register(sub: Subcommands) -> None:
    p = sub.add_parser("key", help="make signing keys")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    n = verbs.add_parser("new", help="write a private key (0600) and its public key (JSON)")
    n.add_argument(
        "path", type=Path, nargs="?", default=None,
        help="private key file (default: $BUILDER_SIGNING_KEY or the user config directory)",
    )  # fmt: skip
    n.add_argument("--kind", choices=KEY_KINDS, default="ed25519")
    n.add_argument("--force", action="store_true", help="replace an existing key pair")
    n.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace) -> int:
    pair = new_key(args.path or default_key_path(), args.kind, force=args.force)
    console = err_console()
    console.print(f"[bold green]wrote[/] {pair.private} (private, keep it off build machines)")
    console.print(f"  public key {pair.public} (key id {pair.keyid})")
    return 0
