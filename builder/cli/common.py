"""Options shared by several commands, and the objects they select."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from rich.markup import escape

from builder.cli.output import err_console, terminal_progress
from builder.errors import BuilderError, SandboxUnavailable, UsageError
from builder.store import Store, default_store_root

if TYPE_CHECKING:  # the sandbox and image modules load when a command builds, not before
    from securesystemslib.signer import Signer

    from builder.pipeline.request import Signing, Workspace
    from builder.sandbox import Sandbox

BACKENDS = ("docker", "sandbox", "auto")
NAME_MAX = 255  # bytes in one name of a path, on Linux's file systems

# What a command module's register() receives: the subcommands of its parent parser.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


PathKind = Literal["file", "folder", "missing", "other"]


def path_kind(path: Path) -> PathKind:
    """What is at `path`; "missing" also for a path the system cannot look up (too long)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "missing"
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def existing_file(value: str) -> Path:
    """An argument that names a file to read: one that does not exist is a usage error
    (exit 2), the same for every command."""
    path = Path(value)
    kind = path_kind(path)
    if kind != "file":
        why = "is a folder, not a file" if kind == "folder" else "no such file"
        raise argparse.ArgumentTypeError(f"{why}: {value}")
    return path


def existing_folder(value: str) -> Path:
    """An argument that names a folder to read: one that does not exist is exit 2."""
    path = Path(value)
    if path_kind(path) != "folder":
        raise argparse.ArgumentTypeError(f"no such folder: {value}")
    return path


def folder_path(value: str) -> Path:
    """An argument that names a folder to write or read, made when missing: an empty
    one, or one that names a file, is a usage error (exit 2)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("the folder path is empty")
    path = Path(value)
    if path_kind(path) not in ("folder", "missing"):
        raise argparse.ArgumentTypeError(f"is a file, not a folder: {value}")
    return path


def existing_file_argument(value: str, what: str) -> Path:
    """`existing_file` for an argument whose kind is known only after parsing."""
    try:
        return existing_file(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"argument {what}: {exc}", hint="the file must exist") from exc


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {value!r}")
    return number


def positive_int(value: str) -> int:
    number = non_negative_int(value)
    if number == 0:
        raise argparse.ArgumentTypeError("expected a whole number, 1 or more, got 0")
    return number


def env_assignment(value: str) -> tuple[str, str]:
    """NAME=VALUE for a build's environment; builder's own variables are refused."""
    from builder.recipe import ENV_RESERVED

    name, sep, setting = value.partition("=")
    if not sep or not name or not name.replace("_", "").isalnum():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    if name in ENV_RESERVED:
        raise argparse.ArgumentTypeError(f"{name} is set by builder for reproducibility")
    return name, setting


def variations(value: str) -> frozenset[str]:
    """A comma-separated list of rebuild variations (builder.variation.KINDS)."""
    from builder.variation import parse_kinds

    try:
        return parse_kinds(value)
    except BuilderError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message} ({exc.hint})") from exc


def add_snapshot_verbs(
    sub: Subcommands, command: str, about: str, source: dict[str, Any], handlers: tuple[Any, Any]
) -> argparse.ArgumentParser:
    """`command refresh --from ...` and `command show`: the verbs of a snapshot the store
    keeps (advisories, names). `source` is the --from option's settings; `handlers` the
    verbs' (refresh, show). Returns the show verb's parser, for its options."""
    p = sub.add_parser(command, help=about)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    r = verbs.add_parser("refresh", help="replace the store's snapshot")
    r.add_argument("--from", dest="source", **source)
    add_store_option(r)
    r.set_defaults(handler=handlers[0])
    s = verbs.add_parser("show", help="what the store's snapshot holds")
    add_store_option(s)
    s.set_defaults(handler=handlers[1])
    return s


def add_store_option(p: argparse.ArgumentParser, *, must_exist: bool = False) -> None:
    p.add_argument(
        "--store",
        type=store_path,
        default=None,
        help="content-addressed store (default: $BUILDER_STORE or the user cache directory)"
        + ("; it must exist" if must_exist else ""),
    )
    p.set_defaults(store_must_exist=must_exist)


def store_path(value: str) -> Path:
    """--store's argument: an empty one would make the current folder a store."""
    if not value.strip():
        raise argparse.ArgumentTypeError("the store path is empty (it would be this folder)")
    path = Path(value)
    if any(len(part.encode()) > NAME_MAX for part in path.parts):
        raise argparse.ArgumentTypeError(f"a name in the store path is over {NAME_MAX} bytes")
    return path


def add_backend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", choices=BACKENDS, default="auto",
        help="isolation: docker, sandbox (bubblewrap, no daemon) or auto (the sandbox when "
        "it can hold every limit here, else docker when a daemon answers; default)",
    )  # fmt: skip


def add_build_options(p: argparse.ArgumentParser) -> None:
    """What every command that builds takes: where wheels go, quiet, store, backend."""
    p.add_argument("--dist", type=folder_path, default=Path("dist"), help="output folder (dist/)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="never stream the build log (it streams only with -v)")  # fmt: skip
    add_store_option(p)
    add_backend_option(p)


def open_store(args: argparse.Namespace) -> Store:
    """The store, cleared of the scratch files of builder runs that were killed. A
    relative path that lands inside a checkout is refused: a store holds gigabytes."""
    root = args.store if args.store is not None else default_store_root()
    if not root.is_absolute() and (checkout := _checkout_of(root.resolve())) is not None:
        raise UsageError(
            f"the store {str(root)!r} is a relative path inside the checkout {checkout}",
            hint="give --store (or $BUILDER_STORE) an absolute path outside the checkout",
        )
    if getattr(args, "store_must_exist", False) and path_kind(root) != "folder":
        raise UsageError(f"no store at {root}", hint="--store names an existing store")
    store = Store(root)
    say_removed(store.reap_leftovers())
    return store


def _checkout_of(path: Path) -> Path | None:
    """The root of the version-control checkout that holds `path`, if any."""
    for folder in (path, *path.parents):
        if any(path_kind(folder / mark) != "missing" for mark in (".git", ".hg")):
            return folder
    return None


def say_removed(leftovers: list[str]) -> None:
    for leftover in leftovers:
        err_console().print(
            f"[yellow]note:[/] removed what a dead builder run left: {escape(leftover)}"
        )


def workspace(args: argparse.Namespace, *, signing: Signing | None = None) -> Workspace:
    """Where a command that builds runs its builds: its options, resolved."""
    from builder.gate.binding import binding_of
    from builder.index import Index
    from builder.pipeline.request import Workspace
    from builder.policy import policy_here

    binding = binding_of(policy_here(getattr(args, "policy", None)).gate)
    return Workspace(
        store=open_store(args), progress=terminal_progress(args),
        sandbox_factory=lazy_sandbox(args.backend), dist=args.dist, signing=signing,
        index=Index(binding=binding), binding=binding,
    )  # fmt: skip


def lazy_sandbox(backend: str) -> Callable[[], Sandbox]:
    """`sandbox_factory(backend)`, called when a run is first needed: a cache hit
    neither probes nor starts a backend."""
    chosen: list[Sandbox] = []

    def get() -> Sandbox:
        if not chosen:
            chosen.append(sandbox_factory(backend)())
        return chosen[0]

    return get


def sandbox_factory(backend: str) -> Callable[[], Sandbox]:
    """The backend, chosen and checked now, with what dead runs left on it removed."""
    from builder.sandbox.bwrap import BwrapSandbox
    from builder.sandbox.docker import DockerSandbox

    chosen: Sandbox
    if backend == "docker":
        chosen = DockerSandbox()
    elif backend == "sandbox":
        chosen = BwrapSandbox()
    elif backend == "auto":
        chosen = _auto(BwrapSandbox, DockerSandbox)
    else:
        raise UsageError(f"unknown backend {backend!r}", hint=f"one of {', '.join(BACKENDS)}")
    say_removed(chosen.reap())
    return lambda: chosen


def _auto(sandbox: Callable[[], Sandbox], docker: Callable[[], Sandbox]) -> Sandbox:
    """The sandbox where it holds every limit (bubblewrap runs, a cgroup can be made): it
    passes the same isolation tests as docker and starts builds in a fraction of the time.
    Else docker, when a daemon answers; else the sandbox on rlimits. Says which, and why."""
    from builder.sandbox.cgroups import can_make

    say = err_console().print
    try:
        chosen = sandbox()
    except SandboxUnavailable as exc:
        say(f"backend: docker (auto: {exc.message})")
        return docker()
    if can_make():
        say("backend: sandbox (auto: bubblewrap runs and a cgroup holds the limits)")
        return chosen
    try:
        fallback = docker()
    except SandboxUnavailable:
        say("backend: sandbox (auto: no Docker daemon; limits by rlimits, no cgroup here)")
        return chosen
    say("backend: docker (auto: the sandbox could make no cgroup for the limits here)")
    return fallback


def user_signer(explicit: Path | None) -> Signer:
    """The signer of a private key file, else the user's own key (made on first use)."""
    from builder.provenance.signing import default_key_path, load_signer, new_key

    if explicit is not None:
        return load_signer(explicit)
    path = default_key_path()
    if not path.exists():
        pair = new_key(path)
        err_console().print(
            f"[yellow]note:[/] made a signing key {pair.private} (public: {pair.public}); "
            "`builder key new` makes others"
        )
    return load_signer(path)
