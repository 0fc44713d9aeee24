"""--cluster local:N: builder starts a scheduler and N workers on this machine, builds on
them, and stops them; nothing of the cluster outlives the run."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from builder.cli import main
from builder.store import Store
from tests.conftest import json_output
from tests.container.cluster.conftest import graph_of, seed_store


def _cluster_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if any("distributed.cli" in part for part in process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    return found


def test_a_local_cluster_builds_a_graph_and_is_gone_after_the_run(  # type: ignore[no-untyped-def]
    bubblewrap, session_store: Store, image, tmp_path: Path, capsys
) -> None:
    head = seed_store(Store(tmp_path / "head-store"), session_store, image, unpacked=False)
    graph = graph_of(tmp_path / "graph", head, {"one": "", "two": ""})
    argv = ["build", "--graph", str(graph), "-q", "--store", str(head.root), "--json",
            "--dist", str(tmp_path / "dist"), "--attestations", str(tmp_path / "att"),
            "--backend", "sandbox", "--cluster", "local:2"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    nodes = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    assert [n["state"] for n in nodes] == ["built", "built"]
    workers = sorted(p for p in (head.root / "cluster").glob("worker-*") if p.is_dir())
    assert [p.name for p in workers] == ["worker-0", "worker-1"]
    python = Path("rootfs", image.digest, "usr", "bin", "python3")
    shared = {(store / python).stat().st_ino for store in (head.root, *workers)}
    assert len(shared) == 1, "the head unpacked the image once; its workers' are links"
    assert (
        "building one 1.0"
        in (head.root / "cluster" / "worker-0.log").read_text()
        + (head.root / "cluster" / "worker-1.log").read_text()
    )
    assert _cluster_processes() == []
