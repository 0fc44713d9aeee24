"""builder build --graph on a real Dask cluster: a scheduler and two worker processes
on 127.0.0.1 (tests/container/cluster/conftest.py), the sandbox backend on each worker,
this process as the head that fetches, checks and signs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from builder.cli import main
from builder.provenance.bundle import read_bundle
from builder.store import Store
from tests.conftest import json_output
from tests.container.cluster.conftest import Cluster, seed_store


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
    assert nodes.pop("acmestack-tool==1.0")["state"] == "differs"
    assert {n["state"] for n in nodes.values()} == {"built"}

    assert main(_build(graph, session_store, tmp_path / "local-run", "--jobs", "2")) == 0
    local_run = json_output(capsys.readouterr().out, "build-graph")
    local = {n["node"]: n["sha256"] for n in local_run["nodes"]}
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
