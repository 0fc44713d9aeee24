"""A real Dask cluster on 127.0.0.1: `dask scheduler` and two `dask worker` processes
started here, with distinct resources and a store each, and helpers that wait for what
the workers do (a build's sandbox appearing under a worker, going away)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from builder.images import Image
from builder.names import normalize
from builder.plan.graph import Graph, Node, write_graph
from builder.progress import Silent
from builder.sandbox.bwrap import link_rootfs, unpacked_rootfs
from builder.store import Store
from tests.container.conftest import IMAGE, PYPROJECT, local_recipe

WAIT_S = 120


@dataclass
class Cluster:
    address: str
    folder: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stores: dict[str, Store] = field(default_factory=dict)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def sandboxes(self, name: str) -> list[psutil.Process]:
        """The bubblewrap processes of the builds worker `name` runs now."""
        try:
            children = psutil.Process(self.workers[name].pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [p for p in children if _name(p) == "bwrap"]


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""


def wait_for(what: str, check, timeout: float = WAIT_S):  # type: ignore[no-untyped-def]
    """Poll `check` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def seed_store(store: Store, source: Store, image: Image, *, unpacked: bool = True) -> Store:
    """A store holding the image (and its tools), as an operator gives a worker or a new
    head: linked from the test run's store, so that no image is made twice, nor (unless
    `unpacked` is False) its root filesystem unpacked again (a gigabyte a store)."""
    for digest in (image.digest, *(t.sha256 for t in image.tools)):
        target = store.path_of(digest)
        if source.has(digest) and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source.path_of(digest), target)
    if unpacked:
        unpacked_rootfs(image, source, Silent())
        link_rootfs(image.digest, source, store)
    (store.root / "images").mkdir(parents=True, exist_ok=True)
    for meta in (source.root / "images").glob("*.json"):
        shutil.copyfile(meta, store.root / "images" / meta.name)
    return store


WORKERS = {  # distinct resources: each offers the sandbox backend, one has more CPUs
    "w1": "backend-sandbox=1000,cpus=2,memory-mib=8192",
    "w2": "backend-sandbox=1000,cpus=4,memory-mib=16384",
}


@pytest.fixture
def cluster(  # type: ignore[no-untyped-def]
    bubblewrap, image: Image, session_store: Store, tmp_path: Path
) -> Iterator[Cluster]:
    folder = tmp_path / "cluster"
    folder.mkdir()
    info = folder / "scheduler.json"
    processes = []

    def spawn(command: list[str], name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        processes.append(proc)
        return proc

    env = {k: v for k, v in os.environ.items() if k != "BUILDER_SIGNING_KEY"}
    dask = str(Path(sys.executable).parent / "dask")
    try:
        spawn([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(info)], "scheduler", env)  # fmt: skip
        wait_for("the scheduler", lambda: info.is_file() and info.stat().st_size > 0)
        address = json.loads(info.read_text())["address"]
        cluster = Cluster(address=address, folder=folder)
        for name, resources in WORKERS.items():
            store = seed_store(Store(tmp_path / f"store-{name}"), session_store, image)
            cluster.stores[name] = store
            cluster.workers[name] = spawn(
                [dask, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--resources", resources],
                name, env | {"BUILDER_WORKER_STORE": str(store.root)},
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=WAIT_S) as client:
            client.wait_for_workers(len(WORKERS), timeout=WAIT_S)
        yield cluster
    finally:
        for proc in reversed(processes):
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def graph_of(folder: Path, store: Store, builds: dict[str, str]) -> Path:
    """A graph of independent packages, each a tiny real sdist whose setup.py runs
    `builds[name]` (a sleep: a build long enough to act on; a raise: a failing one)."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = []
    for name, code in builds.items():
        files = {"pyproject.toml": PYPROJECT, "setup.py": f"{code}\n" + SETUP.format(name=name)}
        recipe = local_recipe(folder, store, name, files)
        nodes.append(Node(name=normalize(name), version="1.0", source="built", recipe=recipe.name))
    graph = Graph(
        image=IMAGE, requirements=tuple(builds), nodes=tuple(nodes), edges=(),
        order=tuple(sorted(n.id for n in nodes)),
    )  # fmt: skip
    write_graph(graph, folder / "graph.json")
    return folder / "graph.json"


SETUP = "from setuptools import setup\nsetup(name='{name}', version='1.0', py_modules=[])\n"
