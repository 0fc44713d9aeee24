"""Rebuild-and-compare cost against single builds of the same recipe, in the same run.

Times one fresh build (T1), then a fresh build with --rebuilds N (T), and the comparison
itself (builder diff of the reference wheel against a rebuilt one). Prints T / ((N+1)*T1),
the target being close to 1, and the comparison's share of T (target: under 2%).

    python3 bench/rebuild.py [--rebuilds N] [--store DIR] [recipe]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from builder.compare.diff.wheel import diff_wheels
from builder.compare.rebuild import Rebuilds
from builder.names import Sha256
from builder.pipeline.build import BuildReport, build
from builder.pipeline.request import BuildRequest, Workspace
from builder.progress import Silent
from builder.recipe import load_recipe
from builder.sandbox.docker import DockerSandbox
from builder.store import Store, default_store_root

REPO = Path(__file__).resolve().parent.parent


def fresh_build(recipe: Path, store: Store, rebuilds: int) -> tuple[float, BuildReport]:
    """A build that is not a cache hit: the record of the previous one is dropped first."""

    def workspace() -> Workspace:
        return Workspace(store=store, progress=Silent(), sandbox_factory=DockerSandbox,
                         dist=Path(tempfile.mkdtemp()))  # fmt: skip

    warm = build(BuildRequest(recipe=load_recipe(recipe)), workspace())
    store.record_path(warm.record.build_key).unlink()
    started = time.monotonic()
    asked = BuildRequest(recipe=load_recipe(recipe), rebuilds=Rebuilds(count=rebuilds))
    report = build(asked, workspace())
    return time.monotonic() - started, report


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipe", nargs="?", default="markupsafe")
    p.add_argument("--rebuilds", type=int, default=2)
    p.add_argument("--store", type=Path, default=None)
    args = p.parse_args()
    store = Store(args.store or default_store_root())
    recipe = REPO / "recipes" / f"{args.recipe}.toml"
    single, _ = fresh_build(recipe, store, 0)
    total, report = fresh_build(recipe, store, args.rebuilds)
    assert report.rebuild is not None
    ref = store.path_of(report.sha256)
    other = report.rebuild.rebuilds[0]
    started = time.monotonic()
    diff_wheels(ref, store.path_of(Sha256(other.sha256)))
    compare = time.monotonic() - started
    builds = args.rebuilds + 1
    print(f"recipe {args.recipe}: {builds} builds, reproducible={report.rebuild.reproducible}")
    print(f"single build          {single:8.2f} s")
    print(f"build + {args.rebuilds} rebuilds     {total:8.2f} s")
    print(f"ratio to {builds} builds    {total / (builds * single):8.2f}  (target: close to 1)")
    print(f"comparison            {compare:8.4f} s = {100 * compare / total:.3f}% of the total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
