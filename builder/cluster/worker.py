"""What a cluster worker runs: one isolated build, in the worker's own store and sandbox.

The worker is a plain `dask worker` process started with this machine's builder
installed and `BUILDER_WORKER_STORE` naming its store (`builder worker` starts one with
the resources below). It never holds a signing key, never signs, and trusts nothing it is
sent without its digest: the inputs land in its store checked against their sha256, the
image is the one of the job's digest (made here from its definition when missing, and
refused if it comes out different), and the build runs in the same sandbox or docker
backend, under the same limits, as a build on the head's machine.

Resources a worker advertises (Dask worker resources; a build asks for its recipe's):
`cpus`, `memory-mib`, and `backend-sandbox` / `backend-docker` for the backends that run
there (a large count: a capability, not a quantity).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from dataclasses import replace
from pathlib import Path

import platformdirs

from builder.cluster.job import BuildJob, JobFailure, JobOutput
from builder.errors import BuilderError, BuildFailed, ImageError, SandboxUnavailable
from builder.images import Image, ensure_image
from builder.names import Sha256
from builder.progress import NodeState
from builder.sandbox import Sandbox
from builder.store import Store
from builder.wheelbuild.run import BuiltWheel, WorkerInfo, run_build

STORE_VARIABLE = "BUILDER_WORKER_STORE"
BACKEND_VARIABLE = "BUILDER_WORKER_BACKEND"
CAPABILITY = 1000  # a backend resource's count: any number of builds may ask for it
_log = logging.getLogger("builder.worker")


def _log_to_worker_output() -> None:
    """The worker's log (stderr, as Dask's own lines) says what each build does."""
    if not _log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
        )
        _log.addHandler(handler)
        _log.setLevel(logging.INFO)
        _log.propagate = False


class _WorkerProgress:
    """The build's phases into the worker's log; its output lines stay in its store."""

    def status(self, text: str) -> None:
        _log.info(text)

    def log(self, line: str) -> None:
        pass

    def node(self, node: str, image: str, state: NodeState) -> None:
        _log.info("%s (%s): %s", node, image, state)


class _Runs:
    """The builds this worker process runs, by task key, each in a sandbox of its own, so
    that the head can stop exactly its own (cancel_builds), even one not started yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sandboxes: dict[str, Sandbox] = {}
        self._cancelled: set[str] = set()

    def open(self, key: str, backend: str) -> Sandbox:
        sandbox = open_backend(backend)
        sandbox.reap()  # what the builds of a worker killed on this machine left
        with self._lock:
            if key in self._cancelled:
                self._cancelled.discard(key)
                raise BuildFailed(f"build {key} was cancelled by the head before it started")
            self._sandboxes[key] = sandbox
        return sandbox

    def close(self, key: str) -> None:
        with self._lock:
            self._sandboxes.pop(key, None)
            self._cancelled.discard(key)

    def cancel(self, keys: list[str]) -> int:
        with self._lock:
            self._cancelled |= set(keys)
            sandboxes = [self._sandboxes[k] for k in keys if k in self._sandboxes]
        for sandbox in sandboxes:
            sandbox.cancel()
        return len(sandboxes)


_RUNS = _Runs()


def worker_store() -> Store:
    root = os.environ.get(STORE_VARIABLE) or platformdirs.user_cache_dir("builder-worker")
    return Store(Path(root))


def open_backend(name: str) -> Sandbox:
    """`sandbox` (bubblewrap), `docker`, or `auto`: the sandbox where it runs, else docker."""
    from builder.sandbox.bwrap import BwrapSandbox
    from builder.sandbox.docker import DockerSandbox

    if name == "auto":
        name = os.environ.get(BACKEND_VARIABLE, "auto")
    if name == "docker":
        return DockerSandbox()
    if name == "sandbox":
        return BwrapSandbox()
    try:
        return BwrapSandbox()
    except SandboxUnavailable:
        return DockerSandbox()


def available_backends() -> list[str]:
    """The backends that can run on this machine (the resources a worker advertises)."""
    found = []
    for name in ("sandbox", "docker"):
        try:
            open_backend(name)
        except SandboxUnavailable:
            continue
        found.append(name)
    return found


def worker_resources(backends: list[str]) -> dict[str, float]:
    import psutil

    resources: dict[str, float] = {
        "cpus": float(os.cpu_count() or 1),
        "memory-mib": float(psutil.virtual_memory().total >> 20),
    }
    resources |= {f"backend-{name}": float(CAPABILITY) for name in backends}
    return resources


def worker_command(
    scheduler: str, *, name: str, nthreads: int, resources: dict[str, float], nanny: bool
) -> list[str]:
    """The `dask worker` command line of one builder worker."""
    spec = ",".join(f"{k}={v:g}" for k, v in sorted(resources.items()))
    command = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--name", name,
               "--nthreads", str(nthreads), "--resources", spec, "--no-dashboard"]  # fmt: skip
    return command if nanny else [*command, "--no-nanny"]


def run_job(job: BuildJob, objects: dict[Sha256, bytes]) -> JobOutput:
    """One build, on this worker: inputs into its store (each checked against its
    digest), the image, the sandbox, the build; the wheel and log go back as bytes."""
    _log_to_worker_output()
    key = _current_task()
    try:
        store = worker_store()
        for digest, data in objects.items():
            if not store.has(digest):
                store.add_stream([data], expected=digest, what=f"input {digest[:16]}")
        image = _image(job, store)
        sandbox = _RUNS.open(key, job.backend)
        try:
            sandbox.prepare(image, store, _WorkerProgress())
            built = run_build(
                job.recipe, image, job.sources, store=store, sandbox=sandbox,
                progress=_WorkerProgress(), variation=job.variation,
            )  # fmt: skip
        finally:
            _RUNS.close(key)
    except BuilderError as exc:
        failure = JobFailure(
            error=type(exc).__name__, message=exc.message, hint=exc.hint, worker=_here()
        )
        return JobOutput(built=None, failure=failure)
    return JobOutput(
        built=_naming_this_worker(built),
        wheel=store.verified_path(built.sha256, built.file).read_bytes(),
        log=store.path_of(built.log_sha256).read_bytes(),
    )


def cancel_builds(keys: list[str]) -> int:
    """Stop these builds (by task key) on this worker, and keep them from starting: the
    head that submitted them was interrupted. Other heads' builds run on."""
    return _RUNS.cancel(keys)


def _image(job: BuildJob, store: Store) -> Image:
    """The job's image: in this store by its digest, or made here from its definition
    (the same Debian packages give the same digest; other packages are refused)."""
    if store.has(job.image.digest):
        return job.image
    made = ensure_image(job.definition, store, _WorkerProgress())
    if made.digest != job.image.digest:
        raise ImageError(
            f"worker {_here().name} made image {job.image.name} with digest "
            f"{made.digest[:12]}; the head builds in {job.image.digest[:12]}",
            hint="the workers' Debian packages differ from the head's: make the image from "
            "the same mirror snapshot, or copy the head's image into the worker's store",
        )
    return job.image


def _naming_this_worker(built: BuiltWheel) -> BuiltWheel:
    """The build's run record, naming this worker."""
    return replace(built, run=replace(built.run, worker=_here()))


def _current_task() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().get_current_task())
    except ValueError:  # run outside a worker (a test calling run_job directly)
        return f"local-{threading.get_ident()}"


def _here() -> WorkerInfo:
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # run outside a worker (a test calling run_job directly)
        return WorkerInfo(name="local", address="", host=socket.gethostname())
    return WorkerInfo(name=str(worker.name), address=worker.address, host=socket.gethostname())
