"""Real Docker, the real build image, real sdists: fixtures for end-to-end builds."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from builder import owner
from builder.compare.rebuild import Rebuilds
from builder.errors import ImageError
from builder.fetch.sources import fetch_pinned
from builder.images import ensure_image, find_definition
from builder.index import Index
from builder.pipeline.build import BuildReport, build
from builder.pipeline.request import BuildRequest, Workspace
from builder.progress import Silent
from builder.recipe import PinnedFile, load_recipe
from builder.sandbox import Sandbox
from builder.sandbox.cgroups import PREFIX as CGROUP_PREFIX
from builder.sandbox.cgroups import ROOT as CGROUPS
from builder.sandbox.cgroups import V1_CONTROLLERS, Cgroup
from builder.sandbox.docker import LABEL, OWNER_LABEL, DockerSandbox
from builder.store import Store
from tests.conftest import REPO, Served, make_sdist, unavailable
from tests.fixtures.stack import POLICY, make_stack_index

IMAGE = "trixie-py"


@pytest.fixture(scope="session")
def session_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store for the run (BUILDER_TEST_STORE keeps it across runs on a workstation)."""
    root = os.environ.get("BUILDER_TEST_STORE")
    return Store(Path(root) if root else tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def image(docker_client: object, session_store: Store):  # type: ignore[no-untyped-def]
    """The reference image, made from Debian packages on first use and imported."""
    try:
        img = ensure_image(find_definition(IMAGE, [REPO / "containers"]), session_store, Silent())
    except ImageError as exc:
        unavailable("the build image", exc.message)
    DockerSandbox(docker_client).prepare(img, session_store, Silent())  # type: ignore[arg-type]
    return img


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """An isolation backend that runs here (parametrize it, indirect, to pick others)."""
    name = str(getattr(request, "param", "docker"))
    if name in ("docker", "auto"):
        request.getfixturevalue("docker_client")
    if name in ("sandbox", "auto"):
        request.getfixturevalue("bubblewrap")
    return name


def _ours(name_or_label: str) -> bool:
    """Made by this test process, or by a builder it started that is gone: not by another
    test run or builder that shares the machine."""
    made_by = owner.Owner.find(name_or_label)
    return made_by is not None and (made_by == owner.current() or made_by.gone())


def _builder_cgroups() -> set[Path]:
    roots = (CGROUPS, *(CGROUPS / c for c in V1_CONTROLLERS))
    return {
        d for root in roots for d in root.glob(f"{CGROUP_PREFIX}*") if d.is_dir() and _ours(d.name)
    }


def builder_containers(client) -> list:  # type: ignore[no-untyped-def]
    labelled = client.containers.list(all=True, filters={"label": LABEL})
    return [c for c in labelled if _ours(c.labels.get(OWNER_LABEL, ""))]


@pytest.fixture(autouse=True)
def nothing_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A container or cgroup a test leaves fails that test, and only that one: it is
    removed here, so the tests after it start clean."""
    client = None
    if "docker_client" in request.fixturenames:
        client = request.getfixturevalue("docker_client")
    before = {c.id for c in builder_containers(client)} if client is not None else set()
    cgroups_before = _builder_cgroups()
    yield
    left = []
    if client is not None:
        for container in builder_containers(client):
            if container.id not in before:
                left.append(f"container {container.name} ({container.status})")
                container.remove(force=True)
    for d in sorted(_builder_cgroups() - cgroups_before):
        left.append(f"cgroup {d}")
        group = Cgroup(dirs=[d])
        group.kill_all()
        group.remove()
    assert left == [], f"left behind (now removed): {left}"


SETUPTOOLS = load_recipe(REPO / "recipes" / "markupsafe.toml").requires


def local_recipe(
    tmp_path: Path,
    store: Store,
    name: str,
    files: Mapping[str, str | bytes],
    version: str = "1.0",
    limits: dict[str, int] | None = None,
    requires: Sequence[PinnedFile] = SETUPTOOLS,
) -> Path:
    """A recipe for a tiny real sdist made here and placed in the store (no index needed),
    built with `requires` (pinned wheels; setuptools by default)."""
    sdist = make_sdist(tmp_path / f"{name}-{version}.tar.gz", files, top=f"{name}-{version}")
    digest = store.add_file(sdist)
    pins = "\n".join(
        f'[[build.requires]]\nname = "{r.name}"\nversion = "{r.version}"\n'
        f'file = "{r.file}"\nsha256 = "{r.sha256}"\n'
        for r in requires
    )
    recipe = tmp_path / f"{name}.toml"
    recipe.write_text(
        f'[package]\nname = "{name}"\nversion = "{version}"\n\n'
        f'[sdist]\nfile = "{sdist.name}"\nsha256 = "{digest}"\n\n'
        f'[build]\nimage = "{IMAGE}"\n\n{pins}'
        + ("\n[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()) if limits else "")
    )
    return recipe


PYPROJECT = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'


def c_extension_files(name: str, setup_extra: str = "") -> dict[str, str]:
    return {
        "pyproject.toml": PYPROJECT,
        "setup.py": (
            "from setuptools import Extension, setup\n"
            f"{setup_extra}\n"
            f"setup(name='{name}', version='1.0', "
            f"ext_modules=[Extension('{name}', ['{name}.c'])])\n"
        ),
        f"{name}.c": (
            "#include <Python.h>\n"
            "static PyObject *answer(PyObject *s, PyObject *a) { return PyLong_FromLong(42); }\n"
            'static PyMethodDef m[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL}};\n'
            f'static struct PyModuleDef d = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, m}};\n'
            f"PyMODINIT_FUNC PyInit_{name}(void) {{ return PyModule_Create(&d); }}\n"
        ),
    }


def install_and_run(client, image, wheel: Path, code: str) -> str:  # type: ignore[no-untyped-def]
    """Install `wheel` offline into a fresh container of the build image and run `code`."""
    shared = Path(tempfile.mkdtemp(prefix="builder-wheels-"))
    shared.chmod(0o755)  # readable by the unprivileged user in the container
    shutil.copyfile(wheel, shared / wheel.name)
    (shared / wheel.name).chmod(0o644)
    try:
        return _run_in_image(client, image, shared / wheel.name, code)
    finally:
        shutil.rmtree(shared)


def _run_in_image(client, image, wheel: Path, code: str) -> str:  # type: ignore[no-untyped-def]
    script = (
        "python3 -m venv /tmp/v && /tmp/v/bin/python -m pip install -q --no-index "
        f'--disable-pip-version-check /wheels/{wheel.name} && /tmp/v/bin/python -c "$CODE"'
    )
    output = client.containers.run(
        image.reference,
        ["sh", "-c", script],
        environment={"CODE": code, "HOME": "/tmp"},
        volumes={str(wheel.parent): {"bind": "/wheels", "mode": "ro"}},
        network_mode="none",
        user="1000:1000",
        read_only=True,
        tmpfs={"/tmp": "rw,exec,mode=1777"},
        remove=True,
    )
    return output.decode()


def build_in_docker(  # type: ignore[no-untyped-def]
    recipe: Path, store: Store, dist: Path, client, *, rebuilds: int = 0,
    vary: frozenset[str] | None = None,
) -> BuildReport:  # fmt: skip
    """The library's build, on the real daemon, with the repository's image definitions."""
    request = BuildRequest(
        recipe=load_recipe(recipe), rebuilds=Rebuilds(count=rebuilds, kinds=vary)
    )
    return build(request, workspace(store, dist, lambda: DockerSandbox(client)))


def workspace(store: Store, dist: Path, sandbox_factory: Callable[[], Sandbox]) -> Workspace:
    """A quiet workspace with the repository's image definitions."""
    return Workspace(store=store, progress=Silent(), sandbox_factory=sandbox_factory, dist=dist,
                     image_search=(REPO / "containers",))  # fmt: skip


def sleepy_files(name: str, token: str) -> dict[str, str]:
    """A C extension whose build says it started, starts a process carrying `token` in
    its command line, and sleeps: the build a test interrupts."""
    extra = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{token}'])\n"
        f"print('SLEEPY {token} started', flush=True)\n"
        "time.sleep(600)\n"
    )
    return c_extension_files(name, setup_extra=extra)


def processes_with(token: str) -> list[str]:
    """Command lines of the host's processes that carry `token` (a build's, in any
    backend: the host sees every pid namespace)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if token in text:
            found.append(text)
    return found


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll `condition` until it holds or the time is up; whether it held."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)
    return True


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class BuilderProcess:
    """builder in a child process, its stderr read as it comes.

    SIGINT and SIGTERM are set to their defaults in the child, whatever the test runner
    inherited (a CI job run in the background ignores SIGINT, and so would builder)."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "builder", *argv],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_signals,  # noqa: PLW1509
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.proc.wait()
            self._changed.notify_all()

    @property
    def err(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout_s: float = 300) -> None:
        """Until builder prints a line holding `text`; fails if it exits first."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or self.proc.poll() is not None,
                timeout=timeout_s,
            )
        assert found and any(text in line for line in self.lines), (
            f"builder never printed {text!r}:\n{self.err[-3000:]}"
        )

    def finish(self, timeout_s: float = 60) -> int:
        """Its exit code, once it exits (killed after `timeout_s`)."""
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            self.proc.kill()
        self._reader.join(timeout=10)
        return code


@pytest.fixture
def stack(  # type: ignore[no-untyped-def]
    bubblewrap, image, session_store: Store, nginx: Served, tmp_path: Path, monkeypatch
) -> Path:
    """The stack's index live, builder pointed at it, the image's tools already stored
    (they come from the public index), a requirements file and the policy."""
    for tool in image.tools:
        fetch_pinned(tool, session_store, Index(), Silent())
    make_stack_index(nginx.root)
    monkeypatch.setenv("BUILDER_INDEX_URL", f"{nginx.url}simple/")
    (tmp_path / "requirements.txt").write_text("acmestack-app\n")
    (tmp_path / "builder.toml").write_text(POLICY)
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    patch = (
        "--- a/acmestack_tool/__init__.py\n+++ b/acmestack_tool/__init__.py\n@@ -1 +1 @@\n"
        "-WHO = 'acmestack-tool 1.0 from source'\n+WHO = 'acmestack-tool 1.0, patched'\n"
    )
    (overrides / "who.patch").write_text(patch)
    digest = hashlib.sha256(patch.encode()).hexdigest()
    (overrides / "acmestack-tool.toml").write_text(
        '[build]\nenv = { ACME_FLAVOUR = "tested" }\n\n[limits]\nmemory_mib = 2048\n\n'
        f'[[patches]]\nfile = "who.patch"\nsha256 = "{digest}"\n'
    )
    return tmp_path


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("chromium", "not installed (apt-get install chromium)")
    return found


def browse(chromium: str, url: str, *extra: str) -> str:
    """The page's DOM after its scripts ran, as the browser has it."""
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", *extra, url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout
