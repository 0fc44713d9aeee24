"""Where things are inside a run, and the lines a driver says: shared by the host, which
sets a run up, and the driver, which runs in it. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

INPUTS = Path("/inputs")
OUT = Path("/out")
# Not "/build", and the sdist is not unpacked in "src": a .gitignore's `build/` or `src/`
# matches every path under such a folder, and hatchling then ignores the whole .gitignore
# (it keeps no pattern that matches the project's root), so the wheel would hold files
# that upstream's leaves out (jupyterlab-pygments' prebuilt labextension, twice).
BUILD = Path("/buildroot")
# The interpreters live at a fixed path whatever the build root: their path is build input
# (PyO3's build script compiles the interpreter's path into a crate, which changes every
# symbol hash downstream), while the source tree's path must not matter.
ENVS = Path("/opt/builder")
HOME = "/home/builder"
# A GCC specs file at a fixed path (HOME is the same in every build): CFLAGS name it, and
# it holds the -ffile-prefix-map of this build's root, written by the driver.
PREFIX_SPECS = f"{HOME}/.config/builder/prefix-map.specs"
BUILD_USER = "1000:1000"  # the unprivileged user a build runs as
HOSTNAME = "builder"
LIB = INPUTS / "lib"  # the in-build code: builder/__init__.py, errors.py, inside/
TASK = INPUTS / "task.json"
VENVS_ARCHIVE = "venvs.tar"

# What the driver says on its stdout, one line each.
OUTPUT_READY = "==> builder: output ready"  # /out is complete: copy it, then stop the run
LIFELINE_LOST = "==> builder: the builder process is gone; ending this run"
LIFELINE_EXIT = 125

BOOTSTRAP = (
    "import sys; sys.path[:0] = [sys.argv[1]]; from builder.inside.driver import main; "
    "sys.exit(main(sys.argv[2:]))"
)


def prefix_specs(root: str) -> str:
    """The specs: every gcc and g++ run maps `root` to "." in the file names it records."""
    return f"*self_spec:\n+ -ffile-prefix-map={root}=.\n"


def command(mode: str) -> tuple[str, ...]:
    """A run's command: the image's python3, isolated (-I), running the driver."""
    return ("python3", "-I", "-c", BOOTSTRAP, str(LIB), mode, str(TASK))


def base_env(path: str = "/usr/bin:/bin") -> dict[str, str]:
    """What every run's environment holds before its own settings."""
    return {"HOME": HOME, "PATH": path, "LC_ALL": "C.UTF-8", "TZ": "UTC", "PYTHONHASHSEED": "0"}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a build puts things, under its build root (fixed, but varied by rebuilds)."""

    root: Path = BUILD

    @property
    def src(self) -> Path:
        """Where the sdist is unpacked: no name a .gitignore excludes (see BUILD)."""
        return self.root / "unpacked"

    @property
    def venv(self) -> Path:
        return ENVS / "venv"

    @property
    def tools(self) -> Path:
        return ENVS / "tools"

    @property
    def tmp(self) -> Path:
        """TMPDIR: under the root, so that the prefix map writes a temporary folder as ./tmp."""
        return self.root / "tmp"

    @property
    def vendor(self) -> Path:
        return self.root / "vendor"

    @property
    def cargo_home(self) -> Path:
        return self.root / "cargo-home"
