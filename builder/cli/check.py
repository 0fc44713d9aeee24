"""builder check [FILE...] [--name NAME...]: the typosquat and dependency-confusion gate."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import cast

from rich.markup import escape

from builder.cli.common import Subcommands, add_store_option, existing_file
from builder.cli.output import TerminalProgress, err_console, print_json
from builder.errors import GateFailed, UsageError
from builder.gate.binding import binding_of
from builder.gate.check import Gate, Issue
from builder.gate.inputs import (
    direct_urls_in,
    names_in,
    pin_of,
    releases_in,
    requirement,
    requirement_texts,
)
from builder.gate.locks import locked_in
from builder.gate.outcome import ResolutionFailed, Resolver, resolve, uv_configured
from builder.gate.rules import Kind, hints
from builder.policy import policy_here, unguarded


def register(sub: Subcommands) -> None:
    p = sub.add_parser("check", help="check names for typosquats and dependency confusion")
    p.add_argument(
        "files", type=existing_file, nargs="*",
        help="requirements.txt, pyproject.toml, a recipe or a pylock.toml",
    )  # fmt: skip
    p.add_argument(
        "--name", action="append", default=[], type=project_name,
        help="a name, or a release NAME==VERSION, to check (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--policy", type=existing_file, default=None,
        help="policy file (default: $BUILDER_POLICY, else the first builder.toml here or above; "
        "the project's own [tool.builder] only tightens it)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="every finding as JSON on stdout")
    p.add_argument(
        "--offline", action="store_true",
        help="no index lookups: the name rules alone judge look-alikes",
    )  # fmt: skip
    p.add_argument(
        "--resolver", choices=("auto", "pip", "uv", "none"), default="auto",
        help="the resolver whose outcome a requirements file or pyproject.toml is judged by, "
        "run under your configuration (default: uv where uv is configured, else pip; "
        "only with a policy that declares indexes or internal names)",
    )  # fmt: skip
    add_store_option(p)
    p.set_defaults(handler=run)


def project_name(value: str) -> str:
    """--name's argument: any PEP 508 requirement (a name, NAME==VERSION, a range, extras,
    markers, a direct URL)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(value)
    except InvalidRequirement as exc:
        raise argparse.ArgumentTypeError(f"not a requirement: {value!r} ({exc})") from None
    return value.strip()


def run(args: argparse.Namespace) -> int:
    asked = [requirement(n, "--name") for n in args.name]
    pins = [pin for n in args.name if (pin := pin_of(n))]
    pins += [p for f in args.files for p in releases_in(f)]
    names = [r.name for r in asked] + [n for f in args.files for n in names_in(f)]
    if not names:
        raise UsageError(
            "builder check: no names to check",
            hint="name files (requirements.txt, pyproject.toml, recipes, pylock.toml) or --name",
        )
    found = policy_here(args.policy, args.files[0].parent if args.files else None)
    policy = found.gate
    if (said := unguarded(found)) is not None:
        err_console().print(f"[yellow]warning[/] policy: {escape(said)}")
    if args.offline:
        policy = replace(policy, index_signals=False)
    gate = Gate(policy, args.store, TerminalProgress())
    here = args.files[0].parent if args.files else None  # pip's and uv's folder
    issues = gate.check(names, here) + gate.releases(pins)
    urls = [(r.name, r.url, "--name") for r in asked if r.url]
    issues += gate.direct_urls([*urls, *(u for f in args.files for u in direct_urls_in(f))])
    found_outcome, outcome_said, decided = _outcome(args, gate)
    issues = _explained(issues) + found_outcome if decided else issues + found_outcome
    snapshot = gate.snapshot
    if args.json:
        data = {
            "policy": policy.source, "names": names, "releases": [f"{n}=={v}" for n, v in pins],
            "advisories": snapshot.summary() if snapshot else None,
            "index_names": gate.names_said(), "outcome": outcome_said,
            "issues": [asdict(i) for i in issues],
        }  # fmt: skip
        print_json("check", data, ok=not any(i.severity == "error" for i in issues))
    render(issues, len(set(names)), policy.source, gate.advisories_said(), gate.names_said())
    err_console().print(f"outcome: {escape(outcome_said)}")
    raise_for_errors(issues)
    return 0


def _outcome(args: argparse.Namespace, gate: Gate) -> tuple[list[Issue], str, bool]:
    """The files the checked files take (gate/outcome.py, gate/locks.py): each lock file's
    entries, and what the user's resolver takes for the requirements files and
    pyproject.tomls; what was judged, said; and whether the outcome of everything checked
    was judged."""
    if binding_of(gate.policy) is None:
        return [], "not judged: the policy declares no index and no internal name", False
    taken, requested, locks = [], [], 0
    for path in args.files:
        entries = locked_in(path)
        if entries is None:
            requested += requirement_texts(path)
        else:
            taken += entries
            locks += 1
    issues = gate.outcome(taken)
    said = [f"{locks} lock file(s), {len(taken)} entries"] if locks else []
    whole = bool(args.files) and not args.name and not requested
    if requested and args.resolver != "none":
        here = args.files[0].parent
        resolver = _resolver(args.resolver, here)
        gate.progress.status(f"resolving {len(requested)} requirement(s) with {resolver}, as "
                             "you would (builds forbidden)")  # fmt: skip
        try:
            resolved = resolve(requested, resolver, here)
        except ResolutionFailed as exc:
            issues += gate.unresolved(str(exc))
            said.append(f"{resolver} could not resolve: outcome not judged")
        else:
            issues += gate.outcome(resolved)
            said.append(f"{resolver} takes {sum(len(t.files) for t in resolved)} file(s)")
            whole = bool(args.files) and not args.name
    return issues, "; ".join(said) or "no files to resolve (--name is judged by name)", whole


def _explained(issues: list[Issue]) -> list[Issue]:
    """Configuration findings as warnings, where the outcome of everything checked was
    judged: they say what could go wrong; the files the resolution takes decide."""
    return [replace(i, severity="warning",
                    message=f"{i.message} (a warning: the outcome decides, and was judged)")
            if i.kind == "configuration" and i.severity == "error" else i
            for i in issues]  # fmt: skip


def _resolver(asked: str, here: Path) -> Resolver:
    if asked in ("pip", "uv"):
        return cast(Resolver, asked)
    return "uv" if uv_configured(here) and shutil.which("uv") else "pip"


def raise_for_errors(issues: list[Issue]) -> None:
    refused: dict[str, list[Kind]] = {}  # name -> the kinds of its errors, once each
    for issue in issues:
        if issue.severity == "error":
            kinds = refused.setdefault(issue.name, [])
            if issue.kind not in kinds:
                kinds.append(issue.kind)
    if refused:
        raise GateFailed(
            f"{len(refused)} name(s) refused: "
            + "; ".join(f"{name} ({', '.join(kinds)})" for name, kinds in refused.items()),
            hint=hints(k for kinds in refused.values() for k in kinds),
        )


def render(issues: list[Issue], count: int, source: str, advisories: str, names: str) -> None:
    console = err_console()
    console.print(f"checked {count} name(s) (policy: {escape(source)})")
    console.print(f"advisories: {escape(advisories)}")
    console.print(f"index names: {escape(names)}")
    for issue in issues:
        color = {"error": "bold red", "warning": "yellow"}.get(issue.severity, "dim")
        console.print(f"  [{color}]{issue.severity}[/] {issue.kind}: {escape(issue.message)}")
