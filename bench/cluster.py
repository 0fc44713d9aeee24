"""A graph of 12 small C extensions built three ways, and a model of a large cluster.

1. Measured, on this machine: the graph with --jobs 1 and --jobs 2 (local executor), and
   on a local Dask cluster of 2 workers (`--cluster local:2`, one build at a time each),
   each from a store that has every input and no build of the graph (the builds are
   forgotten between runs). For the cluster: its start-up, and the scheduling overhead per
   build: the head's round trip (submit -> checked wheel in its store) less the build's
   own time on the worker (its sandbox run), and the head's own work per build (hashing
   and storing the wheel, signing the provenance).
2. Modelled: 1,000 builds over 50 workers (a random layered graph, build times drawn
   from a log-normal distribution like an ML stack's, the head's per-build work and the
   transfer time measured or stated below): the wall time against its lower bounds, the
   critical path, the work divided among the workers, the head's serial work, and the
   transfers, to see which one bounds it.

    python3 bench/cluster.py [--store DIR] [--skip-measure]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.graph import forget_builds  # noqa: E402
from builder.cluster.executor import open_cluster  # noqa: E402
from builder.executor import Executor, LocalExecutor  # noqa: E402
from builder.fetch.sources import fetch_pinned  # noqa: E402
from builder.images import ensure_image, find_definition  # noqa: E402
from builder.index import Index  # noqa: E402
from builder.names import normalize  # noqa: E402
from builder.pipeline.graph import build_graphs  # noqa: E402
from builder.pipeline.request import Signing, Workspace  # noqa: E402
from builder.plan.graph import Graph, Node, write_graph  # noqa: E402
from builder.progress import Progress, Silent  # noqa: E402
from builder.provenance.bundle import attest  # noqa: E402
from builder.provenance.signing import load_signer, new_key  # noqa: E402
from builder.recipe import load_recipe  # noqa: E402
from builder.sandbox.bwrap import BwrapSandbox  # noqa: E402
from builder.store import Store, default_store_root  # noqa: E402
from builder.wheelbuild.place import BuildPlace  # noqa: E402
from builder.wheelbuild.record import BuildRecord  # noqa: E402
from builder.wheelbuild.run import BuiltWheel  # noqa: E402
from tests.conftest import make_sdist  # noqa: E402

PACKAGES = 12
SETUPTOOLS = load_recipe(REPO / "recipes" / "markupsafe.toml").requires


def c_package(name: str) -> dict[str, str]:
    return {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
        'build-backend = "setuptools.build_meta"\n',
        "setup.py": "from setuptools import Extension, setup\n"
        f"setup(name='{name}', version='1.0', ext_modules=[Extension('{name}', ['{name}.c'])])\n",
        f"{name}.c": "#include <Python.h>\n"
        f'static struct PyModuleDef d = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, NULL}};\n'
        f"PyMODINIT_FUNC PyInit_{name}(void) {{ return PyModule_Create(&d); }}\n",
    }


def make_graph(folder: Path, store: Store) -> Path:
    """12 independent C extensions, each a recipe of a real sdist placed in the store."""
    nodes = []
    requires = "".join(
        f'[[build.requires]]\nname = "{r.name}"\nversion = "{r.version}"\n'
        f'file = "{r.file}"\nsha256 = "{r.sha256}"\n'
        for r in SETUPTOOLS
    )
    for i in range(PACKAGES):
        name = f"cbench{i:02}"
        sdist = make_sdist(folder / f"{name}-1.0.tar.gz", c_package(name), top=f"{name}-1.0")
        recipe = folder / f"{name}.toml"
        recipe.write_text(
            f'[package]\nname = "{name}"\nversion = "1.0"\n\n'
            f'[sdist]\nfile = "{sdist.name}"\nsha256 = "{store.add_file(sdist)}"\n\n'
            f'[build]\nimage = "trixie-py"\n\n{requires}'
        )
        nodes.append(Node(name=normalize(name), version="1.0", source="built", recipe=recipe.name))
    graph = Graph(image="trixie-py", requirements=tuple(n.name for n in nodes),
                  nodes=tuple(nodes), edges=(), order=tuple(n.id for n in nodes))  # fmt: skip
    write_graph(graph, folder / "graph.json")
    return folder / "graph.json"


@dataclass
class Timings:
    round_trips: list[float]
    builds: list[float]


class TimedExecutor:
    """An executor whose place's builds are timed: (round trip, the build's own time)."""

    def __init__(self, inner: Executor, timings: Timings) -> None:
        self.inner, self.timings = inner, timings
        self.start, self.capacity = inner.start, inner.capacity
        self.cancel, self.close = inner.cancel, inner.close

    def place(self, store: Store, progress: Progress) -> BuildPlace | None:
        place = self.inner.place(store, progress)
        assert place is not None
        inner, timings = place, self.timings

        class Timed:
            def build(self, *args: object, **kwargs: object) -> BuiltWheel:
                started = time.monotonic()
                built = inner.build(*args, **kwargs)  # type: ignore[arg-type]
                timings.round_trips.append(time.monotonic() - started)
                timings.builds.append(built.duration_s)
                return built

        return Timed()


def run(graph: Path, store: Store, sandbox: BwrapSandbox, executor: Executor,
        signing: Signing) -> float:  # fmt: skip
    forget_builds(store, graph)
    started = time.monotonic()
    where = Workspace(store=store, progress=Silent(), sandbox_factory=lambda: sandbox,
                      dist=Path(tempfile.mkdtemp()), signing=signing)  # fmt: skip
    outcomes = build_graphs([graph], workspace=where, executor=executor)
    assert all(o.state == "built" for o in outcomes), outcomes
    return time.monotonic() - started


def head_work(store: Store, signing: Signing) -> float:
    """Seconds of the head's own work for one wheel: hash, store, sign (no build)."""
    record_file = next((store.root / "builds").glob("*.json"))
    record = BuildRecord.from_json(json.loads(record_file.read_text()))
    wheel = store.verified_path(record.output.sha256, record.output.wheel)
    started = time.monotonic()
    for _ in range(20):
        store.add_stream([wheel.read_bytes()], expected=None, what="bench")
        attest(wheel, record, None, signer=signing.signer, folder=Path(tempfile.mkdtemp()))
    return (time.monotonic() - started) / 20


def measure(store: Store) -> float:
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    image = ensure_image(find_definition("trixie-py"), store, Silent())
    for tool in image.tools:
        fetch_pinned(tool, store, Index(), Silent())
    sandbox = BwrapSandbox()
    sandbox.prepare(image, store, Silent())
    key = folder / "key.pem"
    new_key(key)
    signing = Signing(signer=load_signer(key), folder=folder / "att")
    graph = make_graph(folder, store)
    one, two = LocalExecutor(1), LocalExecutor(2)
    run(graph, store, sandbox, two, signing)  # warm: venvs in the store
    jobs1 = run(graph, store, sandbox, one, signing)
    jobs2 = run(graph, store, sandbox, two, signing)
    one.close()
    two.close()
    started = time.monotonic()
    cluster = open_cluster("local:2", store=store, backend="sandbox")
    cluster.client.wait_for_workers(2)
    startup = time.monotonic() - started
    timings = Timings([], [])
    try:
        run(graph, store, sandbox, cluster, signing)  # warm: the workers' venvs
        on_cluster = run(graph, store, sandbox, TimedExecutor(cluster, timings), signing)
    finally:
        cluster.close()
    overheads = [r - b for r, b in zip(timings.round_trips, timings.builds, strict=True)]
    head = head_work(store, signing)
    print(f"{PACKAGES} C extensions, independent; every input in the store, no build of them")
    print(f"  --jobs 1:          {jobs1:6.1f} s  (ratio 1.00)")
    print(f"  --jobs 2:          {jobs2:6.1f} s  (ratio {jobs2 / jobs1:.2f} of --jobs 1)")
    print(
        f"  --cluster local:2: {on_cluster:6.1f} s  (ratio {on_cluster / jobs1:.2f} of --jobs 1, "
        f"{on_cluster / jobs2:.2f} of --jobs 2); start-up of the cluster {startup:.1f} s"
    )
    print(
        f"  scheduling overhead per build (round trip - the build's own time): median "
        f"{statistics.median(overheads):.3f} s, max {max(overheads):.3f} s; the builds' own "
        f"time: median {statistics.median(timings.builds):.2f} s"
    )
    print(f"  the head's own work per wheel (hash, store, sign): {1000 * head:.1f} ms")
    return head


def model(builds: int, workers: int, head_s: float, transfer_s: float, seed: int = 1) -> None:
    """An event simulation: a random layered graph (each build needs up to 3 builds of the
    layer before), build times log-normal (median 40 s, a long tail: numpy- and
    maturin-like builds of 10+ minutes), each build first moves its inputs (transfer_s),
    and one head checks and signs each wheel in turn (head_s) before its dependents may
    start. Ready builds start in graph order on free workers, as Dask does by priority."""
    rng = random.Random(seed)
    layer = [min(11, int(rng.expovariate(0.35))) for _ in range(builds)]
    needs = {i: {j for j in rng.sample(range(builds), 40) if layer[j] == layer[i] - 1}
             for i in range(builds)}  # fmt: skip
    needs = {i: set(sorted(n)[:3]) for i, n in needs.items()}
    duration = [rng.lognormvariate(3.7, 1.1) for _ in range(builds)]
    waiting = {i: set(n) for i, n in needs.items()}
    dependents: dict[int, list[int]] = {i: [] for i in range(builds)}
    for i, n in needs.items():
        for j in n:
            dependents[j].append(i)
    ready = sorted(i for i in range(builds) if not waiting[i])
    events: list[tuple[float, int, int]] = []  # (time, 0 built / 1 signed, build)
    idle, now, head_free, done = workers, 0.0, 0.0, 0
    while done < builds:
        while ready and idle:
            i = ready.pop(0)
            idle -= 1
            heapq.heappush(events, (now + transfer_s + duration[i], 0, i))
        now, kind, i = heapq.heappop(events)
        if kind == 0:  # built: the worker is free, the head checks and signs in turn
            idle += 1
            head_free = max(now, head_free) + head_s
            heapq.heappush(events, (head_free, 1, i))
            continue
        done += 1
        for k in dependents[i]:
            waiting[k].discard(i)
            if not waiting[k]:
                ready.append(k)
        ready.sort()
    critical: dict[int, float] = {}
    for i in sorted(range(builds), key=lambda i: layer[i]):
        longest = max((critical[j] for j in needs[i]), default=0.0)
        critical[i] = longest + transfer_s + duration[i] + head_s
    bounds = {
        "critical path (dependency chain)": max(critical.values()),
        "work / workers": sum(d + transfer_s for d in duration) / workers,
        "head's serial check+sign": builds * head_s,
    }
    print(
        f"model: {builds} builds over {workers} workers (head {1000 * head_s:.0f} ms per "
        f"wheel, transfer {transfer_s:.1f} s per build): wall {now / 60:.1f} min"
    )
    for name, value in sorted(bounds.items(), key=lambda kv: -kv[1]):
        print(f"  bound {name}: {value / 60:.1f} min ({100 * value / now:.0f}% of wall)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--skip-measure", action="store_true",
                        help="only the model, with a head cost of 20 ms per wheel")  # fmt: skip
    args = parser.parse_args()
    head = 0.02
    if not args.skip_measure:
        head = measure(Store(args.store or default_store_root()))
    # Transfer: a median build's inputs and wheel, ~50 MiB, over 1 Gbit/s: ~0.4 s.
    model(1000, 10, head, transfer_s=0.4)
    model(1000, 50, head, transfer_s=0.4)
    model(1000, 200, head, transfer_s=0.4)
    model(1000, 50, head, transfer_s=20.0)  # inputs over a slow link: 1 GiB at 400 Mbit/s


if __name__ == "__main__":
    main()
