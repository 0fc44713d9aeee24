"""Hermetic build time against a plain host `pip wheel` of the same sdist, same build deps.

Both sides are warm: the image and every input are in the store, the host venv is made
before timing, and cargo's host cache is filled by a first, untimed host build. Prints
seconds and the ratio hermetic / plain for each recipe.

    python3 bench/overhead.py [--store DIR] [--repeat N] [recipe ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from builder.archive import single_top_dir, unpack
from builder.pipeline import build_recipe
from builder.progress import Silent
from builder.recipe import load_recipe
from builder.sandbox.docker import DockerSandbox
from builder.store import Store, default_store_root

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"markupsafe": 1.25, "safetensors": 1.10}


def hermetic_seconds(recipe: Path, store: Store) -> float:
    report = build_recipe(
        recipe,
        store=store,
        dist=Path(tempfile.mkdtemp()),
        sandbox_factory=DockerSandbox,
        progress=Silent(),
    )
    store.record_path(report.record["build_key"]).unlink()  # the next call builds again
    started = time.monotonic()
    build_recipe(
        recipe,
        store=store,
        dist=Path(tempfile.mkdtemp()),
        sandbox_factory=DockerSandbox,
        progress=Silent(),
    )
    return time.monotonic() - started


def plain_seconds(recipe_path: Path, store: Store) -> float:
    recipe = load_recipe(recipe_path)
    work = Path(tempfile.mkdtemp(prefix="bench-plain-"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = str(work / "venv" / "bin" / "python")
    wheels = [str(store.path_of(r.sha256)) for r in recipe.requires]
    named = []
    for pin, path in zip(recipe.requires, wheels, strict=True):
        link = work / pin.file
        link.symlink_to(path)
        named.append(str(link))
    pip = [python, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--no-index", "--no-deps", *named], check=True)

    env = {**os.environ, "PATH": f"{work / 'venv' / 'bin'}:{os.environ['PATH']}"}

    def once(tag: str) -> float:
        src = work / f"src-{tag}"
        unpack(store.path_of(recipe.sdist.sha256), src)
        top = single_top_dir(src, Path(recipe.sdist.file))
        started = time.monotonic()
        subprocess.run(
            [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / tag), str(top)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        return time.monotonic() - started

    once("warm")
    return once("timed")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipes", nargs="*", default=sorted(TARGETS))
    p.add_argument("--store", type=Path, default=None)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    store = Store(args.store or default_store_root())
    print(f"{'recipe':<14}{'hermetic s':>12}{'plain s':>10}{'ratio':>8}{'target':>8}")
    for name in args.recipes:
        recipe = REPO / "recipes" / f"{name}.toml"
        hermetic = statistics.median(hermetic_seconds(recipe, store) for _ in range(args.repeat))
        plain = statistics.median(plain_seconds(recipe, store) for _ in range(args.repeat))
        target = TARGETS.get(name)
        print(
            f"{name:<14}{hermetic:>12.1f}{plain:>10.1f}{hermetic / plain:>8.2f}"
            f"{target if target else '':>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
