"""Where builds run: the executor interface a graph build uses, and the local one.

`start` a task, ask `capacity` (how many more may start now), `cancel` what is running
(Ctrl-C), `close` when done; `place` says where the task's isolated builds run. The local
executor runs up to N tasks in threads of this process, each building here; the cluster
executor (builder.cluster) runs each task's builds on Dask workers, so a graph is
scheduled the same way wherever its builds run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from builder.progress import Progress
from builder.store import Store
from builder.wheelbuild.place import BuildPlace

T = TypeVar("T")


class Executor(Protocol):
    def start(self, task: Callable[[], T]) -> Future[T]:
        """Run `task`; its result, or its exception, comes through the future."""

    def capacity(self) -> int:
        """How many more tasks may start now."""

    def cancel(self) -> None:
        """Stop: tasks not started never start, running ones are asked to stop."""

    def close(self) -> None:
        """Wait for running tasks to end and release the workers."""

    def place(self, store: Store, progress: Progress) -> BuildPlace | None:
        """Where the tasks' builds run; None: here, in the caller's sandbox."""


class TaskThreads:
    """Tasks in threads of this process, counted while they run."""

    def __init__(self, threads: int, name: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._running = 0
        self._lock = threading.Lock()

    def start(self, task: Callable[[], T]) -> Future[T]:
        with self._lock:
            self._running += 1
        future = self.pool.submit(task)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[T]) -> None:
        with self._lock:
            self._running -= 1

    @property
    def running(self) -> int:
        with self._lock:
            return self._running


class LocalExecutor:
    """Up to `jobs` builds at once, in threads of this process."""

    def __init__(self, jobs: int, on_cancel: Callable[[], None] | None = None) -> None:
        self.jobs = jobs
        self._tasks = TaskThreads(jobs, "build")
        self._on_cancel = on_cancel

    def start(self, task: Callable[[], T]) -> Future[T]:
        return self._tasks.start(task)

    def capacity(self) -> int:
        return self.jobs - self._tasks.running

    def cancel(self) -> None:
        self._tasks.pool.shutdown(wait=False, cancel_futures=True)
        if self._on_cancel is not None:
            self._on_cancel()

    def close(self) -> None:
        self._tasks.pool.shutdown(wait=True)

    def place(self, store: Store, progress: Progress) -> BuildPlace | None:
        return None
