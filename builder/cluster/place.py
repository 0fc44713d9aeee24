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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder import errors
from builder.build.run import BuiltWheel
from builder.cluster.job import BuildJob, JobFailure, JobOutput
from builder.cluster.worker import run_job
from builder.errors import BuilderError, ClusterError
from builder.fetch.sources import Sources
from builder.images import Image, ImageDefinition, find_definition
from builder.progress import Progress
from builder.recipe import Recipe
from builder.store import Store
from builder.variation import REFERENCE, Variation

if TYPE_CHECKING:
    from distributed import Client, Future


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
        self._objects: dict[str, Future[Any]] = {}
        self._running: set[Future[Any]] = set()

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
        if self._seed is not None:
            self._seed(image)
        resources = self._resources(job)
        workers = self._eligible(job, resources, avoid)
        objects = self._scatter(sources)
        key = f"build-{recipe.name}-{recipe.version}-{variation.index}-{uuid.uuid4().hex[:8]}"
        future = self._client.submit(
            run_job, job, objects, key=key, resources=resources, workers=workers,
            allow_other_workers=False, pure=False, retries=0,
        )  # fmt: skip
        with self._lock:
            self._running.add(future)
        try:
            output: JobOutput = self._wait(job, future)
        finally:
            with self._lock:
                self._running.discard(future)
        return self._checked(job, output)

    def _definition(self, recipe: Recipe) -> ImageDefinition:
        """The definition of the image the recipe builds in (its extra packages added)."""
        base = find_definition(recipe.image, self._image_search)
        return base.with_packages(recipe.extra_packages)

    def running(self) -> list[Future[Any]]:
        with self._lock:
            return list(self._running)

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

    def _scatter(self, sources: Sources) -> dict[str, Future[Any]]:
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

    def _wait(self, job: BuildJob, future: Future[Any]) -> JobOutput:
        from distributed.scheduler import KilledWorker

        self._progress.status(f"cluster: {job.title} submitted")
        try:
            output = future.result()
        except KilledWorker as exc:
            raise ClusterError(
                f"{job.title}: the workers running it died, again and again ({exc})",
                hint="the scheduler's distributed.scheduler.allowed-failures says how often "
                "a build is tried on another worker; the workers' logs say why they died",
            ) from exc
        assert isinstance(output, JobOutput)
        return output

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
    """The worker's error, as the class it was raised as."""
    kind = getattr(errors, failure.error, BuilderError)
    if not (isinstance(kind, type) and issubclass(kind, BuilderError)):
        kind = BuilderError
    return kind(failure.message, hint=failure.hint)


def _resources_text(info: dict[str, object]) -> str:
    resources = info.get("resources") or {}
    assert isinstance(resources, dict)
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "no resources"
