"""The in-container half of a run: the unprivileged build user, no network but in the
fetch and lock phases.

The host stages a task (/inputs/task.json, builder.inside.task) and the inputs under
/inputs (read-only); this script unpacks the sdist with the same hostile-archive checks
the host uses, lays out vendored crates, runs the PEP 517 build through pypa/build with
the prepared venvs, repairs the wheel with auditwheel and leaves the result in /out.

Standard library only: it runs on the image's python3, outside any virtual environment.
"""

from __future__ import annotations

import contextlib
import ensurepip
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from builder.errors import BuilderError
from builder.inside import compilers, seeded_tempnames
from builder.inside import task as tasks
from builder.inside.archive import ArchiveLimits, compiled_members, single_top_dir, unpack
from builder.inside.build_paths import remap_build_paths
from builder.inside.layout import (
    BUILD,
    ENVS,
    INPUTS,
    LIFELINE_EXIT,
    LIFELINE_LOST,
    OUT,
    OUTPUT_READY,
    PREFIX_SPECS,
    VENVS_ARCHIVE,
    Layout,
    prefix_specs,
)

RESOLVER = BUILD / "resolver"
PIP_QUIET = ("--disable-pip-version-check", "--no-cache-dir", "--no-input", "--progress-bar=off")
# pypa/installer run straight from its wheel: argv[1] is that wheel, the rest its arguments.
RUN_INSTALLER = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'installer'; "
    "runpy.run_module('installer', run_name='__main__', alter_sys=True)"
)
# pypa/build's API, so that the hooks run in the build venv's interpreter while build
# itself lives in the tools venv, outside the build's own environment.
BUILD_HOOK = (
    "import json, sys; from build import ProjectBuilder; src, out, python, cs = sys.argv[1:]; "
    "print(ProjectBuilder(src, python_executable=python)"
    ".build('wheel', out, config_settings=json.loads(cs) or None))"
)
# The get_requires_for_build_wheel hook: what the backend asks for beyond [build-system].
REQUIRES_HOOK = (
    "import json, sys; from build import ProjectBuilder; src, out, python = sys.argv[1:]; "
    "r = ProjectBuilder(src, python_executable=python).get_requires_for_build('wheel'); "
    "open(out, 'w').write(json.dumps(sorted(r)))"
)


class Steps:
    """Prints a heading per step and keeps its duration for the result file."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        """Run a step, its output straight into the log; a failure ends the run."""

        def inherited() -> int:
            return subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  check=False).returncode  # fmt: skip

        code = self._timed(name, argv, inherited)
        if code != 0:
            raise SystemExit(code)

    def attempt(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path
    ) -> tuple[int, str]:
        """Run a step whose output decides what comes next: its output (stdout and stderr)
        into the log as it comes; (its status, its output)."""
        said: list[str] = []

        def piped() -> int:
            with subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  errors="replace") as step:  # fmt: skip
                assert step.stdout is not None
                for line in step.stdout:
                    print(line, end="", flush=True)
                    said.append(line)
            return step.returncode

        return self._timed(name, argv, piped), "".join(said)

    def _timed(self, name: str, argv: list[str], runs: Callable[[], int]) -> int:
        """The step's heading, its duration kept, its failure said; its status."""
        print(f"==> {name}: {' '.join(argv)}", flush=True)
        started = time.monotonic()
        code = runs()
        self.timings[name] = round(time.monotonic() - started, 3)
        if code != 0:
            print(f"==> {name} failed with status {code}", flush=True)
        return code


def unpack_sdist(file: str, src: Path, limits: ArchiveLimits | None = None) -> Path:
    sdist = INPUTS / "sdist" / file
    print(f"==> unpack {sdist.name}", flush=True)
    unpack(sdist, src, limits)
    return single_top_dir(src, sdist)


def apply_patches(patches: tuple[str, ...], top: Path, env: dict[str, str], steps: Steps) -> None:
    """The recipe's patches, in order, to the unpacked sdist (`patch -p1`, no fuzz: a
    patch applies as written or the build stops, saying which)."""
    for name in patches:
        argv = ["patch", "-p1", "--forward", "--batch", "--fuzz=0", "-i",
                str(INPUTS / "patches" / name)]  # fmt: skip
        try:
            steps.run(f"patch {name}", argv, env, top)
        except SystemExit:
            print(f"==> error: patch {name.split('-', 1)[1]} does not apply", flush=True)
            raise


def reverse_listing_order(root: Path) -> None:
    """Re-link every directory's entries so that the filesystem lists them in reverse.

    On tmpfs, readdir lists the newest entry first: moving the entries out and back in
    their listed order reverses the order a build sees (a rebuild variation).
    """
    for dirpath, _, _ in os.walk(root, topdown=False):
        folder = Path(dirpath)
        names = os.listdir(folder)
        parking = folder / ".builder-reorder"
        parking.mkdir()
        for name in names:
            os.rename(folder / name, parking / name)
        for name in names:
            os.rename(parking / name, folder / name)
        parking.rmdir()


def vendor_crates(crates: tuple[tasks.CratePin, ...], layout: Layout) -> None:
    """A cargo directory source from the pinned .crate files, so cargo needs no network."""
    if not crates:
        return
    print(f"==> vendor {len(crates)} crates", flush=True)
    for crate in crates:
        staging = layout.vendor / ".staging"
        unpack(INPUTS / "crates" / crate.file, staging)
        (top,) = list(staging.iterdir())
        target = layout.vendor / f"{crate.name}-{crate.version}"
        top.rename(target)
        staging.rmdir()
        checksum = {"files": {}, "package": crate.sha256}
        (target / ".cargo-checksum.json").write_text(json.dumps(checksum))
    layout.cargo_home.mkdir(parents=True, exist_ok=True)
    (layout.cargo_home / "config.toml").write_text(
        "[source.crates-io]\nreplace-with = 'vendored'\n\n"
        f"[source.vendored]\ndirectory = '{layout.vendor}'\n\n[net]\noffline = true\n"
    )


def _installer_wheel(task: tasks.VenvsTask) -> Path:
    (wheel,) = [t for t in task.tools if t.startswith("installer-")]
    return INPUTS / "tools" / wheel


def make_venv(
    path: Path,
    wheels: tuple[str, ...],
    folder: str,
    task: tasks.VenvsTask,
    steps: Steps,
    *,
    seed_tempnames: bool = False,
) -> None:
    """A venv without pip, the pinned wheels installed by pypa/installer (run from its wheel).

    No ensurepip and no resolver: the wheels are exactly the pinned ones, and this takes a
    fraction of a second instead of several. The bytecode is compiled here: the venv is
    kept, and mounted read-only, where Python could not write it.
    """
    env, cwd = dict(task.env), path.parent
    steps.run(f"venv {path.name}", ["python3", "-m", "venv", "--without-pip", str(path)], env, cwd)
    if seed_tempnames:
        add_seeded_tempnames(path)
    if wheels:
        files = [str(INPUTS / folder / w) for w in wheels]
        installer = [str(path / "bin" / "python"), "-I", "-c", RUN_INSTALLER]
        options = ["--compile-bytecode", "0", "--validate-record", "all"]
        argv = [*installer, str(_installer_wheel(task)), *options, *files]
        steps.run(f"install {folder}", argv, env, cwd)


def add_seeded_tempnames(venv: Path) -> None:
    """Every Python of the venv starts with tempfile's names seeded (seeded_tempnames)."""
    (site,) = venv.glob("lib/python3*/site-packages")
    source = Path(seeded_tempnames.__file__).read_text()
    (site / f"{seeded_tempnames.MODULE}.py").write_text(source)
    (site / f"{seeded_tempnames.MODULE}.pth").write_text(seeded_tempnames.PTH_LINE)
    print(f"==> venv {venv.name}: tempfile's names seeded ({seeded_tempnames.MODULE}.pth)",
          flush=True)  # fmt: skip


def build_wheel(task: tasks.BuildTask, layout: Layout, steps: Steps) -> Path:
    """The PEP 517 build_wheel hook through pypa/build, run by the build venv's python.

    The venvs are already there: prepared by a `venvs` run and mounted read-only."""
    top = unpack_sdist(task.sdist, layout.src, ArchiveLimits(max_bytes=task.unpack_bytes))
    apply_patches(task.patches, top, dict(task.env), steps)
    vendor_crates(task.crates, layout)
    if task.reverse_listing_order:
        print("==> variation: reversing the listing order of the source tree", flush=True)
        reverse_listing_order(layout.root)
    dist = layout.root / "dist"
    hook = [str(layout.tools / "bin" / "python"), "-I", "-c", BUILD_HOOK, str(top), str(dist)]
    settings = json.dumps({k: list(v) if isinstance(v, tuple) else v
                           for k, v in task.config_settings.items()})  # fmt: skip
    python = str(layout.venv / "bin" / "python")
    steps.run("build", [*hook, python, settings], dict(task.env), top)
    (wheel,) = sorted(dist.glob("*.whl"))
    return wheel


def repair_wheel(wheel: Path, task: tasks.BuildTask, layout: Layout, steps: Steps) -> Path:
    if task.repair == "skip" or wheel.name.endswith("-any.whl"):
        print(f"==> repair: not needed for {wheel.name}", flush=True)
        return wheel
    if not compiled_members(wheel):  # e.g. a setup.py that fell back to pure Python
        print(f"==> repair: not needed: {wheel.name} holds no compiled code", flush=True)
        return wheel
    repaired = layout.root / "repaired"
    auditwheel = [str(layout.tools / "bin" / "python"), "-I", "-m", "auditwheel", "repair"]
    argv = [*auditwheel, "-w", str(repaired), str(wheel)]
    code, said = steps.attempt("repair", argv, dict(task.env), layout.root)
    if code != 0 and NO_LIBC in said:
        # An extension module that needs no C library at all (an abi3 one that calls only
        # Python's API): auditwheel cannot tell which libc it is for. It runs on any
        # glibc: the oldest policy auditwheel knows for the machine says so.
        plat = f"{OLDEST_POLICY.get(platform.machine(), 'manylinux_2_17')}_{platform.machine()}"
        print(f"==> repair: the extension modules need no C library: {plat}", flush=True)
        code, _ = steps.attempt("repair", [*auditwheel, "--plat", plat, *argv[len(auditwheel):]],
                                dict(task.env), layout.root)  # fmt: skip
    if code != 0:
        raise SystemExit(code or 1)
    (result,) = sorted(repaired.glob("*.whl"))
    return result


def write_compiler_wrappers(root: str, flags: compilers.CompilerFlags) -> None:
    """The GCC specs file the compiler wrappers name (a fixed path), which maps this
    build's root to "." in every file name the compiler records, and a wrapper for each
    compiler of the image, first on the build's PATH (builder.inside.compilers)."""
    specs = Path(PREFIX_SPECS)
    specs.parent.mkdir(parents=True, exist_ok=True)
    specs.write_text(prefix_specs(root))
    folder = Path(compilers.WRAPPERS)
    folder.mkdir(parents=True, exist_ok=True)
    scripts = compilers.wrappers(os.listdir(compilers.REAL), root, flags)
    for name, script in scripts.items():
        (folder / name).write_text(script)
        (folder / name).chmod(0o755)
    print(f"==> compilers: {', '.join(scripts)} add the build's prefix map"
          + (" and the recipe's flags" if flags != compilers.CompilerFlags() else ""),
          flush=True)  # fmt: skip


def run_build(task: tasks.BuildTask) -> int:
    os.umask(int(task.umask, 8))
    layout = Layout(Path(task.build_root))
    steps = Steps()
    write_compiler_wrappers(task.build_root, task.compiler_flags)
    layout.tmp.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(task, layout, steps)
    remapped = remap_build_paths(wheel, task.build_root)
    if remapped:
        print(f"==> build path: {task.build_root} written as {BUILD} in "
              f"{', '.join(remapped)}", flush=True)  # fmt: skip
    final = repair_wheel(wheel, task, layout, steps)
    shutil.copyfile(final, OUT / final.name)
    outcome = tasks.BuildOutcome(wheel=final.name, unrepaired=wheel.name,
                                 timings=steps.timings, remapped=remapped)  # fmt: skip
    outcome.write(OUT / tasks.OUTCOME_FILE)
    print(f"==> wheel {final.name}", flush=True)
    wait_for_collection()
    return 0


# auditwheel's words for an extension module whose libc it cannot tell (it links none)
NO_LIBC = "couldn't detect libc for python extension"
# The oldest manylinux policy auditwheel knows, per machine (PEP 600 tags).
OLDEST_POLICY = {"x86_64": "manylinux_2_5", "i686": "manylinux_2_5"}
COLLECTING = threading.Event()  # /out is complete: the end that follows is the expected one


def wait_for_collection() -> None:
    """Say /out is complete, then wait: the host copies it out and stops the sandbox."""
    COLLECTING.set()
    print(OUTPUT_READY, flush=True)
    while True:
        time.sleep(3600)


def run_fetch_crates(task: tasks.FetchCratesTask) -> int:
    """Fetch phase only (network on): cargo downloads the locked crates into /out."""
    env = dict(task.env)
    top = unpack_sdist(task.sdist, Layout().src)
    steps = Steps()
    apply_patches(task.patches, top, env, steps)
    for lock in task.cargo_locks:
        manifest = top / Path(lock).parent / "Cargo.toml"
        steps.run(
            f"fetch {lock}",
            ["cargo", "fetch", "--locked", "--manifest-path", str(manifest)],
            env,
            cwd=manifest.parent,
        )
    return 0


def run_lock_crates(task: tasks.LockCratesTask) -> int:
    """Network on: a Cargo.lock for each cargo project that ships none, into /out/locks."""
    env = dict(task.env)
    top = unpack_sdist(task.sdist, Layout().src)
    steps = Steps()
    (OUT / "locks").mkdir()
    for number, project in enumerate(task.projects):
        manifest = top / project / "Cargo.toml"
        argv = ["cargo", "generate-lockfile", "--manifest-path", str(manifest)]
        steps.run(f"lock {project or '.'}", argv, env, cwd=manifest.parent)
        shutil.copyfile(manifest.parent / "Cargo.lock", OUT / "locks" / f"{number}.lock")
    return 0


def run_requires(task: tasks.RequiresTask) -> int:
    """No network: ask the sdist's backend what else it needs to build a wheel (its code
    runs, so this is a build-like run, with the prepared venvs mounted read-only), and
    leave the answer in /out/requires.json."""
    layout = Layout()
    steps = Steps()
    top = unpack_sdist(task.sdist, layout.src)
    hook = [str(layout.tools / "bin" / "python"), "-I", "-c", REQUIRES_HOOK, str(top)]
    argv = [*hook, str(OUT / "requires.json"), str(layout.venv / "bin" / "python")]
    steps.run("get requires", argv, dict(task.env), top)
    wait_for_collection()
    return 0


def run_venvs(task: tasks.VenvsTask) -> int:
    """No network, no sdist: make the build venv (the recipe's pinned requirements) and the
    tools venv (pypa/build, auditwheel; apart, so that a build's requirements cannot shadow
    them) from the pinned wheels, and leave them in /out/venvs.tar for the host to keep.
    Installing a wheel runs none of its code."""
    layout, steps = Layout(), Steps()
    make_venv(layout.venv, task.requires, "wheels", task, steps, seed_tempnames=True)
    tools = tuple(t for t in task.tools if not t.startswith("installer-"))
    make_venv(layout.tools, tools, "tools", task, steps)
    print(f"==> archive {ENVS}", flush=True)
    with tarfile.open(OUT / VENVS_ARCHIVE, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(ENVS, arcname=".")
    tasks.BuildOutcome(timings=steps.timings).write(OUT / tasks.OUTCOME_FILE)
    wait_for_collection()
    return 0


def resolver_pip(env: dict[str, str], steps: Steps) -> list[str]:
    """The image's own pip, as `python3 -m venv` would install it, in a venv of the image's
    Python: run straight from its wheel (pip supports `python pip.whl/pip`) instead of
    installed by ensurepip, which took most of each lock's seconds."""
    steps.run("venv resolver", ["python3", "-m", "venv", "--without-pip", str(RESOLVER)], env,
              BUILD)  # fmt: skip
    return [str(RESOLVER / "bin" / "python"), str(bundled_pip() / "pip")]


def bundled_pip() -> Path:
    """The pip wheel ensurepip installs: a distribution's (Debian's WHEEL_PKG_DIR,
    /usr/share/python-wheels) where it has one, else CPython's own (ensurepip/_bundled)."""
    debian = sysconfig.get_config_var("WHEEL_PKG_DIR")
    places = [*([Path(debian)] if debian else []), Path(ensurepip.__file__).parent / "_bundled"]
    for place in places:
        if wheels := sorted(place.glob("pip-*.whl"), key=_wheel_version):
            return wheels[-1]
    raise BuilderError(f"the image's Python has no pip wheel for ensurepip (looked in {places})")


def _wheel_version(wheel: Path) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in wheel.name.split("-")[1].split("."))


def run_lock(task: tasks.LockTask) -> int:
    """Lock phase (network on): the image's own pip resolves the build requirements to
    wheels for the image's Python and platform. Wheels only: no sdist's code runs here."""
    env = dict(task.env)
    steps = Steps()
    pip = [*resolver_pip(env, steps), "download", *PIP_QUIET]
    flags = ["--only-binary", ":all:", "--dest", str(OUT / "wheels")]
    steps.run("resolve", [*pip, *flags, *task.requirements], env, BUILD)
    return 0


def run_resolve(task: tasks.ResolveTask) -> int:
    """Resolve phase (network on): the image's pip resolves the requirements' closure for
    the image's Python and platform, wheels' metadata only, and reports it."""
    env = dict(task.env)
    steps = Steps()
    pip = [*resolver_pip(env, steps), "install", *PIP_QUIET]
    flags = ["--dry-run", "--ignore-installed", "--only-binary", ":all:",
             "--report", str(OUT / "report.json")]  # fmt: skip
    steps.run("resolve", [*pip, *flags, *task.requirements], env, BUILD)
    return 0


def watch_lifeline() -> None:
    """End the run when builder's end of our stdin closes: builder exited or was killed
    (SIGKILL, the OOM killer), so nobody will collect, stop or remove this run. The driver
    is the run's first process (docker's pid 1; bwrap's init follows its first child), so
    its end is the end of every process of the build. Nothing runs with stdin but this."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return  # not started by builder (no lifeline to watch)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        if not COLLECTING.is_set():  # builder stopped before collecting: say so
            print(LIFELINE_LOST, flush=True)
        os._exit(LIFELINE_EXIT)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def run(task: tasks.Task) -> int:
    runners: dict[type[tasks.Task], Callable[[Any], int]] = {
        tasks.BuildTask: run_build,
        tasks.VenvsTask: run_venvs,
        tasks.RequiresTask: run_requires,
        tasks.FetchCratesTask: run_fetch_crates,
        tasks.LockCratesTask: run_lock_crates,
        tasks.LockTask: run_lock,
        tasks.ResolveTask: run_resolve,
    }
    return runners[type(task)](task)


def main(argv: list[str]) -> int:
    os.umask(0o022)
    watch_lifeline()
    mode, plan_path = argv
    try:
        task = tasks.read(Path(plan_path))
        if task.mode != mode:
            raise BuilderError(f"{plan_path}: a {task.mode} task, run as {mode}")
        return run(task)
    except BuilderError as exc:
        print(f"==> error: {exc.message}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
