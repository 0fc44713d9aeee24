"""Uploading verified wheels to an index server a team already runs, with twine.

Such servers (pypiserver, devpi, a registry) keep wheels but not builder's provenance:
serve the provenance from a static index beside them (builder publish --to), as
docs/index.md says. A server that falls back to a public index for names it does not
hold hands those names to whoever registers them there: dependency confusion by design.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from builder.errors import PublishError


def upload(wheels: Sequence[Path], url: str) -> None:
    """twine upload to `url`; credentials, if the server wants any, as twine reads them
    (TWINE_USERNAME, TWINE_PASSWORD, keyring); never from builder's own files."""
    env = {"TWINE_USERNAME": "builder", "TWINE_PASSWORD": "", **os.environ}
    argv = [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
            "--repository-url", url, *map(str, wheels)]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise PublishError(
            f"twine could not upload to {url}: {_said(result.stdout + result.stderr)}",
            hint="check the server's URL (its upload endpoint) and the credentials twine uses",
        )


def _said(output: str) -> str:
    """twine's own words: its error lines, without colours or a traceback's frames."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    lines = [line.strip() for line in plain.splitlines()]
    frames = re.compile(r"^(Traceback |File \"|\^+$|During handling|The above exception)")
    kept = [ln for ln in lines if ln and not frames.match(ln)]
    errors = [ln for ln in kept if ln.startswith("ERROR") or "Error" in ln.split(":")[0]]
    return " / ".join((errors or kept)[-2:]) or "no output"
