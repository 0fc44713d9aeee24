"""builder verify WHEEL --key PUB [--attestation FILE] [--policy FILE]: check provenance;
builder verify NAME==VERSION | -r FILE --index URL --key PUB | --trust TRUSTFILE: from an
index, with one key or a quorum of signers."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from rich.markup import escape

from builder.cli.common import Subcommands, existing_file, existing_file_argument
from builder.cli.output import err_console, print_json
from builder.errors import UsageError, VerificationFailed
from builder.gate.binding import binding_of
from builder.gate.inputs import Pin, read_pins
from builder.pipeline.publish import verify_agreed, verify_published
from builder.policy import policy_here, read_policy
from builder.provenance.agreement import Agreement
from builder.provenance.bundle import BUNDLE_SUFFIX, find_bundle
from builder.provenance.signing import load_public_key
from builder.provenance.trust import read_trust
from builder.provenance.verify import Verification, verify
from builder.publish.remote import RemoteIndex
from builder.resolve.new_recipe import parse_pin


def register(sub: Subcommands) -> None:
    p = sub.add_parser("verify", help="verify a wheel against its signed attestations")
    p.add_argument(
        "target", metavar="WHEEL | NAME==VERSION", nargs="?", default=None,
        help="a wheel file, or with --index a release on a published index",
    )  # fmt: skip
    p.add_argument(
        "-r", "--requirements", type=existing_file, default=None, metavar="FILE",
        help="with --index: every NAME==VERSION a requirements file pins (a lock before "
        "deployment); each --hash it gives must be the wheel's",
    )  # fmt: skip
    p.add_argument(
        "--index", default=None, metavar="URL",
        help="a builder index (its root: simple/, files/): fetch the release's wheels and "
        "provenance, check them against the index's pages, then verify them",
    )  # fmt: skip
    p.add_argument("--key", type=existing_file, default=None, help="public key file (JSON)")
    p.add_argument(
        "--trust", type=existing_file, default=None, metavar="TRUSTFILE",
        help="with --index: pass only where the trust file's quorum of signers agree, each "
        "bundle checked with its signer's key (instead of --key; docs/quorum.md)",
    )  # fmt: skip
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
    if (args.key is None) == (args.trust is None):
        raise UsageError("builder verify: give --key PUB or --trust TRUSTFILE (one of them)")
    if (args.target is None) == (args.requirements is None):
        raise UsageError("builder verify: give a WHEEL or NAME==VERSION, or -r FILE (one of them)")
    if args.trust is not None or args.requirements is not None:
        if args.index is None:
            raise UsageError("builder verify: --trust and -r go with --index URL",
                             hint="a quorum's bundles are on the index")  # fmt: skip
        return run_agreed(args) if args.trust is not None else run_from_index(args)
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
    """NAME==VERSION, or every pin of -r FILE, from the index, verified with one key."""
    if args.attestation is not None:
        raise UsageError("builder verify: --attestation and --index do not go together",
                         hint="with --index, the provenance comes from the index")  # fmt: skip
    pins = read_pins(args.requirements) if args.requirements else [_pin(args.target)]
    key = load_public_key(args.key)
    policy = read_policy(args.policy).verify if args.policy else None
    index = RemoteIndex(args.index, binding_of(policy_here(None).gate))
    results = _each_pin(pins, lambda pin, dest: verify_published(
        pin.name, pin.version, index=index, key=key, policy=policy, dest=dest))  # fmt: skip
    if args.json:
        one = pins[0] if args.requirements is None else None
        data = {"index": args.index, "name": one.name if one else None,
                "version": one.version if one else None,
                "pins": [f"{p.name}=={p.version}" for p in pins],
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


def run_agreed(args: argparse.Namespace) -> int:
    """NAME==VERSION, or every pin of -r FILE, from the index: each wheel's quorum."""
    trust = read_trust(args.trust)
    policy = read_policy(args.policy).verify if args.policy else None
    index = RemoteIndex(args.index, binding_of(policy_here(None).gate))
    pins = read_pins(args.requirements) if args.requirements else [_pin(args.target)]
    results = _each_pin(pins, lambda pin, dest: verify_agreed(
        pin.name, pin.version, index=index, trust=trust, policy=policy, dest=dest))  # fmt: skip
    if args.json:
        data = {"index": args.index, "quorum": trust.quorum, "signers": list(trust.names),
                "pins": [f"{p.name}=={p.version}" for p in pins],
                "wheels": [a.to_json() for a in results]}  # fmt: skip
        print_json("verify-quorum", data, ok=all(a.holds for a in results))
    for agreed in results:
        _render_agreement(agreed)
    for agreed in results:
        agreed.raise_unless_holds()
    err_console().print(f"[bold green]quorum holds[/] ({trust.describe()}) for "
                        f"{len(results)} wheel(s) of {len(pins)} pin(s)")  # fmt: skip
    return 0


def _pin(target: str) -> Pin:
    name, version = parse_pin(target)
    return Pin(name=name, version=version, hashes=())


class _OfAWheel(Protocol):
    @property
    def sha256(self) -> str: ...


_Found = TypeVar("_Found", bound=_OfAWheel)


def _each_pin(pins: list[Pin], check: Callable[[Pin, Path], list[_Found]]) -> list[_Found]:
    """`check` of each pin's wheels, fetched into a folder of their own; each kept where
    the pin's hashes allow it."""
    results: list[_Found] = []
    with tempfile.TemporaryDirectory(prefix="builder-verify-") as tmp:
        for i, pin in enumerate(pins):
            dest = Path(tmp) / str(i)
            dest.mkdir()
            results += _hashed(pin, check(pin, dest))
    return results


def _hashed(pin: Pin, found: list[_Found]) -> list[_Found]:
    """The wheels a pin's hashes allow (all, where it gives none); a pin whose hashes
    match no wheel on the index fails."""
    if not pin.hashes:
        return found
    kept = [f for f in found if f.sha256 in pin.hashes]
    if not kept:
        raise VerificationFailed(
            f"{pin.name}=={pin.version}: no wheel on the index has a sha256 the requirements "
            f"file names ({', '.join(h[:16] for h in pin.hashes)})",
            hint="the lock and the index disagree: lock again from the index",
        )
    return kept


def _render_agreement(agreed: Agreement) -> None:
    console = err_console()
    mark = "[green]ok[/]  " if agreed.holds else "[bold red]FAIL[/]"
    console.print(f"{mark} [bold]{escape(agreed.wheel)}[/] sha256 {agreed.sha256}: "
                  f"{len(agreed.agreed)} of {agreed.quorum} agree "
                  f"({escape(', '.join(agreed.agreed) or 'none')})")  # fmt: skip
    for line in agreed.not_counted:
        console.print(f"       not counted: {escape(line)}")
