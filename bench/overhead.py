"""Hermetic build time against a plain `pip wheel --no-build-isolation` of the same sdist
with the same build deps, measured in the same run.

Two plain baselines, because the compilers differ: the host's (here a rustup toolchain,
built with PGO, about twice as fast at compiling Rust as Debian's build of rustc) and the
image's own (the same Debian compilers and Python the hermetic build uses, run straight from
the image's unpacked root filesystem: no limits, no fresh venv, no repair, network on).
hermetic / plain-image is what builder's isolation costs; hermetic / plain-host adds the
choice of toolchain. Every side is warm: the image, the store and the build venvs for the
hermetic side, a venv made before timing and cargo's crate cache filled by a first,
untimed build for the plain ones.

    python3 bench/overhead.py [--backend docker|sandbox ...] [--repeat N] [recipe ...]

Prints medians of seconds and of per-round ratios (rounds interleave every side).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from builder.errors import SandboxUnavailable
from builder.fetch.sources import host_ca_bundle
from builder.images import ensure_image, find_definition
from builder.inside.archive import single_top_dir, unpack
from builder.pipeline.build import build
from builder.pipeline.request import BuildRequest, Workspace
from builder.progress import Silent
from builder.recipe import Recipe, load_recipe
from builder.sandbox import Sandbox
from builder.sandbox.bwrap import BwrapSandbox, unpacked_rootfs
from builder.sandbox.docker import DockerSandbox
from builder.store import Store, default_store_root

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"markupsafe": 1.25, "safetensors": 1.10}
BACKENDS: dict[str, Callable[[], Sandbox]] = {"docker": DockerSandbox, "sandbox": BwrapSandbox}


def hermetic_build(recipe: Path, store: Store, backend: str) -> Callable[[], float]:
    """A timer of fresh (forced) builds; the first, untimed, warms the backend (the image
    imported) and the store (the build venvs)."""

    def once() -> float:
        started = time.monotonic()
        where = Workspace(store=store, progress=Silent(), sandbox_factory=BACKENDS[backend],
                          dist=Path(tempfile.mkdtemp()))  # fmt: skip
        build(BuildRequest(recipe=load_recipe(recipe), force=True), where)
        return time.monotonic() - started

    once()
    return once


Wrap = Callable[[Path], list[str]]  # the command prefix that runs in a toolchain


def host(work: Path) -> list[str]:
    return []


class PlainBuild:
    """`pip wheel --no-deps --no-build-isolation` of the sdist in a venv holding the
    recipe's pinned build deps, run with some toolchain."""

    def __init__(self, recipe: Recipe, store: Store, work: Path, wrap: Wrap) -> None:
        self.recipe, self.store, self.work, self.wrap = recipe, store, work, wrap(work)
        self.venv = work / "venv"
        python = str(self.venv / "bin" / "python")
        self.pip = [python, "-m", "pip", "-q", "--disable-pip-version-check"]
        rustup = Path.home() / ".cargo" / "bin"  # the host's toolchain, where it is rustup's
        self.env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin:{rustup}",
            "HOME": str(work / "home"),
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
            "CARGO_HOME": str(work / "cargo-home"),
            "LC_ALL": "C.UTF-8",
        }
        (work / "home").mkdir()
        for pin in recipe.requires:
            shutil.copyfile(store.path_of(pin.sha256), work / pin.file)

    def run(self, *argv: str) -> None:
        subprocess.run(
            [*self.wrap, *argv], check=True, env=self.env, stdout=subprocess.DEVNULL, cwd=self.work
        )

    def prepare(self) -> None:
        self.run("python3", "-m", "venv", str(self.venv))
        wheels = [str(self.work / pin.file) for pin in self.recipe.requires]
        self.run(*self.pip, "install", "--no-index", "--no-deps", *wheels)

    def seconds(self, tag: str) -> float:
        src = self.work / f"src-{tag}"
        unpack(self.store.path_of(self.recipe.sdist.sha256), src)
        top = single_top_dir(src, Path(self.recipe.sdist.file))
        started = time.monotonic()
        out = self.work / f"wheels-{tag}"
        self.run(*self.pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(top))
        return time.monotonic() - started


def plain_build(recipe: Recipe, store: Store, wrap: Wrap, stack: ExitStack) -> Callable[[], float]:
    """A timer of plain builds in one warm venv; the first, untimed, fills cargo's cache."""
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-plain-")))
    plain = PlainBuild(recipe, store, work, wrap)
    plain.prepare()
    plain.seconds("warm")
    rounds = itertools.count()
    return lambda: plain.seconds(f"timed-{next(rounds)}")


def image_toolchain(recipe: Recipe, store: Store) -> Wrap:
    """Run a command on the image's root filesystem, otherwise as on the host: the work
    folder bound at the same path, the host's network, no limits."""
    image = ensure_image(find_definition(recipe.image), store, Silent())
    rootfs = unpacked_rootfs(image, store, Silent())
    bundle = host_ca_bundle()  # cargo fetches the crates in the warm-up build
    ca = "/tmp/host-ca.crt"  # on the tmpfs: the image's /etc is read-only here
    variables = ("CARGO_HTTP_CAINFO", "SSL_CERT_FILE", "PIP_CERT")
    trusted = ["--ro-bind", str(bundle), ca] if bundle else []
    trusted += [a for v in variables for a in ("--setenv", v, ca)] if bundle else []

    def wrap(work: Path) -> list[str]:
        return [
            "bwrap", "--ro-bind", str(rootfs), "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--bind", str(work), str(work),
            "--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf", *trusted,
        ]  # fmt: skip

    return wrap


def measure(name: str, store: Store, backends: list[str], repeat: int) -> None:
    """Rounds of one build each way, interleaved, so that a machine whose speed drifts
    (a shared VM) slows both sides of a ratio alike; medians of the per-round ratios."""
    path = REPO / "recipes" / f"{name}.toml"
    recipe = load_recipe(path)
    with ExitStack() as stack:
        timers = {
            "image": plain_build(recipe, store, image_toolchain(recipe, store), stack),
            "host": plain_build(recipe, store, host, stack),
        }
        for backend in backends:
            try:
                timers[backend] = hermetic_build(path, store, backend)
            except SandboxUnavailable as exc:
                print(f"{name:<13}{backend:<9} unavailable: {exc.message}")
        seconds: dict[str, list[float]] = {side: [] for side in timers}
        for _ in range(repeat):
            for side, timer in timers.items():
                seconds[side].append(timer())
    for backend in (b for b in backends if b in seconds):
        mine = seconds[backend]
        vs_image = statistics.median(h / p for h, p in zip(mine, seconds["image"], strict=True))
        vs_host = statistics.median(h / p for h, p in zip(mine, seconds["host"], strict=True))
        print(
            f"{name:<13}{backend:<9}{statistics.median(mine):>11.2f}"
            f"{statistics.median(seconds['image']):>9.2f}{vs_image:>7.2f}"
            f"{statistics.median(seconds['host']):>8.2f}{vs_host:>7.2f}"
            f"{TARGETS.get(name, ''):>8}"
        )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipes", nargs="*", default=sorted(TARGETS))
    p.add_argument("--backend", action="append", choices=sorted(BACKENDS))
    p.add_argument("--store", type=Path, default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    store = Store(args.store or default_store_root())
    print(
        f"{'recipe':<13}{'backend':<9}{'hermetic s':>11}{'image s':>9}{'ratio':>7}"
        f"{'host s':>8}{'ratio':>7}{'target':>8}"
    )
    for name in args.recipes:
        measure(name, store, args.backend or sorted(BACKENDS), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
