"""What the user's resolver would take, judged file by file: the outcome, not the channels.

`builder check` runs the resolver the user runs (pip's `install --dry-run --report`, or
`uv pip compile`), under the user's own configuration; lock files are read entry by
entry (gate/locks.py: pylock.toml, uv.lock, requirements with --hash). Every file either
names must be one an index the policy allows for its name lists (by URL, or by file name
and sha256), and an internal name's file must come from the internal indexes' files
(gate/binding.py). A file from anywhere else (a configuration channel the gate does not
read, a find-links folder, a proxy) is refused whatever put it there.

The resolvers run with builds forbidden: an sdist's metadata would run its code on the
host. A release available only as an sdist is judged by the name checks alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from builder.errors import InputError
from builder.gate.locks import Taken, file_of, pylock_entries
from builder.names import normalize

Resolver = Literal["pip", "uv"]
RESOLVE_TIMEOUT_S = 300


class ResolutionFailed(Exception):
    """The resolver could not resolve without building (or at all): what it said."""


# ---- resolvers -------------------------------------------------------------------------


def uv_configured(cwd: Path) -> bool:
    """Whether the user resolves with uv here: uv configuration in the environment, the
    folder (uv.toml, [tool.uv]) or the user's uv.toml."""
    from builder.gate.configuration import uv_settings

    if any(k.startswith("UV_") and "INDEX" in k for k in os.environ):
        return True
    return bool(uv_settings(cwd))


def resolve(requirements: list[str], resolver: Resolver, cwd: Path) -> list[Taken]:
    """What `resolver` takes for `requirements`, run as the user runs it (their
    environment and configuration files), from `cwd`, builds forbidden."""
    with tempfile.TemporaryDirectory(prefix="builder-resolve-") as tmp:
        listed = Path(tmp) / "requirements.txt"
        listed.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        if resolver == "pip":
            return _pip(listed, Path(tmp) / "report.json", cwd)
        return _uv(listed, Path(tmp) / "pylock.toml", cwd)


def _run(command: list[str], cwd: Path, what: str) -> None:
    try:
        ran = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                             timeout=RESOLVE_TIMEOUT_S, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ResolutionFailed(f"{what} could not be run: {exc}") from exc
    if ran.returncode != 0:
        said = [line for line in ran.stderr.splitlines() if line.strip()]
        raise ResolutionFailed(f"{what} failed: {' '.join(said[-3:])[:500]}")


def _pip(listed: Path, report: Path, cwd: Path) -> list[Taken]:
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--only-binary=:all:", "--disable-pip-version-check", "-q",
               "--report", str(report), "-r", str(listed)]  # fmt: skip
    _run(command, cwd, "pip install --dry-run")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        return [_pip_taken(entry) for entry in data["install"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResolutionFailed(f"pip's report is not one builder reads: {exc!r}") from exc


def _pip_taken(entry: Mapping[str, Any]) -> Taken:
    info = entry["download_info"]
    metadata = entry["metadata"]
    hashes = (info.get("archive_info") or {}).get("hashes") or {}
    direct = info["url"] if entry.get("is_direct") else None
    return Taken(
        name=normalize(metadata["name"]), version=str(metadata["version"]),
        files=(file_of(info["url"], hashes.get("sha256")),), direct=direct,
        where="pip install --dry-run",
    )  # fmt: skip


def _uv(listed: Path, out: Path, cwd: Path) -> list[Taken]:
    command = ["uv", "pip", "compile", str(listed), "--no-build", "--format", "pylock.toml",
               "--python", sys.executable, "--quiet", "-o", str(out)]  # fmt: skip
    _run(command, cwd, "uv pip compile")
    try:
        return pylock_entries(tomllib.loads(out.read_text(encoding="utf-8")), "uv pip compile")
    except (OSError, tomllib.TOMLDecodeError, InputError) as exc:
        raise ResolutionFailed(f"uv's lock is not one builder reads: {exc}") from exc
