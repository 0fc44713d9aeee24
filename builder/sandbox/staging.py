"""Lay out a container run: the read-only /inputs tree, the /out folder and the RunSpec.

Inputs are hard links to store objects (verified first), so staging costs no copies and a
build sees exactly the bytes the record names. The in-container driver and the modules it
needs are copied in too, and their digest is part of the build key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.images import Image
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.limits import Limits
from builder.names import Sha256
from builder.sandbox import Mount, RunSpec
from builder.store import Store
from builder.variation import REFERENCE, Variation

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The code that runs inside a build (standard library only), by path in the package.
IN_BUILD_CODE = (
    "__init__.py",
    "errors.py",
    "inside/__init__.py",
    "inside/archive.py",
    "inside/build_paths.py",
    "inside/compilers.py",
    "inside/driver.py",
    "inside/layout.py",
    "inside/task.py",
    "inside/seeded_tempnames.py",
)
SCRATCH = (str(inside.ENVS), "/tmp", inside.HOME)


@dataclass(frozen=True, slots=True, kw_only=True)
class StagedFile:
    """A store object to expose under /inputs/<folder>/<file>."""

    folder: str
    file: str
    sha256: Sha256


def driver_digest() -> Sha256:
    """One digest over the in-container code: a change to it is a change to every build."""
    digest = hashlib.sha256()
    for name in IN_BUILD_CODE:
        digest.update(name.encode() + b"\0" + (_PACKAGE_DIR / name).read_bytes() + b"\0")
    return Sha256(digest.hexdigest())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def stage(
    store: Store,
    workdir: Path,
    files: Sequence[StagedFile],
    task: tasks.Task,
    *,
    bind_output: bool = True,
) -> tuple[Mount, ...]:
    """Fill workdir/inputs and make workdir/out; return the mounts a run needs.

    Without `bind_output`, /out is not a host folder: the backend delivers it into
    workdir/out at the end (RunSpec.output), so a build cannot write to the host at all.
    """
    inputs = workdir / "inputs"
    out = workdir / "out"
    for f in files:
        folder = inputs / f.folder
        folder.mkdir(parents=True, exist_ok=True)
        _link_or_copy(store.verified_path(f.sha256, f"{f.folder}/{f.file}"), folder / f.file)
    lib = inputs / "lib" / "builder"
    for name in IN_BUILD_CODE:
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_PACKAGE_DIR / name, lib / name)
    tasks.write(task, inputs / "task.json")
    out.mkdir()
    for path in (inputs, *inputs.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o444)
    mounts = [Mount(source=inputs, target=str(inside.INPUTS), read_only=True)]
    if bind_output:
        out.chmod(0o777)  # the unprivileged user of a fetch or lock run writes here
        mounts.append(Mount(source=out, target=str(inside.OUT), read_only=False))
    return tuple(mounts)


def run_spec(
    *,
    image: Image,
    task: tasks.Task,
    mounts: tuple[Mount, ...],
    limits: Limits,
    network: bool = False,
    variation: Variation = REFERENCE,
    output_to: Path | None = None,
    venvs: Path | None = None,
) -> RunSpec:
    """`output_to`: deliver /out there through the backend instead of a host mount;
    `venvs`: prepared venvs to mount read-only at inside.ENVS (else a tmpfs is there)."""
    scratch: tuple[str, ...] = SCRATCH
    if venvs is not None:
        mounts = (*mounts, Mount(source=venvs, target=str(inside.ENVS), read_only=True))
        scratch = tuple(s for s in SCRATCH if s != str(inside.ENVS))
    return RunSpec(
        image=image,
        command=inside.command(task.mode),
        env=task.env,
        mounts=mounts,
        tmpfs=(variation.build_root, *scratch),
        workdir=variation.build_root,
        limits=limits.on_one_cpu() if variation.cpuset is not None else limits,
        network=network,
        user=variation.user,
        hostname=variation.hostname,
        cpuset=variation.cpuset,
        output=str(inside.OUT) if output_to is not None else None,
        output_to=output_to,
    )
