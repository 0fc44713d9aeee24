"""Every build system compiles as upstream's would: optimized, assertions off.

A made-for-the-test sdist per build backend (setuptools, meson-python, scikit-build-core
with CMake, maturin with cargo) whose extension says at import whether the compiler
defined __OPTIMIZE__ and NDEBUG (for Rust: the opt-level and debug assertions cargo
built with); each is built in the real image and imported in a fresh container.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.recipe import load_recipe
from builder.store import Store
from tests.conftest import REPO, make_sdist
from tests.container.conftest import IMAGE, SETUPTOOLS, build_in_docker, install_and_run

pytestmark = pytest.mark.network  # the backends' wheels come from the configured index

# The build requirements of each backend, pinned as a recipe pins them (from the index).
WHEELS = {
    "meson-python": [
        ("meson-python", "0.22.1", "meson_python-0.22.1-py3-none-any.whl",
         "258fde948cf45aab5df23fcc9e17a9050ee73d4e1002fe6cf86519f61c414778"),
        ("meson", "1.12.1", "meson-1.12.1-py3-none-any.whl",
         "930bc7542cbd9f57009e182fd014eba48cf1a0180a7b9006d2d32d8f168d8b02"),
        ("pyproject-metadata", "0.12.1", "pyproject_metadata-0.12.1-py3-none-any.whl",
         "f7162d580a96386a8eb096da06215f981f547d1490f03055ef99e323bc2da427"),
        ("packaging", "26.4", "packaging-26.4-py3-none-any.whl",
         "81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2"),
        ("ninja", "1.13.2", "ninja-1.13.2-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
         "65a24341b5ac09fcadcc37082660be40a94174e51a937fabf6e2cae26225fa2c"),
    ],
    "scikit-build-core": [
        ("scikit-build-core", "1.1.2", "scikit_build_core-1.1.2-py3-none-any.whl",
         "7f4f959a467692db50bdd1ea7ce1507f2c7972e6023b753ee302d169bc4cec85"),
        ("pathspec", "1.1.1", "pathspec-1.1.1-py3-none-any.whl",
         "a00ce642f577bf7f473932318056212bc4f8bfdf53128c78bbd5af0b9b20b189"),
        ("packaging", "26.4", "packaging-26.4-py3-none-any.whl",
         "81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2"),
        ("cmake", "4.4.5", "cmake-4.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
         "85625a9b6d5e88ff99c7eb79123d85570844e77ac076366cf75c609cc0b1b579"),
        ("ninja", "1.13.2", "ninja-1.13.2-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
         "65a24341b5ac09fcadcc37082660be40a94174e51a937fabf6e2cae26225fa2c"),
    ],
    "setuptools": [(r.name, r.version, r.file, r.sha256) for r in SETUPTOOLS],
    "maturin": [
        (r.name, r.version, r.file, r.sha256)
        for r in load_recipe(REPO / "recipes" / "safetensors.toml").requires
        if r.name == "maturin"
    ],
}  # fmt: skip

# The C (or C++) source every C backend compiles: it reports the two macros at import.
REPORT = r"""
#include <Python.h>
static PyObject *flags(PyObject *s, PyObject *a) {
#ifdef __OPTIMIZE__
    int optimized = 1;
#else
    int optimized = 0;
#endif
#ifdef NDEBUG
    int ndebug = 1;
#else
    int ndebug = 0;
#endif
#ifdef BUILDER_TEST_EXTRA
    int extra = 1;
#else
    int extra = 0;
#endif
    return Py_BuildValue("{s:i,s:i,s:i}", "__OPTIMIZE__", optimized, "NDEBUG", ndebug,
                         "extra", extra);
}
static PyMethodDef m[] = {{"flags", flags, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "optrep", NULL, -1, m};
PyMODINIT_FUNC PyInit_optrep(void) { return PyModule_Create(&d); }
"""


def _pyproject(backend: str, requires: str) -> str:
    return (
        f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{backend}"\n\n'
        '[project]\nname = "optrep"\nversion = "1.0"\n'
    )


SDISTS: dict[str, dict[str, str]] = {
    "setuptools": {
        "pyproject.toml": _pyproject("setuptools.build_meta", '"setuptools"'),
        "setup.py": "from setuptools import Extension, setup\n"
        "setup(ext_modules=[Extension('optrep', ['optrep.c'])])\n",
        "optrep.c": REPORT,
    },
    "meson-python": {
        "pyproject.toml": _pyproject("mesonpy", '"meson-python"'),
        "meson.build": "project('optrep', 'c')\n"
        "py = import('python').find_installation(pure: false)\n"
        "py.extension_module('optrep', 'optrep.c', install: true)\n",
        "optrep.c": REPORT,
    },
    "scikit-build-core": {  # C++, to try the C++ compiler's flags too
        "pyproject.toml": _pyproject("scikit_build_core.build", '"scikit-build-core"'),
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.15)\nproject(optrep LANGUAGES CXX)\n"
        "find_package(Python COMPONENTS Interpreter Development.Module REQUIRED)\n"
        "python_add_library(optrep MODULE optrep.cpp WITH_SOABI)\n"
        "install(TARGETS optrep DESTINATION .)\n",
        "optrep.cpp": REPORT.replace("{NULL}}", "{NULL, NULL, 0, NULL}}"),
    },
    "maturin": {  # a binary: cargo's opt-level and debug assertions, from its build script
        "pyproject.toml": _pyproject("maturin", '"maturin>=1,<2"')
        + '\n[tool.maturin]\nbindings = "bin"\n',
        "Cargo.toml": '[package]\nname = "optrep"\nversion = "1.0.0"\nedition = "2021"\n',
        "Cargo.lock": 'version = 3\n\n[[package]]\nname = "optrep"\nversion = "1.0.0"\n',
        "build.rs": 'fn main() { println!("cargo:rustc-env=OPTREP_OPT_LEVEL={}", '
        'std::env::var("OPT_LEVEL").unwrap()); }\n',
        "src/main.rs": 'fn main() { println!("{{\\"opt_level\\": \\"{}\\", '
        '\\"debug_assertions\\": {}}}", env!("OPTREP_OPT_LEVEL"), cfg!(debug_assertions)); }\n',
    },
}


def _recipe(tmp_path: Path, store: Store, backend: str, env: str = "") -> Path:
    version = "1.0.0" if backend == "maturin" else "1.0"
    sdist = make_sdist(tmp_path / f"optrep-{version}.tar.gz", SDISTS[backend],
                       top=f"optrep-{version}")  # fmt: skip
    requires = "".join(
        f'\n[[build.requires]]\nname = "{n}"\nversion = "{v}"\nfile = "{f}"\nsha256 = "{s}"\n'
        for n, v, f, s in WHEELS[backend]
    )
    recipe = tmp_path / "optrep.toml"
    recipe.write_text(
        f'[package]\nname = "optrep"\nversion = "{version}"\n\n'
        f'[sdist]\nfile = "{sdist.name}"\nsha256 = "{store.add_file(sdist)}"\n\n'
        f'[build]\nimage = "{IMAGE}"\ncompiled = true\n{env}{requires}'
    )
    return recipe


@pytest.mark.parametrize("backend", ["setuptools", "meson-python", "scikit-build-core"])
def test_a_c_or_cxx_extension_is_optimized_with_assertions_off_whatever_its_build_system(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, backend: str
) -> None:
    recipe = _recipe(tmp_path, session_store, backend)
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    out = install_and_run(docker_client, image, report.wheel,
                          "import json, optrep; print(json.dumps(optrep.flags()))")  # fmt: skip
    assert json.loads(out) == {"__OPTIMIZE__": 1, "NDEBUG": 1, "extra": 0}, backend


@pytest.mark.parametrize("backend", ["setuptools", "meson-python"])
def test_a_recipes_cflags_are_added_and_the_build_systems_own_flags_kept(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, backend: str
) -> None:
    """Exported, CFLAGS would replace the flags setuptools takes from the image's Python
    (no -O2, no -DNDEBUG): a recipe's go to every compiler call, after the build's own."""
    env = 'env = { CFLAGS = "-DBUILDER_TEST_EXTRA=1" }\n'
    recipe = _recipe(tmp_path, session_store, backend, env)
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    out = install_and_run(docker_client, image, report.wheel,
                          "import json, optrep; print(json.dumps(optrep.flags()))")  # fmt: skip
    assert json.loads(out) == {"__OPTIMIZE__": 1, "NDEBUG": 1, "extra": 1}, backend
    compilers = report.record.run.compilers
    assert compilers["c"][-2:] == ("$@", "-DBUILDER_TEST_EXTRA=1")


def test_a_rust_extension_is_built_with_the_release_profile(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    recipe = _recipe(tmp_path, session_store, "maturin")
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    out = install_and_run(docker_client, image, report.wheel,
                          "import subprocess; subprocess.run(['/tmp/v/bin/optrep'])")  # fmt: skip
    assert json.loads(out) == {"opt_level": "3", "debug_assertions": False}
