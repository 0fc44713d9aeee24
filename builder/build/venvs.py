"""The build's virtual environments, made once per image and set of pinned wheels.

Every build needs two venvs at inside.ENVS: the recipe's build requirements and builder's
tools (pypa/build, auditwheel). Installing them is the same work for every build of the
same pins, so it is done once, in a sandbox run of its own (no network, no sdist, and no
package code runs: installing a wheel only unpacks it), kept in the store, and mounted
read-only into each build. Builds start faster, and a build can no longer change the tools
that repair it and report on it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from builder.build.staging import StagedFile, driver_digest, run_spec, stage
from builder.encoding import canonical_json, pretty_json
from builder.errors import ArchiveError, BuildFailed, StoreError
from builder.fetch.sources import Sources
from builder.images import Image
from builder.inside import archive
from builder.inside import layout as inside
from builder.inside import plan as plans
from builder.limits import Limits
from builder.names import Sha256
from builder.progress import Progress
from builder.sandbox import Sandbox
from builder.store import Store

MANIFEST = "builder-venvs.json"  # in the folder: the key and the archive it was unpacked from
LIMITS = Limits(timeout_s=600)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenvsRef:
    key: str
    archive_sha256: Sha256


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedVenvs:
    key: str
    path: Path
    archive_sha256: Sha256

    @property
    def ref(self) -> VenvsRef:
        return VenvsRef(key=self.key, archive_sha256=self.archive_sha256)

    def describe(self) -> dict[str, str]:
        return {"key": self.key, "archive_sha256": self.archive_sha256}


def venvs_key(image: Image, sources: Sources) -> str:
    """Everything the venvs are made of: the image, the driver that makes them, the wheels."""
    identity = {
        "image": image.digest,
        "driver": driver_digest(),
        "path": str(inside.ENVS),
        "requires": [[r.file, r.sha256] for r in sources.requires],
        "tools": [[t.file, t.sha256] for t in sources.tools],
    }
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def prepared_venvs(
    image: Image, sources: Sources, *, store: Store, sandbox: Sandbox, progress: Progress
) -> PreparedVenvs:
    """The venvs of these sources, from the store or made now."""
    key = venvs_key(image, sources)
    target = store.root / "venvs" / key
    found = _read_manifest(target, key)
    if found is not None:
        return found
    return _make(image, sources, key, target, store=store, sandbox=sandbox, progress=progress)


def _read_manifest(folder: Path, key: str) -> PreparedVenvs | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"prepared venvs {folder} are damaged: {exc}", hint=f"delete {folder} and run again"
        ) from exc
    if data.get("key") != key:
        raise StoreError(
            f"prepared venvs {folder} were made for key {data.get('key')}, not {key}",
            hint=f"delete {folder} and run again",
        )
    return PreparedVenvs(key=key, path=folder, archive_sha256=Sha256(data["archive_sha256"]))


def _make(
    image: Image,
    sources: Sources,
    key: str,
    target: Path,
    *,
    store: Store,
    sandbox: Sandbox,
    progress: Progress,
) -> PreparedVenvs:
    plan = plans.VenvsPlan(
        requires=tuple(r.file for r in sources.requires),
        tools=tuple(t.file for t in sources.tools),
        env=inside.base_env(),
    )
    staged = [
        *(StagedFile(folder="wheels", file=r.file, sha256=r.sha256) for r in sources.requires),
        *(StagedFile(folder="tools", file=t.file, sha256=t.sha256) for t in sources.tools),
    ]
    with store.temp_dir("venvs-") as work:
        mounts = stage(store, work, staged, plan, bind_output=False)
        spec = run_spec(
            image=image, plan=plan, mounts=mounts, limits=LIMITS, output_to=work / "out"
        )
        count = len(sources.requires) + len(sources.tools)
        progress.status(f"preparing the build venvs ({count} wheels, no network)")
        log: list[str] = []
        result = sandbox.run(spec, log.append)
        archive = work / "out" / inside.VENVS_ARCHIVE
        if not result.ok or not archive.is_file():
            tail = "\n".join(log[-20:])
            raise BuildFailed(f"preparing the build venvs {result.reason()}:\n{tail}")
        archive_sha = store.add_file(archive, what="build venvs")
        unpacked = work / "venvs"
        _unpack(store.path_of(archive_sha), unpacked)
        prepared = PreparedVenvs(key=key, path=target, archive_sha256=archive_sha)
        (unpacked / MANIFEST).write_bytes(pretty_json(prepared.describe()))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            unpacked.rename(target)
        except OSError:
            if not (target / MANIFEST).is_file():  # not a concurrent run that got there first
                raise
    return prepared


def _unpack(venvs_tar: Path, dest: Path) -> None:
    """Through the hostile-archive checks (builder.archive), keeping the venvs' own links
    to absolute paths (bin/python -> /usr/bin/python3), which only a sandbox follows."""
    try:
        archive.unpack(venvs_tar, dest, archive.ArchiveLimits(max_bytes=8 << 30), kind="tree")
    except ArchiveError as exc:
        raise StoreError(f"the build venvs archive is refused: {exc.message}") from exc
    os.chmod(dest, 0o755)
