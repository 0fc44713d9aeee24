"""The in-container half of a build: runs as the unprivileged build user, no network.

The host stages a plan (plan.json) and the inputs under /inputs (read-only); this script
unpacks the sdist with the same hostile-archive checks the host uses, lays out vendored
crates, installs the pinned build deps from local wheels only, runs the PEP 517 build
through pypa/build, repairs the wheel with auditwheel and leaves the result in /out.

Standard library only: it runs on the image's python3, outside any virtual environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

INPUTS = Path("/inputs")
OUT = Path("/out")
BUILD = Path("/build")
HOME = "/home/builder"
LIB = INPUTS / "lib"
PLAN = INPUTS / "plan.json"
SRC = BUILD / "src"
VENV = BUILD / "venv"
TOOLS = BUILD / "tools"
VENDOR = BUILD / "vendor"
CARGO_HOME = BUILD / "cargo-home"
RESOLVER = BUILD / "resolver"
PIP_QUIET = ("--disable-pip-version-check", "--no-cache-dir", "--no-input", "--progress-bar=off")
BOOTSTRAP = (
    "import sys; sys.path[:0] = [sys.argv[1]]; from builder.driver import main; "
    "sys.exit(main(sys.argv[2:]))"
)
# pypa/installer run straight from its wheel: argv[1] is that wheel, the rest its arguments.
RUN_INSTALLER = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'installer'; "
    "runpy.run_module('installer', run_name='__main__', alter_sys=True)"
)
# pypa/build's API, so that the hooks run in the build venv's interpreter while build
# itself lives in the tools venv, outside the build's own environment.
BUILD_HOOK = (
    "import sys; from build import ProjectBuilder; src, out, python = sys.argv[1:]; "
    "print(ProjectBuilder(src, python_executable=python).build('wheel', out))"
)


def command(mode: str) -> tuple[str, ...]:
    """The container's command: the image's python3, isolated (-I), running this module."""
    return ("python3", "-I", "-c", BOOTSTRAP, str(LIB), mode, str(PLAN))


class Steps:
    """Prints a heading per step and keeps its duration for the result file."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = BUILD) -> None:
        print(f"==> {name}: {' '.join(argv)}", flush=True)
        started = time.monotonic()
        result = subprocess.run(argv, env=env, cwd=cwd, check=False)
        self.timings[name] = round(time.monotonic() - started, 3)
        if result.returncode != 0:
            print(f"==> {name} failed with status {result.returncode}", flush=True)
            raise SystemExit(result.returncode or 1)


def unpack_sdist(plan: dict[str, Any]) -> Path:
    from builder.archive import single_top_dir, unpack

    sdist = INPUTS / "sdist" / plan["sdist"]
    print(f"==> unpack {sdist.name}", flush=True)
    unpack(sdist, SRC)
    return single_top_dir(SRC, sdist)


def vendor_crates(plan: dict[str, Any]) -> None:
    """A cargo directory source from the pinned .crate files, so cargo needs no network."""
    from builder.archive import unpack

    crates = plan.get("crates", [])
    if not crates:
        return
    print(f"==> vendor {len(crates)} crates", flush=True)
    for crate in crates:
        staging = VENDOR / ".staging"
        unpack(INPUTS / "crates" / crate["file"], staging)
        (top,) = list(staging.iterdir())
        target = VENDOR / f"{crate['name']}-{crate['version']}"
        top.rename(target)
        staging.rmdir()
        checksum = {"files": {}, "package": crate["sha256"]}
        (target / ".cargo-checksum.json").write_text(json.dumps(checksum))
    CARGO_HOME.mkdir(parents=True, exist_ok=True)
    (CARGO_HOME / "config.toml").write_text(
        "[source.crates-io]\nreplace-with = 'vendored'\n\n"
        f"[source.vendored]\ndirectory = '{VENDOR}'\n\n[net]\noffline = true\n"
    )


def _installer_wheel(plan: dict[str, Any]) -> Path:
    (wheel,) = [t for t in plan["tools"] if t.startswith("installer-")]
    return INPUTS / "tools" / wheel


def make_venv(
    path: Path, wheels: list[str], folder: str, plan: dict[str, Any], steps: Steps
) -> None:
    """A venv without pip, the pinned wheels installed by pypa/installer (run from its wheel).

    No ensurepip and no resolver: the wheels are exactly the pinned ones, and this takes a
    fraction of a second instead of several.
    """
    env = dict(plan["env"])
    steps.run(f"venv {path.name}", ["python3", "-m", "venv", "--without-pip", str(path)], env)
    if wheels:
        files = [str(INPUTS / folder / w) for w in wheels]
        installer = [str(path / "bin" / "python"), "-I", "-c", RUN_INSTALLER]
        options = ["--no-compile-bytecode", "--validate-record", "all"]
        steps.run(
            f"install {folder}", [*installer, str(_installer_wheel(plan)), *options, *files], env
        )


def build_wheel(plan: dict[str, Any], steps: Steps) -> Path:
    """The PEP 517 build_wheel hook through pypa/build, run by the build venv's python."""
    top = unpack_sdist(plan)
    vendor_crates(plan)
    make_venv(VENV, plan["requires"], "wheels", plan, steps)
    make_venv(
        TOOLS, [t for t in plan["tools"] if not t.startswith("installer-")], "tools", plan, steps
    )
    dist = BUILD / "dist"
    hook = [str(TOOLS / "bin" / "python"), "-I", "-c", BUILD_HOOK, str(top), str(dist)]
    steps.run("build", [*hook, str(VENV / "bin" / "python")], dict(plan["env"]), cwd=top)
    (wheel,) = sorted(dist.glob("*.whl"))
    return wheel


def repair_wheel(wheel: Path, plan: dict[str, Any], steps: Steps) -> Path:
    if plan["repair"] == "skip" or wheel.name.endswith("-any.whl"):
        print(f"==> repair: not needed for {wheel.name}", flush=True)
        return wheel
    repaired = BUILD / "repaired"
    auditwheel = [str(TOOLS / "bin" / "python"), "-I", "-m", "auditwheel", "repair"]
    steps.run("repair", [*auditwheel, "-w", str(repaired), str(wheel)], dict(plan["env"]))
    (result,) = sorted(repaired.glob("*.whl"))
    return result


def run_build(plan: dict[str, Any]) -> int:
    steps = Steps()
    wheel = build_wheel(plan, steps)
    final = repair_wheel(wheel, plan, steps)
    shutil.copyfile(final, OUT / final.name)
    result = {"wheel": final.name, "unrepaired": wheel.name, "timings": steps.timings}
    (OUT / "result.json").write_text(json.dumps(result, indent=2))
    print(f"==> wheel {final.name}", flush=True)
    return 0


def run_fetch_crates(plan: dict[str, Any]) -> int:
    """Fetch phase only (network on): cargo downloads the locked crates into /out."""
    env = dict(plan["env"])
    top = unpack_sdist(plan)
    steps = Steps()
    for lock in plan["cargo_locks"]:
        manifest = top / Path(lock).parent / "Cargo.toml"
        steps.run(
            f"fetch {lock}",
            ["cargo", "fetch", "--locked", "--manifest-path", str(manifest)],
            env,
            cwd=manifest.parent,
        )
    return 0


def run_lock(plan: dict[str, Any]) -> int:
    """Lock phase (network on): the image's own pip resolves the build requirements to
    wheels for the image's Python and platform. Wheels only: no sdist's code runs here."""
    env = dict(plan["env"])
    steps = Steps()
    steps.run("venv resolver", ["python3", "-m", "venv", str(RESOLVER)], env)
    pip = [str(RESOLVER / "bin" / "python"), "-m", "pip", "download", *PIP_QUIET]
    flags = ["--only-binary", ":all:", "--dest", str(OUT / "wheels")]
    steps.run("resolve", [*pip, *flags, *plan["requirements"]], env)
    return 0


def main(argv: list[str]) -> int:
    os.umask(0o022)
    mode, plan_path = argv
    plan = json.loads(Path(plan_path).read_text())
    runners = {"build": run_build, "fetch-crates": run_fetch_crates, "lock": run_lock}
    from builder.errors import BuilderError

    try:
        return runners[mode](plan)
    except BuilderError as exc:
        print(f"==> error: {exc.message}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
