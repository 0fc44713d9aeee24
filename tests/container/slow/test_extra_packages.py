"""A recipe adds Debian packages to its image: a C extension that needs a library's
headers (libyaml) builds in an image made with them, and not without them."""

from __future__ import annotations

import json
from pathlib import Path

from builder.cli import main
from builder.store import Store
from tests.container.conftest import PYPROJECT, install_and_run, local_recipe

SETUP = """\
from setuptools import Extension, setup
setup(name="yamlext", version="1.0",
      ext_modules=[Extension("yamlext", ["yamlext.c"], libraries=["yaml"])])
"""
SOURCE = """\
#include <Python.h>
#include <yaml.h>
static PyObject *version(PyObject *s, PyObject *a) {
    return PyUnicode_FromString(yaml_get_version_string());
}
static PyMethodDef m[] = {{"version", version, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "yamlext", NULL, -1, m};
PyMODINIT_FUNC PyInit_yamlext(void) { return PyModule_Create(&d); }
"""


def test_a_recipes_extra_debian_packages_make_an_image_of_their_own_to_build_in(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    files = {"pyproject.toml": PYPROJECT, "setup.py": SETUP, "yamlext.c": SOURCE}
    recipe = local_recipe(tmp_path, session_store, "yamlext", files)
    argv = ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist",
            str(tmp_path / "dist"), "--no-attest"]  # fmt: skip
    assert main(argv) == 8, "without libyaml's headers the extension cannot build"
    assert (
        "yaml.h"
        in Path(capsys.readouterr().err.split("the full log is ")[1].split()[0]).read_text()
    )

    text = recipe.read_text().replace(
        'image = "trixie-py"', 'image = "trixie-py"\nextra-packages = ["libyaml-dev"]'
    )
    recipe.write_text(text)
    assert main(argv) == 0, capsys.readouterr().err
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    record = json.loads((tmp_path / "dist" / f"{wheel.name}.build.json").read_text())
    made = record["inputs"]["image"]
    assert made["name"].startswith("trixie-py+") and made["digest"] != f"sha256:{image.digest}"
    assert any(p["name"] == "libyaml-dev" for p in made["packages"])
    assert record["recipe"]["parameters"]["extra_packages"] == ["libyaml-dev"]
    assert any("libyaml" in g for g in record["output"]["grafted_libraries"])  # auditwheel
    out = install_and_run(docker_client, image, wheel, "import yamlext; print(yamlext.version())")
    assert out.strip().startswith("0.")  # runs in the plain image: libyaml is in the wheel
