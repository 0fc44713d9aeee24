"""A graph build against the sum of its single builds, with --jobs 1 and --jobs 2, and a
no-change rerun: on the tiny real stack of the tests (tests/fixtures/stack.py), or with
--graph on a plan made by `builder plan` (the ML stack of the README).

The tiny stack is planned (served over HTTP on 127.0.0.1) and built once to warm the store
(inputs fetched, venvs prepared); a --graph plan must have been built once already. Then,
alternately, the graph's own build records are dropped and the whole graph is built again
with each --jobs: the wall time of each against the sum of the builds' own times (the
sandbox runs, from each record), so that the share of time spent outside builds
(scheduling, keys, staging, export) shows. Last, a rerun with nothing changed: every node a
cache hit.

    python3 bench/graph.py [--rounds 3] [--store DIR]
    python3 bench/graph.py --graph stack/graph.json --jobs 1 --rounds 1
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from packaging.requirements import Requirement  # noqa: E402

from builder.executor import LocalExecutor  # noqa: E402
from builder.fetch.sources import fetch_pinned  # noqa: E402
from builder.gate.check import Gate  # noqa: E402
from builder.gate.policy import GatePolicy  # noqa: E402
from builder.images import ensure_image, find_definition  # noqa: E402
from builder.index import Index  # noqa: E402
from builder.names import normalize  # noqa: E402
from builder.pipeline.graph import build_graphs  # noqa: E402
from builder.pipeline.request import Workspace  # noqa: E402
from builder.plan.closure import GRAPH_FILE, Planner, plan_closure  # noqa: E402
from builder.plan.graph import read_graph  # noqa: E402
from builder.plan.policy import PlanPolicy  # noqa: E402
from builder.progress import Silent  # noqa: E402
from builder.sandbox.bwrap import BwrapSandbox  # noqa: E402
from builder.store import Store, default_store_root  # noqa: E402
from builder.wheelbuild.record import BuildRecord  # noqa: E402
from tests.fixtures.stack import make_stack_index  # noqa: E402


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: Path) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/simple/"


def forget_builds(store: Store, graph: Path) -> None:
    """The graph's nodes' build records and what the store says it built for them (and
    nothing else of the store): the next graph build builds every node."""
    for node in read_graph(graph).nodes:
        for entry in (store.root / "built").glob(f"*/{node.name}/{node.version}.json"):
            key = json.loads(entry.read_text())["build_key"]
            (store.root / "builds" / f"{key}.json").unlink(missing_ok=True)
            entry.unlink()


def timed_graph(graph: Path, store: Store, sandbox: BwrapSandbox, jobs: int) -> tuple[float, float]:
    """(wall seconds, sum of the builds' own seconds) of one whole graph build."""
    started = time.monotonic()
    executor = LocalExecutor(jobs)
    try:
        where = Workspace(store=store, progress=Silent(), sandbox_factory=lambda: sandbox,
                          dist=Path(tempfile.mkdtemp()))  # fmt: skip
        outcomes = build_graphs([graph], workspace=where, executor=executor)
    finally:
        executor.close()
    wall = time.monotonic() - started
    builds = 0.0
    for outcome in outcomes:
        assert outcome.state in ("built", "cached"), outcome
        for record_file in (store.root / "builds").glob("*.json"):
            record = BuildRecord.from_json(json.loads(record_file.read_text()))
            if record.output.sha256 == outcome.sha256:
                builds += record.durations_s["build"]
                break
    return wall, builds


def plan_tiny_stack(store: Store, root: Path) -> tuple[Path, BwrapSandbox, float]:
    """The tests' tiny stack served on 127.0.0.1, planned: (graph, sandbox, seconds)."""
    make_stack_index(root / "index")
    image = ensure_image(find_definition("trixie-py"), store, Silent())
    for tool in image.tools:  # from the configured index, before it is the stack's
        fetch_pinned(tool, store, Index(), Silent())
    os.environ["BUILDER_INDEX_URL"] = serve(root / "index")
    sandbox = BwrapSandbox()
    sandbox.prepare(image, store, Silent())
    started = time.monotonic()
    policy = PlanPolicy(
        bootstrap=(normalize("acmestack-loop-a"),),
        exceptions={normalize("acmestack-binary"): "wheels only"},
    )
    planner = Planner(store=store, index=Index(), sandbox=sandbox, progress=Silent(),
                      gate=Gate(GatePolicy()), policy=policy)  # fmt: skip
    plan_closure([Requirement("acmestack-app")], images=[image], planner=planner,
                 out=root / "plan")  # fmt: skip
    return root / "plan" / GRAPH_FILE, sandbox, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--graph", type=Path, help="a plan's graph.json, built once already")
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and 2")
    args = parser.parse_args()
    store = Store(args.store or default_store_root())
    jobs_list = args.jobs or [1, 2]
    with tempfile.TemporaryDirectory() as tmp:
        if args.graph is None:
            graph, sandbox, planning = plan_tiny_stack(store, Path(tmp))
            print(f"planning the stack (7 packages, 6 built here): {planning:.1f} s")
            timed_graph(graph, store, sandbox, 1)  # warm: inputs and venvs in the store
        else:
            graph, sandbox = args.graph, BwrapSandbox()
            image = ensure_image(find_definition(read_graph(graph).image), store, Silent())
            sandbox.prepare(image, store, Silent())
        results: dict[int, list[tuple[float, float]]] = {jobs: [] for jobs in jobs_list}
        for _ in range(args.rounds):
            for jobs in jobs_list:
                forget_builds(store, graph)
                results[jobs].append(timed_graph(graph, store, sandbox, jobs))
        started = time.monotonic()
        timed_graph(graph, store, sandbox, max(jobs_list))
        rerun = time.monotonic() - started
        nodes = len(read_graph(graph).order)
    for jobs in jobs_list:
        wall = statistics.median(w for w, _ in results[jobs])
        builds = statistics.median(b for _, b in results[jobs])
        line = (
            f"graph build of {nodes} nodes, --jobs {jobs}: {wall:.2f} s; the builds' own time "
            f"{builds:.2f} s (ratio {wall / builds:.2f})"
        )
        if jobs == 1:  # one build at a time: what is not a build's own time is overhead
            line += f"; outside builds {100 * max(wall - builds, 0) / wall:.1f}%"
        print(line)
    print(f"no-change rerun (every node a cache hit): {rerun:.2f} s")


if __name__ == "__main__":
    main()
