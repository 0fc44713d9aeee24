"""`--cluster local:N`: a Dask scheduler and N builder workers as processes of this
machine, on 127.0.0.1, each worker with a store of its own under the head's store
(`<store>/cluster/worker-I`), into which the head links the images it made and their
unpacked root filesystems (workers on another machine make theirs, or are given them);
their logs are `<store>/cluster/*.log`, kept after the run. Stopped with the run; started
in their own session, so that Ctrl-C reaches the head alone and the head stops them in
order.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from builder.cluster.worker import (
    BACKEND_VARIABLE,
    STORE_VARIABLE,
    available_backends,
    worker_command,
    worker_resources,
)
from builder.errors import ClusterError
from builder.images import Image
from builder.progress import Silent
from builder.sandbox.bwrap import link_rootfs, unpacked_rootfs
from builder.store import Store

START_TIMEOUT_S = 60
# What a worker must never see: the head's signing key (nor any other key it names).
_HEAD_ONLY = ("BUILDER_SIGNING_KEY",)


def worker_environment(store: Path, backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _HEAD_ONLY}
    return env | {STORE_VARIABLE: str(store), BACKEND_VARIABLE: backend}


class LocalCluster:
    def __init__(self, workers: int, store: Store, backend: str) -> None:
        self._folder = store.root / "cluster"
        self._folder.mkdir(parents=True, exist_ok=True)
        self.stores = [Store(store.root / "cluster" / f"worker-{i}") for i in range(workers)]
        self._head_store = store
        self._seeding = threading.Lock()
        self._seeded: set[str] = set()
        self._processes: list[subprocess.Popen[bytes]] = []
        backends = available_backends()
        # Workers that build in the sandbox share one unpacked root filesystem: the head's.
        self._sandboxed = backend in ("auto", "sandbox") and "sandbox" in backends
        try:
            self.address = self._start_scheduler()
            resources = worker_resources(backends)
            for i, worker_store in enumerate(self.stores):
                command = worker_command(
                    self.address, name=f"worker-{i}", nthreads=1, resources=resources, nanny=True
                )
                self._spawn(command, f"worker-{i}", worker_environment(worker_store.root, backend))
        except BaseException:
            self.stop()
            raise

    def _spawn(self, command: list[str], name: str, env: dict[str, str]) -> None:
        log = (self._folder / f"{name}.log").open("wb")
        self._processes.append(
            subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        )

    def _start_scheduler(self) -> str:
        info = self._folder / f"scheduler-{os.getpid()}.json"
        info.unlink(missing_ok=True)
        command = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                   "--port", "0", "--no-dashboard", "--scheduler-file", str(info)]  # fmt: skip
        self._spawn(command, "scheduler", dict(os.environ))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
                return str(json.loads(info.read_text(encoding="utf-8"))["address"])
            if self._processes[0].poll() is not None:
                break
            time.sleep(0.1)
        log = (self._folder / "scheduler.log").read_text(errors="replace")[-2000:]
        raise ClusterError(f"the local Dask scheduler did not start:\n{log}")

    def seed(self, image: Image) -> None:
        """The head's image into each worker's store, once: a hard link, else a copy (the
        graph's builds ask at once, from threads of their own); and its unpacked root
        filesystem, unpacked by the head once, as hard links: one copy on disk, not N."""
        with self._seeding:
            if image.digest in self._seeded:
                return
            source = self._head_store.verified_path(image.digest, f"image {image.name}")
            if self._sandboxed:
                unpacked_rootfs(image, self._head_store, Silent())
            for worker_store in self.stores:
                if not worker_store.has(image.digest):
                    _link_or_copy(source, worker_store.path_of(image.digest))
                link_rootfs(image.digest, self._head_store, worker_store)
            self._seeded.add(image.digest)

    def stop(self) -> None:
        """Workers first, then the scheduler; each asked, then killed if it lingers."""
        for proc in reversed(self._processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._processes):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._processes.clear()
        (self._folder / f"scheduler-{os.getpid()}.json").unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)
