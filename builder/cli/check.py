"""builder check [FILE...] [--name NAME...]: the typosquat and dependency-confusion gate."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from rich.markup import escape

from builder.cli.common import Subcommands, existing_file
from builder.cli.output import err_console, print_json
from builder.errors import GateFailed, UsageError
from builder.gate.check import Gate, GatePolicy, Issue, find_policy, load_gate_policy
from builder.gate.inputs import direct_urls_in, names_in


def register(sub: Subcommands) -> None:
    p = sub.add_parser("check", help="check names for typosquats and dependency confusion")
    p.add_argument(
        "files", type=existing_file, nargs="*",
        help="requirements.txt, pyproject.toml, a recipe or a pylock.toml",
    )  # fmt: skip
    p.add_argument("--name", action="append", default=[], help="a name to check (repeatable)")
    p.add_argument(
        "--policy", type=existing_file, default=None,
        help="policy file (default: ./builder.toml, else [tool.builder] in ./pyproject.toml)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="every finding as JSON on stdout")
    p.set_defaults(handler=run)


def policy_for(explicit: Path | None) -> GatePolicy:
    return load_gate_policy(explicit or find_policy(Path.cwd()))


def run(args: argparse.Namespace) -> int:
    names = [*args.name, *(n for f in args.files for n in names_in(f))]
    if not names:
        raise UsageError(
            "builder check: no names to check",
            hint="name files (requirements.txt, pyproject.toml, recipes, pylock.toml) or --name",
        )
    policy = policy_for(args.policy)
    gate = Gate(policy)
    issues = gate.check(names) + gate.direct_urls(u for f in args.files for u in direct_urls_in(f))
    if args.json:
        data = {"policy": policy.source, "names": names, "issues": [asdict(i) for i in issues]}
        print_json("check", data, ok=not any(i.severity == "error" for i in issues))
    render(issues, len(set(names)), policy.source)
    raise_for_errors(issues)
    return 0


def raise_for_errors(issues: list[Issue]) -> None:
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise GateFailed(
            f"{len(errors)} name(s) refused: " + "; ".join(f"{i.name} ({i.kind})" for i in errors),
            hint="a false alarm? add the name to names.allow in the policy file",
        )


def render(issues: list[Issue], count: int, source: str) -> None:
    console = err_console()
    console.print(f"checked {count} name(s) (policy: {escape(source)})")
    for issue in issues:
        color = "bold red" if issue.severity == "error" else "yellow"
        console.print(f"  [{color}]{issue.severity}[/] {issue.kind}: {escape(issue.message)}")
