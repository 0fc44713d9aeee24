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

from builder.encoding import canonical_json, pretty_json
from builder.errors import ArchiveError, BuildFailed, StoreError
from builder.fetch.sources import Sources
from builder.images import Image
from builder.inside import archive
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.limits import Limits
from builder.names import Sha256
from builder.progress import Progress
from builder.sandbox import Sandbox
from builder.sandbox.staging import StagedFile, driver_digest, run_spec, stage
from builder.store import Store
from builder.store_trees import check_on_use, discard, seal, settle_times

SETTLED = 315_532_800  # 1980-01-01: every file's time in unpacked venvs (store_trees.settle_times)
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
    if target.is_dir() and check_on_use(target, "the prepared build venvs", store):
        return _read_manifest(target, key, store)
    return _make(image, sources, key, target, store=store, sandbox=sandbox, progress=progress)


def _read_manifest(folder: Path, key: str, store: Store) -> PreparedVenvs:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        archive_sha256 = Sha256(data["archive_sha256"])
        if data.get("key") != key:
            raise ValueError(f"made for key {data.get('key')}, not {key}")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        discard(folder, store)
        raise StoreError(
            f"the prepared build venvs {folder} are damaged: {MANIFEST}: {exc}",
            hint="they were removed; run again to make them anew",
        ) from exc
    return PreparedVenvs(key=key, path=folder, archive_sha256=archive_sha256)


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
    task = tasks.VenvsTask(
        requires=tuple(r.file for r in sources.requires),
        tools=tuple(t.file for t in sources.tools),
        env=inside.base_env(),
    )
    staged = [
        *(StagedFile(folder="wheels", file=r.file, sha256=r.sha256) for r in sources.requires),
        *(StagedFile(folder="tools", file=t.file, sha256=t.sha256) for t in sources.tools),
    ]
    with store.temp_dir("venvs-") as work:
        mounts = stage(store, work, staged, task, bind_output=False)
        spec = run_spec(
            image=image, task=task, mounts=mounts, limits=LIMITS, output_to=work / "out"
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
    return place(PreparedVenvs(key=key, path=target, archive_sha256=archive_sha), store)


def place(prepared: PreparedVenvs, store: Store) -> PreparedVenvs:
    """Unpack the venvs archive (checked by its sha256) at `prepared.path`, sealed."""
    tar = store.verified_path(prepared.archive_sha256, "the build venvs archive")
    with store.temp_dir("venvs-") as work:
        unpacked = work / "venvs"
        _unpack(tar, unpacked)
        (unpacked / MANIFEST).write_bytes(pretty_json(prepared.describe()))
        settle_times(unpacked, SETTLED)
        prepared.path.parent.mkdir(parents=True, exist_ok=True)
        seal(unpacked, prepared.path)
        try:
            unpacked.rename(prepared.path)
        except OSError:
            if not (prepared.path / MANIFEST).is_file():  # not a concurrent run's, first
                raise
    return prepared


def recorded(folder: Path) -> PreparedVenvs | None:
    """What a venvs folder says it was unpacked from, when it can still say it."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return PreparedVenvs(key=data["key"], path=folder,
                             archive_sha256=Sha256(data["archive_sha256"]))  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _unpack(venvs_tar: Path, dest: Path) -> None:
    """Through the hostile-archive checks (builder.archive), keeping the venvs' own links
    to absolute paths (bin/python -> /usr/bin/python3), which only a sandbox follows."""
    try:
        archive.unpack(venvs_tar, dest, archive.ArchiveLimits(max_bytes=8 << 30), kind="tree")
    except ArchiveError as exc:
        raise StoreError(f"the build venvs archive is refused: {exc.message}") from exc
    os.chmod(dest, 0o755)
