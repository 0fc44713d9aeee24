"""Real Docker, the real build image, real sdists: fixtures for end-to-end builds."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.images import ensure_image, find_definition
from builder.pipeline import BuildReport, build_recipe
from builder.progress import Silent
from builder.recipe import load_recipe
from builder.sandbox.docker import LABEL, DockerSandbox
from builder.store import Store
from tests.conftest import REPO, make_sdist

IMAGE = "trixie-py"


@pytest.fixture(scope="session")
def session_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store for the run (BUILDER_TEST_STORE keeps it across runs on a workstation)."""
    root = os.environ.get("BUILDER_TEST_STORE")
    return Store(Path(root) if root else tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def image(docker_client: object, session_store: Store):  # type: ignore[no-untyped-def]
    """The reference image, made from Debian packages on first use and imported."""
    img = ensure_image(find_definition(IMAGE, [REPO / "containers"]), session_store, Silent())
    DockerSandbox(docker_client).prepare(img, session_store, Silent())  # type: ignore[arg-type]
    return img


@pytest.fixture(autouse=True)
def no_container_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "docker_client" in request.fixturenames:
        client = request.getfixturevalue("docker_client")
        left = client.containers.list(all=True, filters={"label": LABEL})
        assert left == [], f"containers left behind: {[c.name for c in left]}"


SETUPTOOLS = load_recipe(REPO / "recipes" / "markupsafe.toml").requires


def local_recipe(
    tmp_path: Path,
    store: Store,
    name: str,
    files: dict[str, str],
    version: str = "1.0",
    limits: dict[str, int] | None = None,
) -> Path:
    """A recipe for a tiny real sdist made here and placed in the store (no index needed)."""
    sdist = make_sdist(tmp_path / f"{name}-{version}.tar.gz", files, top=f"{name}-{version}")
    digest = store.add_file(sdist)
    requires = "\n".join(
        f'[[build.requires]]\nname = "{r.name}"\nversion = "{r.version}"\n'
        f'file = "{r.file}"\nsha256 = "{r.sha256}"\n'
        for r in SETUPTOOLS
    )
    recipe = tmp_path / f"{name}.toml"
    recipe.write_text(
        f'[package]\nname = "{name}"\nversion = "{version}"\n\n'
        f'[sdist]\nfile = "{sdist.name}"\nsha256 = "{digest}"\n\n'
        f'[build]\nimage = "{IMAGE}"\n\n{requires}'
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
    recipe: Path, store: Store, dist: Path, client, **options
) -> BuildReport:
    """The library's build, on the real daemon, with the repository's image definitions."""
    return build_recipe(
        recipe,
        store=store,
        dist=dist,
        sandbox_factory=lambda: DockerSandbox(client),
        progress=Silent(),
        image_search=(REPO / "containers",),
        **options,
    )
