"""The executor interface (builder.executor) over a Dask distributed cluster.

A graph's node is a task of this process (fetch, check, sign: the head's work), which
hands its builds to the cluster's workers through a WorkerPlace. `capacity` is the
cluster's free worker threads; `cancel` (Ctrl-C) cancels every build the head submitted
and has every worker stop the builds it runs, so that no sandbox or container is left on
any worker; `close` disconnects (and stops a local cluster this process started).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from builder.cluster.local import LocalCluster
from builder.cluster.place import WorkerPlace
from builder.cluster.worker import cancel_builds
from builder.errors import ClusterError
from builder.executor import TaskThreads
from builder.progress import Progress
from builder.store import Store

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10  # Dask tries again until then: a scheduler still starting answers
HEAD_THREADS = 512  # nodes in flight at most: each waits on its builds, made on demand
THREADS_TTL_S = 1.0  # how long the cluster's thread count is taken as known


class ClusterExecutor:
    def __init__(
        self,
        address: str,
        *,
        backend: str,
        image_search: tuple[Path, ...] | None = None,
        local: LocalCluster | None = None,
    ) -> None:
        from distributed import Client

        try:
            self.client: Client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            if local is not None:
                local.stop()
            raise ClusterError(
                f"no Dask scheduler answers at {address}: {exc}",
                hint="start one with `dask scheduler`, or use --cluster local:N",
            ) from exc
        self._local = local
        self._backend = backend
        self._image_search = image_search
        self._tasks = TaskThreads(HEAD_THREADS, "node")
        self._places: list[WorkerPlace] = []
        self._threads = (0, -THREADS_TTL_S)  # (worker threads, when counted)

    def start(self, task: Callable[[], T]) -> Future[T]:
        return self._tasks.start(task)

    def capacity(self) -> int:
        """The cluster's worker threads (counted at most once a second: a graph asks for
        each node it could start) less the nodes in flight; at least one node may run,
        and waits for a worker, when none is connected yet."""
        count, when = self._threads
        if time.monotonic() - when > THREADS_TTL_S:
            workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
            count = sum(int(w.get("nthreads", 0)) for w in workers)
            self._threads = (count, time.monotonic())
        return min(max(count, 1), HEAD_THREADS) - self._tasks.running

    def place(self, store: Store, progress: Progress) -> WorkerPlace:
        seed = self._local.seed if self._local is not None else None
        place = WorkerPlace(
            self.client, store, progress, backend=self._backend,
            image_search=self._image_search, seed=seed,
        )  # fmt: skip
        self._places.append(place)
        return place

    def cancel(self) -> None:
        """Cancel every submitted build, then stop what the workers still run."""
        running = [f for place in self._places for f in place.cancel()]
        if running:
            self.client.cancel(running, force=True)
            self.client.run(cancel_builds, [f.key for f in running])
        self._tasks.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._tasks.pool.shutdown(wait=True)
        self.client.close()
        if self._local is not None:
            self._local.stop()


def open_cluster(address: str, *, store: Store, backend: str) -> ClusterExecutor:
    """The executor of a running scheduler (tcp://HOST:PORT), or of N workers started on
    this machine now (local:N)."""
    if address.startswith("local:"):
        local = LocalCluster(int(address.removeprefix("local:")), store, backend)
        return ClusterExecutor(local.address, backend=backend, local=local)
    return ClusterExecutor(address, backend=backend)
