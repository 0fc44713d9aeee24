"""The README's first command, as a new user pastes it: install, build markupsafe with two
rebuilds, verify it under the reference policy with the key the build made, and rebuild
from the committed reference attestation. Run in a copy of the checkout, with a fresh
HOME (so the signing key is made on first use) and a venv of its own (so `pip install -e
.` installs the copy, not over the checkout under test); the store is the session's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from builder.store import Store
from tests.readme_blocks import block, checkout_copy

FIRST = "apt-get install -y mmdebstrap && pip install -e ."


def test_the_readme_first_command_runs_as_written(  # type: ignore[no-untyped-def]
    bubblewrap, session_store: Store, tmp_path: Path
) -> None:
    work = checkout_copy(tmp_path / "checkout")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)  # fmt: skip
    # A new user's environment: no signing key named (the tests name one for every test),
    # so the build makes the key the README verifies with, under the fresh HOME.
    mine = {k: v for k, v in os.environ.items() if k != "BUILDER_SIGNING_KEY"}
    env = mine | {
        "BUILDER_STORE": str(session_store.root), "HOME": str(tmp_path / "home"),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv),
    }  # fmt: skip
    ran = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                          block(FIRST).text], cwd=work, env=env, capture_output=True,
                         text=True, timeout=3600, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert list((work / "dist").glob("markupsafe-3.0.3-*.whl"))
    assert (tmp_path / "home" / ".config" / "builder" / "signing-key.pub.json").is_file()
