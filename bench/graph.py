"""A graph build against the sum of its single builds, with --jobs 1 and --jobs 2, and a
no-change rerun, on the tiny real stack of the tests (tests/fixtures/stack.py).

Plans the stack (served over HTTP on 127.0.0.1), builds it once to warm the store (inputs
fetched, venvs prepared), then, alternately, drops every build record and builds the
whole graph again with --jobs 1 and with --jobs 2: the wall time of each against the sum
of the builds' own times (the sandbox runs, from each record), so that the share of time
spent outside builds (scheduling, keys, staging, export) shows. Last, a rerun with nothing
changed: every node a cache hit.

    python3 bench/graph.py [--rounds 3] [--store DIR]
"""

from __future__ import annotations

import argparse
import functools
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

from builder.build.record import BuildRecord  # noqa: E402
from builder.executor import LocalExecutor  # noqa: E402
from builder.fetch.sources import fetch_pinned  # noqa: E402
from builder.gate.check import Gate, GatePolicy  # noqa: E402
from builder.images import ensure_image, find_definition  # noqa: E402
from builder.index import Index  # noqa: E402
from builder.names import normalize  # noqa: E402
from builder.pipeline import build_graphs  # noqa: E402
from builder.plan.closure import GRAPH_FILE, plan_closure  # noqa: E402
from builder.plan.policy import PlanPolicy  # noqa: E402
from builder.progress import Silent  # noqa: E402
from builder.sandbox.bwrap import BwrapSandbox  # noqa: E402
from builder.store import Store, default_store_root  # noqa: E402
from tests.fixtures.stack import make_stack_index  # noqa: E402


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: Path) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/simple/"


def forget_builds(store: Store) -> None:
    """Every build record and what the store says it built: the next graph builds all."""
    for record in (store.root / "builds").glob("*.json"):
        record.unlink()
    for entry in (store.root / "built").rglob("*.json"):
        entry.unlink()


def timed_graph(graph: Path, store: Store, sandbox: BwrapSandbox, jobs: int) -> tuple[float, float]:
    """(wall seconds, sum of the builds' own seconds) of one whole graph build."""
    started = time.monotonic()
    outcomes = build_graphs(
        [graph], store=store, dist=Path(tempfile.mkdtemp()), sandbox_factory=lambda: sandbox,
        progress=Silent(), executor=LocalExecutor(jobs),
    )  # fmt: skip
    wall = time.monotonic() - started
    builds = 0.0
    for outcome in outcomes:
        assert outcome.state in ("built", "cached"), outcome
        for record_file in (store.root / "builds").glob("*.json"):
            record = BuildRecord.from_json(__import__("json").loads(record_file.read_text()))
            if record.output.sha256 == outcome.sha256:
                builds += record.durations_s["build"]
                break
    return wall, builds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    store = Store(args.store or default_store_root())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
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
        plan_closure(
            [Requirement("acmestack-app")], images=[image], store=store, index=Index(),
            sandbox=sandbox, progress=Silent(), gate=Gate(GatePolicy()), policy=policy,
            out=root / "plan",
        )  # fmt: skip
        planning = time.monotonic() - started
        graph = root / "plan" / GRAPH_FILE
        timed_graph(graph, store, sandbox, 1)  # warm: inputs and venvs in the store
        results: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for jobs in (1, 2):
                forget_builds(store)
                results[jobs].append(timed_graph(graph, store, sandbox, jobs))
        started = time.monotonic()
        timed_graph(graph, store, sandbox, 2)
        rerun = time.monotonic() - started
    print(f"planning the stack (7 packages, 6 built here): {planning:.1f} s")
    one = statistics.median(w for w, _ in results[1])
    builds = statistics.median(b for _, b in results[1])
    two = statistics.median(w for w, _ in results[2])
    print(
        f"graph build, --jobs 1: {one:.2f} s; its builds' own time {builds:.2f} s; "
        f"outside builds {100 * (one - builds) / one:.1f}%"
    )
    print(f"graph build, --jobs 2: {two:.2f} s; ratio to --jobs 1: {two / one:.2f}")
    print(f"no-change rerun (every node a cache hit): {rerun:.2f} s")


if __name__ == "__main__":
    main()
