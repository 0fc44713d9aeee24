"""Options shared by several commands, and the objects they select."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from builder.cli.output import err_console
from builder.errors import SandboxUnavailable
from builder.sandbox import Sandbox
from builder.store import Store, default_store_root

BACKENDS = ("docker", "sandbox", "auto")


def add_store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        type=Path,
        default=None,
        help="content-addressed store (default: $BUILDER_STORE or the user cache directory)",
    )


def add_backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", choices=BACKENDS, default="auto",
        help="isolation: docker, sandbox (bubblewrap, no daemon) or auto (docker when a "
        "daemon answers, else the sandbox; default)",
    )  # fmt: skip


def open_store(args: argparse.Namespace) -> Store:
    return Store(args.store or default_store_root())


def sandbox_factory(backend: str) -> Callable[[], Sandbox]:
    """A factory, so that a cache hit never connects to the backend at all."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")

    def make() -> Sandbox:
        from builder.sandbox.bwrap import BwrapSandbox
        from builder.sandbox.docker import DockerSandbox

        if backend == "docker":
            return DockerSandbox()
        if backend == "sandbox":
            return BwrapSandbox()
        try:
            sandbox: Sandbox = DockerSandbox()
        except SandboxUnavailable as exc:
            sandbox = BwrapSandbox()
            err_console().print(f"backend: sandbox (auto: {exc.message})")
        else:
            err_console().print("backend: docker (auto: the daemon answers)")
        return sandbox

    return make
