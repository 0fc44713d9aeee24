"""The in-container half of a build: runs as the unprivileged build user, no network.

The host stages a plan (plan.json) and the inputs under /inputs (read-only); this script
unpacks the sdist with the same hostile-archive checks the host uses, lays out vendored
crates, installs the pinned build deps from local wheels only, runs the PEP 517 build
through pip, repairs the wheel with auditwheel and leaves the result in /out.

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
BOOTSTRAP = (
    "import sys; sys.path[:0] = [sys.argv[1]]; from builder.driver import main; "
    "sys.exit(main(sys.argv[2:]))"
)
PIP_QUIET = ("--disable-pip-version-check", "--no-cache-dir", "--no-input")


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


def make_venv(
    path: Path, wheels: list[str], folder: str, env: dict[str, str], steps: Steps
) -> None:
    steps.run(f"venv {path.name}", ["python3", "-m", "venv", str(path)], env)
    if wheels:
        files = [str(INPUTS / folder / w) for w in wheels]
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", *PIP_QUIET]
        steps.run(f"install {folder}", [*pip, "--no-index", "--no-deps", *files], env)


def build_wheel(plan: dict[str, Any], env: dict[str, str], steps: Steps) -> Path:
    top = unpack_sdist(plan)
    vendor_crates(plan)
    make_venv(VENV, plan["requires"], "wheels", env, steps)
    dist = BUILD / "dist"
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "wheel", *PIP_QUIET, "-v"]
    flags = ["--no-index", "--no-deps", "--no-build-isolation", "-w", str(dist), str(top)]
    steps.run("build", [*pip, *flags], env, cwd=top)
    (wheel,) = sorted(dist.glob("*.whl"))
    return wheel


def repair_wheel(wheel: Path, plan: dict[str, Any], env: dict[str, str], steps: Steps) -> Path:
    if plan["repair"] == "skip" or wheel.name.endswith("-any.whl"):
        print(f"==> repair: not needed for {wheel.name}", flush=True)
        return wheel
    make_venv(TOOLS, plan["tools"], "tools", env, steps)
    repaired = BUILD / "repaired"
    auditwheel = [str(TOOLS / "bin" / "auditwheel"), "repair", "-w", str(repaired), str(wheel)]
    steps.run("repair", auditwheel, env)
    (result,) = sorted(repaired.glob("*.whl"))
    return result


def run_build(plan: dict[str, Any]) -> int:
    env = dict(plan["env"])
    steps = Steps()
    wheel = build_wheel(plan, env, steps)
    final = repair_wheel(wheel, plan, env, steps)
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


def main(argv: list[str]) -> int:
    os.umask(0o022)
    mode, plan_path = argv
    plan = json.loads(Path(plan_path).read_text())
    runners = {"build": run_build, "fetch-crates": run_fetch_crates}
    from builder.errors import BuilderError

    try:
        return runners[mode](plan)
    except BuilderError as exc:
        print(f"==> error: {exc.message}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
