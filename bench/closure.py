"""A platform team's real closure (recipes/data-science), planned and built from source.

    python3 bench/closure.py plan [--work DIR]       # cold, then a no-change re-plan
    python3 bench/closure.py build [--work DIR] [--jobs N]   # resumable: built nodes are cache hits
    python3 bench/closure.py table                   # docs/closure.md from the results

`plan` times `builder plan` of the example twice in one run: the first asks the image
every question (an empty answers folder in the store: cold, images already made), the
second reads the answers it kept (warm, nothing changed); both figures and their ratio
go to bench/data/closure/plan.json. `build` runs `builder build --graph --rebuilds 1`
on that plan and keeps its table (bench/data/closure/graph-build.json); run it again
after a failure: what was built is a cache hit. `table` writes docs/closure.md: per
package its backend, whether it was built here and rebuilt bit for bit, and why not.

The store is builder's default (BUILDER_STORE), the work folder bench-work/closure/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EXAMPLE = REPO / "recipes" / "data-science"
RESULTS = BENCH / "data" / "closure"
TABLE = REPO / "docs" / "closure.md"
IMAGE = "trixie-backports-py"  # maturin and uv-build need a newer rustc than trixie's
BACKENDS = ("setuptools", "hatchling", "flit-core", "poetry-core", "pdm-backend",
            "meson-python", "scikit-build-core", "maturin", "cython")  # fmt: skip


def builder(*args: str) -> tuple[int, float, str]:
    """Run the builder CLI as a user does: (exit code, seconds, its JSON output)."""
    start = time.monotonic()
    ran = subprocess.run([sys.executable, "-m", "builder", *args], stdout=subprocess.PIPE,
                         text=True, check=False)  # fmt: skip
    return ran.returncode, time.monotonic() - start, ran.stdout


def plan_args(work: Path, *extra: str) -> list[str]:
    return ["plan", str(EXAMPLE / "requirements.txt"), "--image", IMAGE,
            "--policy", str(EXAMPLE / "builder.toml"),
            "--overrides", str(EXAMPLE / "overrides"), "--out", str(work / "plan"), "--json",
            *extra]  # fmt: skip


def store_root() -> Path:
    import os

    return Path(os.environ.get("BUILDER_STORE") or Path.home() / ".cache" / "builder")


def plan(work: Path) -> dict[str, Any]:
    """Cold (no kept answer), then warm (every answer kept, nothing changed)."""
    shutil.rmtree(store_root() / "answers", ignore_errors=True)
    runs = []
    for label, extra in (("cold", ("--force",)), ("warm", ("--force",))):
        code, seconds, out = builder(*plan_args(work, *extra))
        if code != 0:
            raise SystemExit(f"builder plan ({label}) exited {code}")
        said = json.loads(out)
        packages = len(said["graphs"][0]["nodes"])
        runs.append({"run": label, "seconds": round(seconds, 1), "packages": packages,
                     "per_package_s": round(seconds / packages, 2), **said["answers"]})  # fmt: skip
    result = {"runs": runs, "warm_over_cold": round(runs[1]["seconds"] / runs[0]["seconds"], 3),
              "measured": time.strftime("%Y-%m-%d")}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plan.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def build(work: Path, jobs: int) -> int:
    graph = work / "plan" / "graph.json"
    code, seconds, _ = builder("build", "--graph", str(graph), "--jobs", str(jobs),
                               "--rebuilds", "1", "--dist", str(work / "dist"),
                               "--attestations", str(work / "attestations"))  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = work / "dist" / "graph-build.json"
    if table.is_file():
        data = json.loads(table.read_text())
        data["seconds"] = round(seconds, 1)
        (RESULTS / "graph-build.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"builder build --graph exited {code} after {seconds:.0f} s")
    return code


def backend_of(recipe: Path) -> str:
    """The build backend a recipe builds with (the first of BACKENDS among its pins)."""
    data = tomllib.loads(recipe.read_text())
    pins = {r["name"] for r in data.get("build", {}).get("requires", [])}
    return next((b for b in BACKENDS if b in pins), "other")


def table(work: Path) -> None:
    data = json.loads((RESULTS / "graph-build.json").read_text())
    graph = json.loads((work / "plan" / "graph.json").read_text())
    recipes = {n["name"] + "==" + n["version"]: work / "plan" / n["recipe"]
               for n in graph["nodes"] if n.get("recipe")}  # fmt: skip
    nodes = data["nodes"]
    here = [n for n in nodes if n["state"] not in ("exception", "image")]
    built = [n for n in here if n["state"] in ("built", "cached", "shared", "differs")]
    same = [n for n in built if n["reproducible"]]
    states = Counter(n["state"] for n in nodes)
    rows = []
    for n in nodes:
        kind = backend_of(recipes[n["node"]]) if n["node"] in recipes else ""
        result = "reproducible" if n["reproducible"] else n["state"]
        seconds = f"{n['seconds']:.0f} s" if n.get("seconds") is not None else ""
        rows.append(f"| {n['node']} | {kind} | {result} | {n.get('platform') or ''} | "
                    f"{(n.get('reason') or '').replace('|', '/')} | {seconds} |")  # fmt: skip
    text = [
        "# A real closure, built from source",
        "",
        "Generated by `python3 bench/closure.py table` from `python3 bench/closure.py build`",
        "(recipes/data-science: JupyterLab, scikit-learn, pandas, matplotlib).",
        "",
        f"Packages: {len(nodes)}; built here {len(built)} of {len(nodes)} "
        f"({100 * len(built) / max(len(nodes), 1):.0f}%); rebuilt bit for bit {len(same)} of "
        f"{len(built)} built; states: "
        + ", ".join(f"{s} {k}" for s, k in states.most_common())
        + ".",
        "",
        "| package | backend | result | platform | reason | time |",
        "| --- | --- | --- | --- | --- | ---: |",
        *rows,
    ]
    TABLE.write_text("\n".join(text) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "build", "table"):
        p = sub.add_parser(name)
        p.add_argument("--work", type=Path, default=REPO / "bench-work" / "closure")
        if name == "build":
            p.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "plan":
        plan(args.work)
        return 0
    if args.command == "build":
        return build(args.work, args.jobs)
    table(args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
