"""A platform team's real closure (recipes/data-science), planned and built from source.

    python3 bench/closure.py plan [--work DIR]       # cold, then a no-change re-plan
    python3 bench/closure.py build [--work DIR] [--jobs N]   # resumable: built nodes are cache hits
    python3 bench/closure.py rerun                   # the same build again, nothing changed
    python3 bench/closure.py index                   # publish it: the index's size
    python3 bench/closure.py table                   # docs/closure.md from the results

`plan` times `builder plan` of the example twice in one run: the first asks the image
every question (an empty answers folder in the store: cold, images already made), the
second reads the answers it kept (warm, nothing changed); both figures and their ratio
go to bench/data/closure/plan.json. `build` runs `builder build --graph --rebuilds 1`
on that plan and keeps its table (bench/data/closure/graph-build.json); run it again
after a failure: what was built is a cache hit, and the kept table of the same plan
(graph.json's sha256) is resumed (graph-build-partial.json is the table of a run stopped
before its end, "complete": false, kept as measured). `table` writes
docs/closure.md: per package its backend, whether it was built here and rebuilt bit for
bit, and why not.

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

from builder.store import default_store_root, sha256_file

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EXAMPLE = REPO / "recipes" / "data-science"
RESULTS = BENCH / "data" / "closure"
TABLE = REPO / "docs" / "closure.md"
IMAGE = "trixie-backports-py"  # maturin and uv-build need a newer rustc than trixie's
# Most specific first: a meson-python or maturin build may pin setuptools too.
BACKENDS = ("meson-python", "scikit-build-core", "maturin", "hatchling", "flit-core",
            "poetry-core", "pdm-backend", "uv-build", "setuptools")  # fmt: skip


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


def plan(work: Path) -> dict[str, Any]:
    """Cold (no kept answer), then warm (every answer kept, nothing changed)."""
    shutil.rmtree(default_store_root() / "answers", ignore_errors=True)
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
        now = {**json.loads(table.read_text()), "plan_sha256": sha256_file(graph)}
        data = _resumed(now, RESULTS / "graph-build.json")
        data["seconds"] = round(seconds, 1) + data.get("seconds_before", 0)
        (RESULTS / "graph-build.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"builder build --graph exited {code} after {seconds:.0f} s")
    return code


def rerun(work: Path, jobs: int) -> dict[str, Any]:
    """The same graph build again with nothing changed: every node a cache hit whose
    recorded rebuilds are reused; its wall time to bench/data/closure/rerun.json."""
    code, seconds, out = builder("build", "--graph", str(work / "plan" / "graph.json"),
                                 "--jobs", str(jobs), "--rebuilds", "1", "--dist",
                                 str(work / "dist"), "--attestations",
                                 str(work / "attestations"), "--json")  # fmt: skip
    nodes = json.loads(out)["nodes"] if out.strip() else []
    result = {"seconds": round(seconds, 1), "exit": code, "nodes": len(nodes),
              "states": dict(Counter(n["state"] for n in nodes)),
              "measured": time.strftime("%Y-%m-%d")}  # fmt: skip
    (RESULTS / "rerun.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def index(work: Path) -> dict[str, Any]:
    """Publish the built wheels (verified under the example's policy) to a fresh index,
    with their images by digest; the index's size against its wheels' to
    bench/data/closure/index.json."""
    folder = work / "index"
    shutil.rmtree(folder, ignore_errors=True)
    wheels = sorted((work / "dist").glob("*.whl"))
    code, seconds, _ = builder("publish", *map(str, wheels), "--to", str(folder), "--policy",
                               str(EXAMPLE / "builder.toml"), "--attestations",
                               str(work / "attestations"))  # fmt: skip
    if code != 0:
        raise SystemExit(f"builder publish exited {code}")

    def size(paths: list[Path]) -> int:
        return sum(p.stat().st_size for p in paths if p.is_file())

    images = sorted((folder / "images").glob("*.tar.gz"))
    everything = [p for p in folder.rglob("*") if p.is_file()]
    allowed = 1.2 * size(wheels) + size(images)
    result: dict[str, Any] = {
        "wheels": len(wheels), "wheels_bytes": size(wheels),
        "image_archives": len(images), "image_archives_bytes": size(images),
        "index_bytes": size(everything), "publish_seconds": round(seconds, 1),
        "measured": time.strftime("%Y-%m-%d"),
    }  # fmt: skip
    result["index_over_allowed"] = round(size(everything) / allowed, 3)
    (RESULTS / "index.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def _resumed(now: dict[str, Any], kept: Path) -> dict[str, Any]:
    """This run's table, where a node that is a cache hit now keeps what the run that
    built it measured (its state and time): a resumed build's table is the whole build's.
    A table kept from another plan (another graph.json) is not resumed."""
    table = json.loads(kept.read_text()) if kept.is_file() else {}
    if table.get("plan_sha256") != now["plan_sha256"]:
        return now
    before = {n["node"]: n for n in table["nodes"]}
    nodes = []
    for node in now["nodes"]:
        earlier = before.get(node["node"], {})
        built = node["state"] == "cached" and earlier.get("state") == "built"
        nodes.append({**node, "state": "built", "seconds": earlier["seconds"]} if built else node)
    return {**now, "nodes": nodes, "seconds_before": table.get("seconds", 0)}


def backend_of(recipe: Path) -> str:
    """The build backend a recipe builds with (the first of BACKENDS among its pins)."""
    data = tomllib.loads(recipe.read_text())
    pins = {r["name"] for r in data.get("build", {}).get("requires", [])}
    return next((b for b in BACKENDS if b in pins), "other")


def table(work: Path) -> None:
    """docs/closure.md: the plan's figures, then the build's table (or that it has not
    run yet)."""
    graph = json.loads((work / "plan" / "graph.json").read_text())
    text = ["# A real closure, built from source", "",
            "Generated by `python3 bench/closure.py table` (recipes/data-science: JupyterLab,",
            "scikit-learn, pandas, matplotlib; planned for trixie-backports-py).", "",
            *_plan_lines(graph, work)]  # fmt: skip
    built = RESULTS / "graph-build.json"
    text += (
        _build_lines(graph, work, json.loads(built.read_text()))
        if built.is_file()
        else ["## The build", "", "Not run yet: `python3 bench/closure.py build` (resumable)."]
    )
    text += _partial_lines(graph)
    text += _measured_lines()
    TABLE.write_text("\n".join(text) + "\n")


def _partial_lines(graph: dict[str, Any]) -> list[str]:
    """A later run stopped before its end (graph-build-partial.json), said as measured:
    what ended, what was rebuilt bit for bit, what had not ended."""
    path = RESULTS / "graph-build-partial.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    to_build = [n["id"] for n in graph["nodes"] if n["source"] == "built"]
    ended = [n for n in data["nodes"] if n["state"] not in ("exception", "image")]
    built = [n for n in ended if n["state"] in ("built", "cached")]
    same = [n for n in built if n["reproducible"]]
    open_ = sorted(set(to_build) - {n["node"] for n in ended})
    said = (
        f"`bench/data/closure/graph-build-partial.json`: {len(ended)} of the {len(to_build)} "
        f"nodes to build ended, {len(built)} built, {len(same)} of them rebuilt bit for bit; "
        f"not ended: {', '.join(open_) or 'none'}. The table above is the last complete run."
    )
    return ["", "## A later run, stopped before its end", "", said]


def _measured_lines() -> list[str]:
    """The no-change rerun, the index's size, and the side by side with fromager, each
    where it was measured."""
    lines: list[str] = []
    if (RESULTS / "rerun.json").is_file():
        r = json.loads((RESULTS / "rerun.json").read_text())
        lines += ["", "## A rerun with nothing changed", "",
                  f"`python3 bench/closure.py rerun` (`build --graph --rebuilds 1` again): "
                  f"{r['seconds']:.0f} s for {r['nodes']} nodes, exit {r['exit']}; states: "
                  + ", ".join(f"{k} {v}" for k, v in r["states"].items())
                  + f". Measured {r['measured']}."]  # fmt: skip
    if (RESULTS / "index.json").is_file():
        i = json.loads((RESULTS / "index.json").read_text())
        mib = 1 << 20
        lines += ["", "## Published", "",
                  f"`python3 bench/closure.py index`: {i['wheels']} wheels "
                  f"({i['wheels_bytes'] / mib:.0f} MiB) verified under the example's policy "
                  f"and published with {i['image_archives']} image archive(s) "
                  f"({i['image_archives_bytes'] / mib:.0f} MiB, gzip); the index holds "
                  f"{i['index_bytes'] / mib:.0f} MiB, {i['index_over_allowed']:.2f} of 1.2 x "
                  f"its wheels plus its archives. Publishing took {i['publish_seconds']:.0f} s. "
                  f"Measured {i['measured']}."]  # fmt: skip
    lines += _fromager_lines()
    return lines


def _fromager_lines() -> list[str]:
    found = sorted((BENCH / "data" / "fromager").glob("*.json"))
    if not found:
        return []
    lines = ["", "## Beside fromager", "",
             "`python3 bench/fromager.py --requirements FILE` (fromager in a venv of the bench's "
             "own, on the host or, with `--in-image`, in builder's image; the same requirements, "
             "the same machine, one run):", "",
             "| requirements | tool | wall time to the wheels | built from source | "
             "same sha256 when built again | signed provenance |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for path in found:
        r = json.loads(path.read_text())
        f, b = r["fromager"], r["builder"]
        asked = " ".join(r["requirements"])
        lines += [
            f"| {asked} | {f['version']} ({f.get('ran_in', 'the host')}) | "
            f"{f['first_seconds']:.0f} s | {f['built']} | "
            f"{f['same_sha256_in_second_run']} (a second run) | 0 |",
            f"| {asked} | builder | {b['total_seconds']:.0f} s (plan {b['plan_seconds']:.0f} s) | "
            f"{b['built']} | {b['reproducible']} (`--rebuilds 1`, {b['rebuild_seconds']:.0f} s) | "
            f"{b['attested']} |",
        ]
    lines += ["", "What each records about its inputs: fromager, " + f["records"] + "; builder, "
              + b["records"] + "."]  # fmt: skip
    return lines


def _plan_lines(graph: dict[str, Any], work: Path) -> list[str]:
    sources = Counter(n["source"] for n in graph["nodes"])
    backends = Counter(backend_of(work / "plan" / n["recipe"]) for n in graph["nodes"]
                       if n.get("recipe"))  # fmt: skip
    lines = [
        "## The plan",
        "",
        f"{len(graph['nodes'])} packages: {sources['built']} built here, "
        f"{sources['exception']} exceptions, {sources['image']} Debian stand-ins. Their "
        "build backends: " + ", ".join(f"{b} {k}" for b, k in backends.most_common()) + ".",
        "",
    ]
    lines += [f"- {n['source']}: {n['name']} {n['version']}: {n['reason']}"
              for n in graph["nodes"] if n["source"] != "built"]  # fmt: skip
    timed = RESULTS / "plan.json"
    if timed.is_file():
        runs = json.loads(timed.read_text())
        lines += [
            "",
            "| run | questions asked | kept | wall time | per package |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [f"| {r['run']} | {r['asked']} | {r['kept']} | {r['seconds']:.0f} s | "
                  f"{r['per_package_s']:.2f} s |" for r in runs["runs"]]  # fmt: skip
        lines += [
            "",
            f"Measured {runs['measured']} on 2 cores; warm/cold "
            f"{runs['warm_over_cold']:.3f}. Cold: no answer kept (images made, sdists "
            "stored); warm: a re-plan with nothing changed.",
        ]
    return [*lines, ""]


def _build_lines(graph: dict[str, Any], work: Path, data: dict[str, Any]) -> list[str]:
    recipes = {n["name"] + "==" + n["version"]: work / "plan" / n["recipe"]
               for n in graph["nodes"] if n.get("recipe")}  # fmt: skip
    ended = {n["node"] for n in data["nodes"]}
    nodes = [*data["nodes"], *({"node": o, "state": "not run", "reproducible": None,
                                "reason": "the build was stopped before it"}
                               for o in graph["order"] if o not in ended)]  # fmt: skip
    python = _closure_python(nodes)
    causes = tomllib.loads((RESULTS / "causes.toml").read_text())
    nodes = [_for_python(n, python) for n in nodes]
    here = [n for n in nodes if n["state"] not in ("exception", "image")]
    built = [n for n in here if n["state"] in ("built", "cached", "shared", "differs")]
    same = [n for n in built if n["reproducible"]]
    states = Counter(n["state"] for n in nodes)
    rows = []
    for n in nodes:
        kind = backend_of(recipes[n["node"]]) if n["node"] in recipes else ""
        result = (
            "reproducible" if n["reproducible"] and n["state"] != "other python" else n["state"]
        )
        seconds = f"{n['seconds']:.0f} s" if n.get("seconds") is not None else ""
        said = causes.get(n["node"].split("==")[0])
        reason = f"{said['class']}: {said['cause']}" if said else n.get("reason") or ""
        reason = " ".join(reason.split())[:600].replace("|", "/")
        rows.append(f"| {n['node']} | {kind} | {result} | {n.get('platform') or ''} | "
                    f"{reason} | {seconds} |")  # fmt: skip
    return [
        "## The build",
        "",
        f"Packages: {len(nodes)}; built here {len(built)} of {len(nodes)} "
        f"({100 * len(built) / max(len(nodes), 1):.1f}%); rebuilt bit for bit {len(same)} of "
        f"{len(built)} built; states: "
        + ", ".join(f"{s} {k}" for s, k in states.most_common())
        + f". Wall time of the graph build (`--jobs 2 --rebuilds 1`, every node built twice) "
        f"over its runs: {data.get('seconds', 0) / 60:.0f} min on 2 cores, beside other work.",
        "",
        "| package | backend | result | platform | reason | time |",
        "| --- | --- | --- | --- | --- | ---: |",
        *rows,
    ]


def _python_tag(node: dict[str, Any]) -> tuple[int, bool] | None:
    """(CPython minor, abi3) of a node's compiled wheel; None for a pure one or none."""
    parts = Path(node.get("wheel") or "").name.split("-")
    if len(parts) < 5 or not parts[-3].startswith("cp3"):
        return None
    return int(parts[-3].removeprefix("cp3")), parts[-2] == "abi3"


def _closure_python(nodes: list[dict[str, Any]]) -> int | None:
    """The CPython minor the closure's version-specific wheels are for (the most common)."""
    tags = Counter(t[0] for n in nodes if (t := _python_tag(n)) is not None and not t[1])
    return tags.most_common(1)[0][0] if tags else None


def _for_python(node: dict[str, Any], python: int | None) -> dict[str, Any]:
    """A compiled wheel for another CPython (built in an override's image) is not one the
    closure's Python installs: not counted as built for it. An abi3 wheel for an older
    CPython is."""
    tag = _python_tag(node)
    if python is None or tag is None or tag[0] == python or (tag[1] and tag[0] <= python):
        return node
    return {**node, "state": "other python",
            "reason": f"built and rebuilt in its override's image, for cp3{tag[0]}: the "
            f"closure's Python (cp3{python}) cannot install it"}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "build", "rerun", "index", "table"):
        p = sub.add_parser(name)
        p.add_argument("--work", type=Path, default=REPO / "bench-work" / "closure")
        if name in ("build", "rerun"):
            p.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "plan":
        plan(args.work)
        return 0
    if args.command == "build":
        return build(args.work, args.jobs)
    if args.command == "rerun":
        return int(rerun(args.work, args.jobs)["exit"])
    if args.command == "index":
        index(args.work)
        return 0
    table(args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
