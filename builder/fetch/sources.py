"""The fetch phase, the only one with network: every input into the store, verified.

Wheels and sdists come from the configured index and are refused unless their bytes hash
to the pinned sha256. Rust crates are those of the sdist's Cargo.lock files: cargo itself
downloads them, inside a network-enabled container of the build image (so nothing from
the sdist runs on the host), and each .crate is stored only if it hashes to the checksum
the lock pins.
"""

from __future__ import annotations

import json
import posixpath
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from builder.errors import FetchError
from builder.fetch.cargo_lock import (
    added_locks,
    compiled_projects,
    covers,
    manifests,
    package_rust_version,
    vendored_in_sdist,
)
from builder.fetch.network import NETWORK_LIMITS, network_access
from builder.images import Image
from builder.index import Index
from builder.inside import archive
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.names import Sha256, is_sha256
from builder.progress import Progress
from builder.recipe import Patch, PinnedFile, Recipe
from builder.sandbox import Sandbox
from builder.sandbox.staging import StagedFile, driver_digest, run_spec, stage
from builder.store import Store, write_atomic


@dataclass(frozen=True, slots=True, kw_only=True)
class Crate:
    name: str
    version: str
    sha256: Sha256

    @property
    def file(self) -> str:
        return f"{self.name}-{self.version}.crate"

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Crate:
        return cls(name=data["name"], version=data["version"], sha256=Sha256(data["sha256"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    """Every input of one build, all present and verified in the store."""

    sdist: PinnedFile
    requires: tuple[PinnedFile, ...]
    tools: tuple[PinnedFile, ...]
    crates: tuple[Crate, ...]
    patches: tuple[Patch, ...] = ()

    @property
    def patch_files(self) -> tuple[str, ...]:
        return patch_names(self.patches)

    def staged_files(self) -> list[StagedFile]:
        files = [StagedFile(folder="sdist", file=self.sdist.file, sha256=self.sdist.sha256)]
        files += [StagedFile(folder="patches", file=name, sha256=p.sha256)
                  for name, p in zip(self.patch_files, self.patches, strict=True)]  # fmt: skip
        files += [StagedFile(folder="wheels", file=r.file, sha256=r.sha256) for r in self.requires]
        files += [StagedFile(folder="tools", file=t.file, sha256=t.sha256) for t in self.tools]
        files += [StagedFile(folder="crates", file=c.file, sha256=c.sha256) for c in self.crates]
        return files


def fetch_pinned(pin: PinnedFile, store: Store, index: Index, progress: Progress) -> None:
    """Fetch a pinned file, from the index its lock recorded (else the configured one)."""
    if store.has(pin.sha256):
        return
    if pin.index is not None and pin.index != index.url:
        index = Index(pin.index, index.binding)
    progress.status(f"fetching {pin.file}")
    found = index.find(pin.name, pin.file)
    if found.sha256 is not None and found.sha256 != pin.sha256:
        raise FetchError(
            f"{pin.file}: the index {index.url} lists sha256 {found.sha256}, "
            f"the recipe pins {pin.sha256}",
            hint="the file was replaced upstream, or the pin is wrong; nothing was stored",
        )
    store.add_stream(index.download(found), expected=pin.sha256, what=pin.file)


def cargo_locks(sdist: Path) -> dict[str, list[Crate]]:
    """The registry crates each Cargo.lock of a cargo project the Python build compiles
    pins, by the lock's path. Other locks are not the build's: a lock without a Cargo.toml
    beside it is a fixture (numpy's vendored meson ships test cases with bare locks), and
    a vendored crate's own lock (orjson's include/cargo/*) pins its dev-dependencies."""
    compiled = compiled_projects(manifests(sdist), sdist)
    locks = {}
    for member, data in sorted(archive.read_members(sdist, "Cargo.lock").items()):
        top, _, rel = member.partition("/")
        folder = posixpath.dirname(rel)
        if not any(covers(folder, project) for project in compiled):
            continue
        locks[rel or top] = parse_cargo_lock(data, f"{sdist.name}:{member}")
    return locks


LOCKS_READ = 3  # how cargo_locks chooses the locks: a change reads every sdist again


def _sdist_locks(sdist: PinnedFile, store: Store) -> dict[str, list[Crate]]:
    """cargo_locks of the sdist, read once and kept in the store beside it (by its sha256
    and the reading code's digest): a cache hit need not walk a large sdist again."""
    kept = store.root / "checked" / f"{sdist.sha256}-locks{LOCKS_READ}-{driver_digest()}.json"
    try:
        data = json.loads(kept.read_text(encoding="utf-8"))
        return {path: [Crate.from_json(c) for c in crates] for path, crates in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    locks = cargo_locks(store.verified_path(sdist.sha256, sdist.file))
    as_json = {path: [c.as_dict() for c in crates] for path, crates in locks.items()}
    write_atomic(kept, json.dumps(as_json, sort_keys=True).encode())
    return locks


def parse_cargo_lock(data: bytes, where: str) -> list[Crate]:
    try:
        lock = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FetchError(f"{where}: not a readable Cargo.lock: {exc}") from exc
    crates = []
    for i, pkg in enumerate(lock.get("package", [])):
        source = pkg.get("source")
        if source is None:
            continue  # a path dependency: part of the sdist itself
        if not source.startswith(("registry+", "sparse+")):
            raise FetchError(
                f"{where}: package[{i}] {pkg.get('name')!r} comes from {source!r}",
                hint="only registry crates pinned by checksum can be vendored for offline builds",
            )
        checksum = pkg.get("checksum")
        if not is_sha256(checksum):
            raise FetchError(f"{where}: package[{i}] {pkg.get('name')!r} has no sha256 checksum")
        crates.append(Crate(name=pkg["name"], version=pkg["version"], sha256=Sha256(checksum)))
    return crates


def fetch_crates(
    sdist: PinnedFile,
    image: Image,
    store: Store,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    patches: Sequence[Patch] = (),
) -> tuple[Crate, ...]:
    """The crates of the sdist's Cargo.lock files and of those its patches add (a lock
    builder resolved for an sdist that ships none), each stored by its checksum."""
    locks = _sdist_locks(sdist, store)
    for patch in patches:
        text = store.verified_path(patch.sha256, patch.file).read_text(encoding="utf-8")
        for where, data in added_locks(text, patch.file).items():
            locks[where] = parse_cargo_lock(data, f"{patch.file}: {where}")
    carried = vendored_in_sdist(store.verified_path(sdist.sha256, sdist.file)) if locks else set()
    crates = sorted({c for cs in locks.values() for c in cs if (c.name, c.version) not in carried},
                    key=lambda c: (c.name, c.version))  # fmt: skip
    if carried:
        progress.status(f"{len(carried)} crates come with the sdist (its .cargo/config.toml)")
    missing = [c for c in crates if not store.has(c.sha256)]
    if missing:
        progress.status(f"fetching {len(missing)} crates with cargo (network on, in the image)")
        _cargo_fetch(sdist, sorted(locks), patches, missing, image, store, sandbox_factory(),
                     progress)  # fmt: skip
    return tuple(crates)


def newest_rust_version(crates: Sequence[Crate], store: Store) -> tuple[Version, Crate] | None:
    """The newest `rust-version` the fetched crates declare in their own Cargo.toml (cargo
    refuses to build any of them with an older rustc), with the crate that declares it."""
    newest: tuple[Version, Crate] | None = None
    for crate in crates:
        path = store.verified_path(crate.sha256, f"crate {crate.file}")
        manifest = archive.read_members(path, "Cargo.toml").get(
            f"{crate.name}-{crate.version}/Cargo.toml", b""
        )
        declared = package_rust_version(manifest)
        if declared is not None and (newest is None or declared > newest[0]):
            newest = (declared, crate)
    return newest


def _cargo_fetch(
    sdist: PinnedFile,
    lock_paths: Sequence[str],
    patches: Sequence[Patch],
    missing: Sequence[Crate],
    image: Image,
    store: Store,
    sandbox: Sandbox,
    progress: Progress,
) -> None:
    with store.temp_dir("fetch-") as work:
        env, ca_mounts = network_access(
            inside.base_env() | {"CARGO_HOME": f"{inside.OUT}/cargo-home"}
        )
        names = patch_names(patches)
        task = tasks.FetchCratesTask(
            sdist=sdist.file, cargo_locks=tuple(lock_paths), patches=names, env=env
        )
        staged = [StagedFile(folder="sdist", file=sdist.file, sha256=sdist.sha256)]
        staged += [StagedFile(folder="patches", file=name, sha256=p.sha256)
                   for name, p in zip(names, patches, strict=True)]  # fmt: skip
        mounts = (*stage(store, work, staged, task), *ca_mounts)
        spec = run_spec(image=image, task=task, mounts=mounts, limits=NETWORK_LIMITS, network=True)
        said: list[str] = []

        def on_line(line: str) -> None:
            said.append(line)
            progress.log(line)

        result = sandbox.run(spec, on_line)
        if not result.ok:
            raise FetchError(f"cargo fetch for {sdist.file} {result.reason()}: {cargo_error(said)}")
        fetched = {
            p.name: p for p in (work / "out" / "cargo-home").glob("registry/cache/*/*.crate")
        }
        for crate in missing:
            path = fetched.get(crate.file)
            if path is None:
                raise FetchError(f"{sdist.file}: cargo did not fetch {crate.file}")
            store.add_file(path, expected=crate.sha256, what=f"crate {crate.file}")


def patch_names(patches: Sequence[Patch]) -> tuple[str, ...]:
    """The staged names of the patches, numbered in the order they apply."""
    return tuple(f"{i:03}-{p.file}" for i, p in enumerate(patches, start=1))


def cargo_error(lines: list[str]) -> str:
    """What cargo said went wrong: its `error:` lines and what follows them, else the last
    lines it printed."""
    start = next((i for i, line in enumerate(lines) if line.startswith("error")), None)
    shown = lines[start : start + 6] if start is not None else lines[-4:]
    return " / ".join(line.strip() for line in shown if line.strip()) or "cargo said nothing"


def fetch_all(
    recipe: Recipe,
    *,
    requires: Sequence[PinnedFile],
    image: Image,
    store: Store,
    index: Index,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
) -> Sources:
    """Everything the recipe's build reads into the store, verified: its sdist and
    patches, `requires` (its own and the wheels built here it needs), the image's tools,
    the crates the sdist locks; the sdist is checked as an archive (every member, and its
    unpacked size, within the recipe's unpack limit) before anything else reads it."""
    sdist, tools, patches = recipe.sdist, image.tools, recipe.patches
    for pin in (sdist, *requires, *tools):
        fetch_pinned(pin, store, index, progress)
    for patch in patches:
        store_patch(patch, store)
    limits = archive.ArchiveLimits(max_bytes=recipe.limits.unpack_mib << 20)
    check_sdist(sdist, store, limits)
    crates = fetch_crates(sdist, image, store, sandbox_factory, progress, patches)
    return Sources(
        sdist=sdist, requires=tuple(requires), tools=tuple(tools), crates=crates,
        patches=tuple(patches),
    )  # fmt: skip


def check_sdist(sdist: PinnedFile, store: Store, limits: archive.ArchiveLimits) -> None:
    """Every member of the sdist through the hostile-archive checks, once per sdist, limit
    and checking code: the store is content-addressed, so a pass stays a pass, and a
    cache hit does not walk a large sdist's tens of thousands of members again."""
    passed = store.root / "checked" / f"{sdist.sha256}-{limits.max_bytes}-{driver_digest()}"
    if passed.is_file():
        return
    archive.check(store.verified_path(sdist.sha256, sdist.file), limits)
    write_atomic(passed, b"")


def store_patch(patch: Patch, store: Store) -> None:
    """A patch file into the store, if its bytes are the ones the recipe pins. The file
    beside the recipe is read each time: an edited patch with the old pin is refused, not
    silently replaced by the stored one; without the file, the stored bytes serve."""
    if patch.path.is_file():
        store.add_file(patch.path, expected=patch.sha256, what=f"patch {patch.path}")
        return
    if store.has(patch.sha256):
        return
    if not patch.path.is_file():
        raise FetchError(
            f"patch {patch.file}: no such file {patch.path}",
            hint="a recipe's patches are files beside it, pinned by sha256",
        )
    store.add_file(patch.path, expected=patch.sha256, what=f"patch {patch.path}")
