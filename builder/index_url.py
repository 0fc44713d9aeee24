"""Which package index builder reads: never a host written in builder's own code.

The index URL comes, in order, from BUILDER_INDEX_URL, from pip's own configuration
(PIP_INDEX_URL, pip.conf) and, where nothing is set, from pip's built-in default.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache

from builder.errors import FetchError
from builder.pip_config import pip_config_value

# pip's --index-url help: "Base URL of the Python Package Index (default <url>)."
_PIP_DEFAULT = re.compile(r"--index-url.*?\(default\s+(\S+?)\)", re.DOTALL)


def configured_index_url() -> str:
    """Read each time: the environment may change within one process (tests, embedders)."""
    for var in ("BUILDER_INDEX_URL", "PIP_INDEX_URL"):
        if value := os.environ.get(var):
            return value
    if value := pip_config_value("index-url"):
        return value
    return _pip_default_index()


def explicit_index_url() -> str | None:
    """The index the user configured, or None where pip's own default applies."""
    url = configured_index_url()
    return None if url == _pip_default_index() else url


def _pip_says(*args: str) -> str:
    """What pip (beside builder) prints for `args`, under no configuration of the user's
    (its help shows a configured index as its default); empty when it cannot be run."""
    mine = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    try:
        return subprocess.run(
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=mine | {"COLUMNS": "200", "PIP_CONFIG_FILE": os.devnull},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


@cache
def _pip_default_index() -> str:
    """pip's own default index, as pip states it in its help (no private pip API)."""
    found = _PIP_DEFAULT.search(_pip_says("download", "--help"))
    if found is None:
        raise FetchError(
            "no package index is configured and pip does not say what its default is",
            hint="set BUILDER_INDEX_URL (or PIP_INDEX_URL) to the index to use",
        )
    return found.group(1)
