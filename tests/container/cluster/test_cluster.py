"""builder build --graph on a real Dask cluster: a scheduler and two worker processes
on 127.0.0.1 (tests/container/cluster/conftest.py), the sandbox backend on each worker,
this process as the head that fetches, checks and signs."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from builder.cli import main
from builder.provenance.bundle import read_bundle
from builder.store import Store
from tests.conftest import json_output
from tests.container.cluster.conftest import WAIT_S, Cluster, graph_of, seed_store, wait_for


def _plan(stack: Path, store: Store) -> Path:
    argv = ["plan", str(stack / "requirements.txt"), "--out", str(stack / "plan"), "-q",
            "--policy", str(stack / "builder.toml"), "--store", str(store.root),
            "--overrides", str(stack / "overrides"), "--backend", "sandbox"]  # fmt: skip
    assert main(argv) == 0
    return stack / "plan" / "graph.json"


def _build(graph: Path, store: Store, out: Path, *extra: str) -> list[str]:
    return ["build", "--graph", str(graph), "-q", "--store", str(store.root),
            "--dist", str(out / "dist"), "--attestations", str(out / "att"),
            "--backend", "sandbox", "--json", *extra]  # fmt: skip


def _statement(folder: Path, wheel: str) -> dict:  # type: ignore[type-arg]
    (bundle,) = folder.glob(f"{wheel.split('-', maxsplit=1)[0]}-*.intoto.jsonl")
    return json.loads(base64.b64decode(read_bundle(bundle)[0]["payload"]))  # type: ignore[no-any-return]


def test_a_graph_built_on_the_cluster_gives_the_local_build_s_wheels_and_names_its_workers(  # type: ignore[no-untyped-def]
    stack: Path, cluster: Cluster, session_store: Store, image, tmp_path: Path, capsys
) -> None:
    graph = _plan(stack, session_store)
    head = seed_store(Store(tmp_path / "head-store"), session_store, image)
    argv = _build(graph, head, tmp_path / "cluster-run", "--cluster", cluster.address,
                  "--rebuilds", "1", "--rebuild-on", "other-worker")  # fmt: skip
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 10, err  # acmestack-tool records its build path: it differs, as locally
    nodes = {n["node"]: n for n in json_output(out, "build-graph")["nodes"]}
    assert nodes.pop("acmestack-binary==1.0")["state"] == "exception"
    assert nodes.pop("acmestack-tool==1.0")["state"] == "differs"
    assert {n["state"] for n in nodes.values()} == {"built"}

    assert main(_build(graph, session_store, tmp_path / "local-run", "--jobs", "2")) == 0
    local_run = json_output(capsys.readouterr().out, "build-graph")
    local = {n["node"]: n["sha256"] for n in local_run["nodes"] if n["sha256"]}
    assert {k: n["sha256"] for k, n in nodes.items()} == {k: local[k] for k in nodes}

    for node in nodes.values():
        wheel = Path(node["wheel"]).name
        provenance = _statement(tmp_path / "cluster-run" / "att", wheel)["predicate"]
        worker = provenance["buildDefinition"]["internalParameters"]["worker"]
        assert worker["name"] in ("w1", "w2") and worker["address"].startswith("tcp://127.0.0.1:")
        report_path = tmp_path / "cluster-run" / "dist" / f"{wheel}.rebuild.json"
        report = json.loads(report_path.read_text())
        (rebuilt,) = report["rebuilds"]
        assert rebuilt["worker"]["name"] != report["reference"]["worker"]["name"]
        assert rebuilt["sha256"] == report["reference"]["sha256"]
    assert "signing-key" not in cluster.log("w1") + cluster.log("w2")

    report = tmp_path / "report"
    run = tmp_path / "cluster-run"
    argv = ["report", "--output", str(report), "--dist", str(run / "dist"),
            "--attestations", str(run / "att"), "--json"]  # fmt: skip
    assert main(argv) == 0
    wheels = json_output(capsys.readouterr().out, "report")["wheels"]
    for entry in wheels:  # the report says which workers built and rebuilt each wheel
        workers = [b["worker"].split(" ")[0] for b in entry["builds"]]
        assert len(workers) == 2 and set(workers) == {"w1", "w2"}, entry["builds"]
    assert "w1 (" in next(report.glob("*/*.html")).read_text() + (report / "index.html").read_text()


def _head(graph: Path, store: Store, out: Path, address: str) -> subprocess.Popen[str]:
    """`builder build --graph --cluster` as its own process: the head, to interrupt."""
    argv = _build(graph, store, out, "--cluster", address)
    return subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "builder", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _ended(head: subprocess.Popen[str]) -> tuple[str, str]:
    """The head's output once it exits; if it does not, every thread's stack (SIGABRT:
    faulthandler) in the failure, to say where it hangs."""
    try:
        return head.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        head.send_signal(signal.SIGABRT)
        _, err = head.communicate(timeout=30)
        raise AssertionError(f"the head did not exit in {WAIT_S} s; its threads:\n{err}") from None


def test_a_worker_killed_mid_build_is_replaced_and_nothing_half_written_enters_the_store(  # type: ignore[no-untyped-def]
    cluster: Cluster, session_store: Store, image, tmp_path: Path
) -> None:
    head_store = seed_store(Store(tmp_path / "head-store"), session_store, image)
    graph = graph_of(tmp_path / "graph", head_store, {"slowpoke": "import time; time.sleep(6)"})
    head = _head(graph, head_store, tmp_path / "run", cluster.address)
    victim = wait_for("a build on a worker", lambda: next(
        (name for name in cluster.workers if cluster.sandboxes(name)), None))  # fmt: skip
    sandboxes = cluster.sandboxes(victim)
    cluster.workers[victim].kill()
    out, err = _ended(head)
    assert head.returncode == 0, err
    (node,) = json_output(out, "build-graph")["nodes"]
    assert node["state"] == "built"
    provenance = _statement(tmp_path / "run" / "att", Path(node["wheel"]).name)["predicate"]
    (survivor,) = set(cluster.workers) - {victim}
    assert provenance["buildDefinition"]["internalParameters"]["worker"]["name"] == survivor
    wait_for("the killed worker's sandboxes to end", lambda: not any(_alive(p) for p in sandboxes))
    check = head_store.verify()
    assert check.ok and check.objects > 0
    assert not list((head_store.root / "tmp").iterdir()), "no half-written object is left"


def test_ctrl_c_on_the_head_stops_the_builds_on_every_worker(  # type: ignore[no-untyped-def]
    cluster: Cluster, session_store: Store, image, tmp_path: Path
) -> None:
    head_store = seed_store(Store(tmp_path / "head-store"), session_store, image)
    sleep = "import time; time.sleep(120)"
    graph = graph_of(tmp_path / "graph", head_store, {"sleepy-a": sleep, "sleepy-b": sleep})
    head = _head(graph, head_store, tmp_path / "run", cluster.address)
    wait_for("a build on each worker", lambda: all(cluster.sandboxes(n) for n in cluster.workers))
    head.send_signal(signal.SIGINT)
    _, err = _ended(head)
    assert head.returncode == 130, err

    def stopped() -> bool:
        return not any(cluster.sandboxes(name) for name in cluster.workers)

    wait_for("every worker's builds to stop", stopped, timeout=30)
    assert all(w.poll() is None for w in cluster.workers.values()), "the workers stay up"
    assert not list((tmp_path / "run" / "dist").glob("*.whl"))


def test_a_build_that_fails_for_its_own_reasons_is_not_retried(  # type: ignore[no-untyped-def]
    cluster: Cluster, session_store: Store, image, tmp_path: Path, capsys
) -> None:
    head_store = seed_store(Store(tmp_path / "head-store"), session_store, image)
    graph = graph_of(tmp_path / "graph", head_store, {"broken": "raise SystemExit('no way')"})
    assert main(_build(graph, head_store, tmp_path / "run", "--cluster", cluster.address)) == 8
    (node,) = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    assert node["state"] == "failed" and "build of broken 1.0" in node["reason"]
    assert "on worker w" in node["reason"]  # where its log is
    logs = cluster.log("w1") + cluster.log("w2")
    assert logs.count("building broken 1.0 in sandbox") == 1


def test_a_build_no_worker_can_take_is_refused_at_once_naming_what_the_workers_offer(  # type: ignore[no-untyped-def]
    cluster: Cluster, session_store: Store, image, tmp_path: Path, capsys
) -> None:
    head_store = seed_store(Store(tmp_path / "head-store"), session_store, image)
    graph = graph_of(tmp_path / "graph", head_store, {"greedy": ""})
    recipe = tmp_path / "graph" / "greedy.toml"
    recipe.write_text(recipe.read_text() + "\n[limits]\nmemory_mib = 65536\n")
    assert main(_build(graph, head_store, tmp_path / "run", "--cluster", cluster.address)) == 8
    (node,) = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    assert node["state"] == "failed"
    assert (
        "no worker of the cluster offers" in node["reason"] and "memory-mib=65536" in node["reason"]
    )
    assert "w2: backend-sandbox=1000, cpus=4, memory-mib=16384" in node["reason"]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
