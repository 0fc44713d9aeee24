"""builder worker SCHEDULER: a Dask worker that runs builder's builds (docs/cluster.md).

It advertises what this machine offers (cpus, memory, the backends that run here) as
Dask worker resources, keeps its inputs, images and wheels in a store of its own, and
holds no signing key: the head that submits builds checks and signs.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from builder.cli.common import Subcommands, add_backend_option, positive_int, store_path
from builder.cli.output import err_console
from builder.errors import ClusterError, SandboxUnavailable


def register(sub: Subcommands) -> None:
    p = sub.add_parser("worker", help="run a cluster worker for `builder build --cluster`")
    p.add_argument("scheduler", type=scheduler_address,
                   help="the Dask scheduler's address, tcp://HOST:PORT")  # fmt: skip
    p.add_argument("--name", default=socket.gethostname(), help="(default: the host name)")
    p.add_argument(
        "--store", type=store_path, default=None,
        help="the worker's store (default: $BUILDER_WORKER_STORE or the user cache directory)",
    )  # fmt: skip
    p.add_argument("--nthreads", type=positive_int, default=1, metavar="N",
                   help="builds at once on this worker (default: 1)")  # fmt: skip
    add_backend_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from builder.cluster.local import worker_environment
    from builder.cluster.worker import (
        available_backends,
        worker_command,
        worker_resources,
        worker_store,
    )

    _reachable(args.scheduler)
    backends = available_backends()
    if args.backend != "auto":
        backends = [b for b in backends if b == args.backend]
    if not backends:
        raise SandboxUnavailable(
            f"worker {args.name}: no isolation backend runs here "
            f"({'any' if args.backend == 'auto' else args.backend})",
            hint="a worker builds in bubblewrap (apt-get install bubblewrap) or docker",
        )
    store = args.store or worker_store().root
    resources = worker_resources(backends)
    command = worker_command(
        args.scheduler, name=args.name, nthreads=args.nthreads, resources=resources, nanny=True
    )
    err_console().print(
        f"worker {args.name}: store {store}, offers "
        + ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items()))
    )
    os.execvpe(command[0], command, worker_environment(Path(store), args.backend))


def scheduler_address(value: str) -> str:
    """tcp://HOST:PORT (or tls://), as a Dask worker takes it."""
    scheme, sep, rest = value.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or scheme not in ("tcp", "tls") or not colon or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"not a scheduler address (tcp://HOST:PORT): {value!r}")
    return value


def _reachable(address: str) -> None:
    """Say now, in one line, when nothing answers at the scheduler's address."""
    host, _, port = address.partition("://")[2].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise ClusterError(
            f"worker: the scheduler at {address} does not answer: {exc.strerror or exc}",
            hint="start it first (`builder build --graph G --cluster` prints its address, "
            "or `dask scheduler`); docs/cluster.md",
        ) from exc
