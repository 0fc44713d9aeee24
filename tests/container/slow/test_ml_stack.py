"""The README's "Build a whole stack" example as a user runs it: a real ML stack (numpy and
scipy over meson-python, Cython and OpenBLAS, scipy with Fortran, C++ and pythran too; C, C++,
Cython-over-libyaml and Rust/maturin packages) planned
from the configured index, its runtime and build closures built here from source, every
wheel rebuilt bit for bit under variation, then published under the example's verify
policy, which allows no wheel from the index but the image's own tools.

The longest test of the suite (scipy's build, the Rust build of maturin and numpy's build,
each twice: about an hour and a half on 2 cores from a cold store).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from builder.cli import main
from builder.store import Store
from tests.conftest import json_output
from tests.readme_blocks import block, checkout_copy

# What the closure must hold for the example to show what it claims: numpy and each kind
# of native build, and the build backends under them, built here.
EXPECTED = {
    "numpy", "meson-python", "meson", "cython", "markupsafe", "msgpack", "pyyaml",
    "safetensors", "maturin", "setuptools-rust", "setuptools", "flit-core", "packaging",
    "scipy", "pythran", "pybind11",
}  # fmt: skip
IMAGE_PACKAGES = {"ninja": "ninja-build", "cmake": "cmake"}  # Debian's stand in
COMPILED = {"numpy": "numpy/_core/_multiarray_umath", "markupsafe": "markupsafe/_speedups",
            "msgpack": "msgpack/_cmsgpack", "pyyaml": "yaml/_yaml",
            "safetensors": "safetensors/_safetensors_rust",
            "scipy": "scipy/linalg/_flapack"}  # fmt: skip
BLAS = {"numpy": "numpy.libs/libopenblas", "scipy": "scipy.libs/libopenblas"}


def test_the_ml_stack_example_builds_from_source_rebuilds_bit_for_bit_and_publishes(  # type: ignore[no-untyped-def]
    bubblewrap, session_store: Store, tmp_path: Path, capsys, monkeypatch
) -> None:
    """The README's three commands as written (in a copy of the checkout), each with the
    session's store, the sandbox and --json added; then its report command."""
    work = checkout_copy(tmp_path / "checkout")
    monkeypatch.chdir(work)
    stack = block("builder plan recipes/ml-stack")
    store = ["--store", str(session_store.root)]
    common = [*store, "--backend", "sandbox", "-q", "--json"]
    assert main([*stack.argv(0, work), *common]) == 0, capsys.readouterr().err
    (graph,) = json_output(capsys.readouterr().out, "plan")["graphs"]
    sources = {n["name"]: n["source"] for n in graph["nodes"]}
    assert set(sources) >= EXPECTED, sorted(sources)
    stand_ins = {n: s for n, s in sources.items() if s != "built"}
    assert stand_ins == dict.fromkeys(IMAGE_PACKAGES, "image")

    code = main([*stack.argv(1, work), *common])
    every = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    assert code == 0, [n for n in every if n["state"] not in ("built", "cached", "image")]
    for node in (n for n in every if n["state"] == "image"):  # each with the version used
        debian = IMAGE_PACKAGES[node["node"].split("==")[0]]
        assert re.fullmatch(rf"{debian} \S+ from Debian", node["reason"]), node
    nodes = [n for n in every if n["state"] != "image"]
    assert all(n["reproducible"] and n["platform"] for n in nodes), nodes
    wheels = {n["node"].split("==")[0]: Path(n["wheel"]) for n in nodes}
    assert set(wheels) == set(sources) - set(IMAGE_PACKAGES)
    for name, wheel in wheels.items():
        record = json.loads(Path(f"{wheel}.build.json").read_text())
        assert record["rebuild"]["reproducible"], (name, record["rebuild"])
    for name, module in COMPILED.items():
        with zipfile.ZipFile(wheels[name]) as zf:
            assert any(m.startswith(module) and m.endswith(".so") for m in zf.namelist()), name
    # numpy and scipy over OpenBLAS, as upstream's: show_config() names it, and auditwheel
    # grafted it into each wheel.
    for name, grafted in BLAS.items():
        with zipfile.ZipFile(wheels[name]) as zf:
            config = zf.read(f"{name}/__config__.py").decode()
            assert '"name": "openblas"' in config, f"{name} built without a BLAS"
            assert any(m.startswith(grafted) for m in zf.namelist()), name

    assert main([*stack.argv(2, work), *store, "--json"]) == 0, capsys.readouterr().err
    assert (work / "index" / "simple" / "numpy" / "index.html").is_file()

    report = block("builder report --dist stack/dist")
    assert main([*report.argv(0, work), "--json"]) == 0, capsys.readouterr().err
    assert (work / "report" / "index.html").is_file()
