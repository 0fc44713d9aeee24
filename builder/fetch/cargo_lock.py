"""The cargo projects an sdist's Python build compiles (the top folder's Cargo.toml, or
those pyproject.toml names for maturin or setuptools-rust): the rustc they need
(`rust-version`), and a Cargo.lock for those that ship none.

An offline build cannot resolve crates. In the pinning phase (network on) cargo resolves a
lock in the image, once; the lock enters the recipe as a patch that adds it
(`<name>-<version>-Cargo.lock.patch`, pinned by sha256 like any patch: its bytes are the
lock's), so every build and rebuild reads that lock and never resolves afresh. The fetch
phase reads the crates from the locks such patches add."""

from __future__ import annotations

import posixpath
import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from builder.errors import FetchError, RecipeError
from builder.fetch.network import NETWORK_LIMITS, network_access
from builder.images import Image
from builder.inside import archive
from builder.inside import layout as inside
from builder.inside import task as tasks
from builder.progress import Progress
from builder.recipe import Patch, PinnedFile
from builder.sandbox import Sandbox
from builder.sandbox.staging import StagedFile, run_spec, stage
from builder.store import Store

LOCK = "Cargo.lock"


def lockless_projects(sdist_path: Path) -> list[str]:
    """The folders (relative to the sdist's top folder) of the cargo projects its Python
    build compiles that no Cargo.lock covers: those pyproject.toml names for maturin
    (`manifest-path`) or setuptools-rust (`ext-modules`/`bins` paths), else the top
    folder's Cargo.toml. Other Cargo.toml files (test fixtures, examples, a path
    dependency, a workspace the named project is excluded from) are not built on their
    own and need no lock."""
    locks = {posixpath.dirname(_below_top(m)) for m in archive.read_members(sdist_path, LOCK)}
    built = compiled_projects(manifests(sdist_path), sdist_path)
    return [f for f in built if not any(covers(lock, f) for lock in locks)]


def compiled_projects(manifests: dict[str, bytes], sdist_path: Path) -> list[str]:
    """The folders of the cargo projects the sdist's Python build compiles: those
    pyproject.toml names for maturin or setuptools-rust, else the top folder's Cargo.toml
    (maturin's default). A top-level workspace beside a named project is not built on its
    own (hf-xet's names members its sdist does not carry, and excludes the bindings)."""
    declared = _declared_projects(sdist_path)
    return sorted(f for f in (declared or {""}) if f in manifests)


def rust_version(sdist_path: Path) -> Version | None:
    """The newest `rust-version` the cargo projects the Python build compiles declare
    (their own, or their workspace's `[workspace.package]` one they inherit), if any."""
    found_manifests = manifests(sdist_path)
    declared = []
    for folder in compiled_projects(found_manifests, sdist_path):
        found = _declared_rust_version(folder, found_manifests)
        if found is not None:
            declared.append(found)
    return max(declared, default=None)


def package_rust_version(manifest: bytes) -> Version | None:
    """A published crate's `rust-version` (crates.io writes its Cargo.toml resolved: no
    workspace to inherit from)."""
    declared = _lookup(_toml(manifest), "package", "rust-version")
    return _version(declared) if isinstance(declared, str) else None


def _declared_rust_version(folder: str, manifests: dict[str, bytes]) -> Version | None:
    """A project's rust-version: its own, else its workspace's (`[workspace.package]` of
    its own manifest or of the nearest folder above that has one)."""
    own = _lookup(_toml(manifests[folder]), "package", "rust-version")
    if isinstance(own, str):
        return _version(own)
    for parent in (folder, *_parents(folder)):
        shared = _lookup(_toml(manifests.get(parent, b"")), "workspace", "package", "rust-version")
        if isinstance(shared, str):
            return _version(shared)
    return None


def _lookup(table: Any, *keys: str) -> Any:
    for key in keys:
        table = table.get(key) if isinstance(table, dict) else None
    return table


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None  # cargo itself will say what is wrong with it


def manifests(sdist_path: Path) -> dict[str, bytes]:
    """Every Cargo.toml of the sdist, by folder below its top folder."""
    found = archive.read_members(sdist_path, "Cargo.toml")
    return {posixpath.dirname(_below_top(m)): data for m, data in found.items()}


def _parents(folder: str) -> list[str]:
    parts = folder.split("/") if folder else []
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, -1, -1)]


def _toml(data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # cargo itself will say what is wrong with it


def _declared_projects(sdist_path: Path) -> set[str]:
    """The cargo project folders pyproject.toml names for maturin or setuptools-rust."""
    found = archive.read_members(sdist_path, "pyproject.toml")
    top = next((data for member, data in found.items() if "/" not in _below_top(member)), None)
    try:
        tool = tomllib.loads(top.decode("utf-8")).get("tool", {}) if top else {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()  # the build itself says what is wrong with it
    manifests = [tool.get("maturin", {}).get("manifest-path")]
    rust = tool.get("setuptools-rust", {})
    for kind in ("ext-modules", "bins"):
        entries = rust.get(kind, [])
        manifests += [e.get("path") for e in entries if isinstance(e, dict)]
    return {
        posixpath.normpath(posixpath.dirname(m)).removeprefix(".").lstrip("/")
        for m in manifests if isinstance(m, str)
    }  # fmt: skip


def covers(lock: str, project: str) -> bool:
    """A lock covers its own folder and every project below it (a workspace's members)."""
    return lock in ("", project) or project.startswith(lock + "/")


def lock_patches(
    sdist: PinnedFile,
    projects: list[str],
    *,
    image: Image,
    store: Store,
    sandbox: Sandbox,
    progress: Progress,
) -> tuple[Patch, ...]:
    """cargo's lock for each project, resolved in a network run of the image against the
    configured crate index, each as a stored patch that adds it."""
    with store.temp_dir("lock-crates-") as work:
        env, ca_mounts = network_access(
            inside.base_env() | {"CARGO_HOME": f"{inside.OUT}/cargo-home"}
        )
        task = tasks.LockCratesTask(sdist=sdist.file, projects=tuple(projects), env=env)
        staged = [StagedFile(folder="sdist", file=sdist.file, sha256=sdist.sha256)]
        mounts = (*stage(store, work, staged, task), *ca_mounts)
        spec = run_spec(image=image, task=task, mounts=mounts, limits=NETWORK_LIMITS, network=True)
        progress.status(f"resolving a Cargo.lock for {sdist.file} (it ships none)")
        result = sandbox.run(spec, progress.log)
        if not result.ok:
            raise FetchError(f"cargo generate-lockfile for {sdist.file} {result.reason()}")
        patches = []
        for number, project in enumerate(projects):
            lock = (work / "out" / "locks" / f"{number}.lock").read_bytes()
            where = posixpath.join(project, LOCK) if project else LOCK
            text = adding_patch(where, lock.decode("utf-8"))
            sha = store.add_bytes(text.encode("utf-8"))
            suffix = f"-{project.replace('/', '-')}" if project else ""
            name = f"{sdist.name}-{sdist.version}{suffix}-Cargo.lock.patch"
            patches.append(Patch(file=name, sha256=sha, path=store.path_of(sha)))
        return tuple(patches)


def adding_patch(where: str, text: str) -> str:
    """A unified diff that adds the file `where` with `text` (`patch -p1` applies it)."""
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"--- /dev/null\n+++ b/{where}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


def added_locks(patch_text: str, file: str) -> dict[str, bytes]:
    """The Cargo.lock files a patch adds, by path in the sdist. A patch that changes a
    Cargo.lock the sdist ships is refused: its crates would not be the ones fetched."""
    found: dict[str, bytes] = {}
    for match in re.finditer(r"^--- (\S+).*\n\+\+\+ b/(\S+)", patch_text, flags=re.M):
        source, target = match.group(1), match.group(2)
        if posixpath.basename(target) != LOCK:
            continue
        if source != "/dev/null":
            raise RecipeError(
                f"patch {file} changes {target}: a patch may add a Cargo.lock, not change one",
                hint="the crates are fetched from the locks as the sdist ships them",
            )
        found[target] = _added_text(patch_text[match.end() :]).encode("utf-8")
    return found


def _added_text(rest: str) -> str:
    """The added lines of the first hunk after a file header."""
    lines = []
    for line in rest.splitlines()[1:]:
        if line.startswith("+"):
            lines.append(line[1:])
        elif not line.startswith("@@"):
            break
    return "".join(f"{line}\n" for line in lines)


def _below_top(member: str) -> str:
    return member.split("/", 1)[1] if "/" in member else member


def vendored_in_sdist(sdist_path: Path) -> set[tuple[str, str]]:
    """(name, version) of the crates the sdist carries itself: its top `.cargo/config.toml`
    replaces crates-io with a directory source inside the sdist (orjson's include/cargo),
    so cargo takes them from there; they are pinned by the sdist's own sha256."""
    configs = archive.read_members(sdist_path, "config.toml")
    top = next((d for m, d in configs.items() if _below_top(m) == ".cargo/config.toml"), None)
    source = _toml(top).get("source", {}) if top else {}
    replacement = source.get("crates-io", {}).get("replace-with")
    directory = source.get(replacement, {}).get("directory") if replacement else None
    if not isinstance(directory, str):
        return set()
    inside = posixpath.normpath(directory).strip("/") + "/"
    found = set()
    for folder, data in manifests(sdist_path).items():
        if folder.startswith(inside) and folder.count("/") == inside.count("/"):
            package = _toml(data).get("package", {})
            if isinstance(package.get("name"), str) and isinstance(package.get("version"), str):
                found.add((package["name"], package["version"]))
    return found
