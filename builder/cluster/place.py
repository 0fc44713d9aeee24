"""The head's side of one build on a cluster worker.

Out: the job (recipe, image and inputs by digest) and the inputs' bytes, each scattered
once per run by content and moved by Dask to the workers that need them. Back: the wheel's
bytes, which enter this store only if their sha256 is the one the worker recorded, and the
log. A worker that dies under a build: Dask runs the build again on another worker (up to
the scheduler's `allowed-failures`); a build that fails for its own reasons is not retried.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from distributed import Client, Future
from distributed.scheduler import KilledWorker

from builder import errors
from builder.cluster.job import BuildJob, JobFailure, JobOutput
from builder.cluster.worker import run_job
from builder.errors import BuilderError, ClusterError
from builder.fetch.sources import Sources
from builder.images import Image, ImageDefinition, find_definition
from builder.names import Sha256
from builder.progress import Progress
from builder.recipe import Recipe
from builder.store import Store
from builder.variation import REFERENCE, Variation
from builder.wheelbuild.run import BuiltWheel

ATTEMPTS = 3  # submissions of one build whose worker, or whose inputs' worker, was lost


class WorkerPlace:
    """Builds on the workers of a Dask cluster. A worker that lacks a build's image makes
    it from the recipe's image definition (found in `image_search`); `seed` puts an image
    into a local worker's store (a local cluster's, which shares this machine's disk)."""

    def __init__(
        self,
        client: Client,
        store: Store,
        progress: Progress,
        *,
        backend: str,
        image_search: tuple[Path, ...] | None = None,
        seed: Callable[[Image], None] | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._progress = progress
        self._backend = backend
        self._image_search = image_search
        self._seed = seed
        self._lock = threading.Lock()
        self._objects: dict[Sha256, Future[Any]] = {}
        self._running: set[Future[Any]] = set()
        self._cancelled = False

    def build(
        self,
        recipe: Recipe,
        image: Image,
        sources: Sources,
        *,
        variation: Variation = REFERENCE,
        avoid: tuple[str, ...] = (),
    ) -> BuiltWheel:
        job = BuildJob(
            recipe=recipe, image=image, definition=self._definition(recipe), sources=sources,
            variation=variation, backend=self._backend,
        )  # fmt: skip
        if self._cancelled:
            raise ClusterError(f"{job.title}: not submitted: the run was cancelled")
        if self._seed is not None:
            self._seed(image)
        return self._checked(job, self._run_until_done(job, avoid))

    def _run_until_done(self, job: BuildJob, avoid: tuple[str, ...]) -> JobOutput:
        """The job's output; submitted again, up to ATTEMPTS times, when its worker or a
        worker holding its inputs is lost (Dask moves a build whose worker dies itself,
        but not one whose scattered inputs died with a worker)."""
        attempt = 1
        while True:
            resources = self._resources(job)
            try:
                return self._run(job, resources, self._eligible(job, resources, avoid))
            except (KilledWorker, CancelledError) as exc:
                if self._cancelled:
                    raise
                why = f"{self._forget_lost_objects()} of its inputs were lost with a worker"
                if isinstance(exc, KilledWorker):
                    why = f"the workers running it died ({exc})"
                if attempt == ATTEMPTS:
                    raise ClusterError(
                        f"{job.title}: {why}, {ATTEMPTS} times",
                        hint="the workers' logs say why they died; the scheduler's "
                        "distributed.scheduler.allowed-failures says how often Dask itself "
                        "moves a build whose worker died",
                    ) from exc
                self._progress.status(f"cluster: {job.title}: {why}; submitted again")
                attempt += 1

    def _definition(self, recipe: Recipe) -> ImageDefinition:
        """The definition of the image the recipe builds in (its extra packages added)."""
        base = find_definition(recipe.image, self._image_search)
        return base.with_packages(recipe.extra_packages)

    def cancel(self) -> list[Future[Any]]:
        """Submit nothing more; the builds submitted and not done, to cancel."""
        with self._lock:
            self._cancelled = True
            return list(self._running)

    def _run(
        self, job: BuildJob, resources: dict[str, float], workers: list[str] | None
    ) -> JobOutput:
        """Submit the job with its inputs (scattered again if a lost worker held them)."""
        objects = self._scatter(job.sources)
        key = f"build-{job.recipe.name}-{job.recipe.version}-{job.variation.index}-"
        future = self._client.submit(
            run_job, job, objects, key=key + uuid.uuid4().hex[:8], resources=resources,
            workers=workers, allow_other_workers=False, pure=False, retries=0,
        )  # fmt: skip
        with self._lock:
            self._running.add(future)
            if self._cancelled:  # cancelled while this one was on its way
                future.cancel()
        try:
            self._progress.status(f"cluster: {job.title} submitted")
            output = future.result()
        finally:
            with self._lock:
                self._running.discard(future)
        assert isinstance(output, JobOutput)
        return output

    def _forget_lost_objects(self) -> int:
        """Inputs whose only copy was on a worker that died: scattered again next time."""
        with self._lock:
            lost = [d for d, f in self._objects.items() if f.status != "finished"]
            for digest in lost:
                del self._objects[digest]
        return len(lost)

    def _resources(self, job: BuildJob) -> dict[str, float]:
        limits = job.recipe.limits
        needs = {"cpus": float(limits.cpus), "memory-mib": float(limits.memory_mib)}
        if job.backend != "auto":
            needs[f"backend-{job.backend}"] = 1.0
        return needs

    def _eligible(
        self, job: BuildJob, needs: dict[str, float], avoid: tuple[str, ...]
    ) -> list[str] | None:
        """The workers that may run the job; said now, not left pending, when none can."""
        workers = self._client.scheduler_info(n_workers=-1)["workers"]
        offering = {
            address: info for address, info in workers.items()
            if all(info.get("resources", {}).get(k, 0) >= v for k, v in needs.items())
        }  # fmt: skip
        wanted = ", ".join(f"{k}={v:g}" for k, v in sorted(needs.items()))
        if not offering:
            offered = (
                "; ".join(
                    f"{info.get('name')}: {_resources_text(info)}" for info in workers.values()
                )
                or "no worker is connected"
            )
            raise ClusterError(
                f"{job.title}: no worker of the cluster offers {wanted} ({offered})",
                hint="start workers with `builder worker` (it advertises their cpus, memory "
                "and backends), or lower the recipe's [limits]",
            )
        if not avoid:
            return None
        others = sorted(set(offering) - set(avoid))
        if not others:
            raise ClusterError(
                f"{job.title}: --rebuild-on other-worker needs a worker other than "
                f"{', '.join(avoid)} that offers {wanted}",
                hint="start a second worker, or rebuild on any worker (--rebuild-on any)",
            )
        return others

    def _scatter(self, sources: Sources) -> dict[Sha256, Future[Any]]:
        """Every input's bytes, scattered once per run (the key is the content's)."""
        wanted = {f.sha256 for f in sources.staged_files()}
        with self._lock:
            missing = sorted(wanted - set(self._objects))
        for digest in missing:
            data = self._store.verified_path(digest, f"input {digest[:16]}").read_bytes()
            future = self._client.scatter(data, hash=True)
            with self._lock:
                self._objects.setdefault(digest, future)
        with self._lock:
            return {digest: self._objects[digest] for digest in sorted(wanted)}

    def _checked(self, job: BuildJob, output: JobOutput) -> BuiltWheel:
        """The worker's wheel, into this store only if its bytes are the recorded ones."""
        if output.failure is not None:
            raise _error(output.failure)
        built = output.built
        assert built is not None and built.run.worker is not None
        worker = built.run.worker
        actual = hashlib.sha256(output.wheel).hexdigest()
        if actual != built.sha256:
            raise ClusterError(
                f"{job.title}: worker {worker.name} ({worker.address}) sent a wheel whose "
                f"sha256 is {actual}, and recorded {built.sha256}",
                hint="nothing entered the store; the worker or the network is faulty",
            )
        self._store.add_stream([output.wheel], expected=built.sha256, what=built.file)
        self._store.add_stream([output.log], expected=built.log_sha256, what="build log")
        self._progress.status(f"cluster: {job.title} built on {worker.name}: {built.sha256[:16]}")
        return built


def _error(failure: JobFailure) -> BuilderError:
    """The worker's error, as the class it was raised as, saying where (its log is there)."""
    kind = getattr(errors, failure.error, BuilderError)
    if not (isinstance(kind, type) and issubclass(kind, BuilderError)):
        kind = BuilderError
    where = f"on worker {failure.worker.name} ({failure.worker.host})"
    return kind(failure.message, hint=f"{where}: {failure.hint}" if failure.hint else where)


def _resources_text(info: dict[str, object]) -> str:
    resources = info.get("resources") or {}
    assert isinstance(resources, dict)
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "no resources"
