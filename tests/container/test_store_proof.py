"""The cache and the store serve and sign only what they can prove (issue 31): real builds,
real backends, faults put into a store of the test's own (its objects hard links to the
session store's, which stay read-only: every fault replaces a file, never writes into one)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from builder.cli import main
from builder.provenance.signing import new_key
from builder.store import Store
from tests.conftest import json_output
from tests.container.conftest import PYPROJECT, c_extension_files, local_recipe

FALLBACK_SETUP = """\
import os
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

class optional(build_ext):
    def run(self):
        try:
            super().run()
        except Exception as exc:
            print("WARNING: the extension could not be compiled:", exc)

if os.environ.get("HOG"):  # take every process the pids limit leaves, as parallel jobs do
    import subprocess
    for _ in range(64):
        try:
            subprocess.Popen(["sleep", "600"])
        except OSError as exc:
            print("no more processes:", exc)
            break
    if os.environ.get("GIVE_UP"):  # as make -j does: tries its jobs again for a while, then fails
        import sys, time
        for _ in range(50):
            try:
                subprocess.Popen(["true"])
            except OSError:
                time.sleep(0.02)
        sys.exit("could not start the compiler")
speed = Extension("fallbackext._speed", ["fallbackext/_speed.c"])
ext = [] if os.environ.get("NO_EXT") else [speed]
setup(name="fallbackext", version="1.0", packages=["fallbackext"], ext_modules=ext,
      cmdclass={"build_ext": optional})
"""
FALLBACK_FILES = {
    "pyproject.toml": PYPROJECT,
    "setup.py": FALLBACK_SETUP,
    "fallbackext/__init__.py": "",
    "fallbackext/_speed.c": (
        "#include <Python.h>\n"
        'static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&d); }\n"
    ),
}


@pytest.fixture
def own_store(session_store: Store, image: object, tmp_path: Path) -> Store:
    """A store of this test's own with the session store's image and inputs (hard links)."""
    root = tmp_path / "store"
    for sub in ("objects", "images"):
        source = session_store.root / sub
        if source.is_dir():
            shutil.copytree(source, root / sub, copy_function=os.link)
    return Store(root)


def _build(recipe: Path, store: Store, dist: Path, *extra: str) -> int:
    return main(["build", "-q", str(recipe), "--store", str(store.root), "--dist", str(dist),
                 "--no-attest", *extra])  # fmt: skip


def _replace(path: Path, data: bytes) -> None:
    """Change a file as an editor does: a new file in its place (a hard link's other
    names keep the old bytes)."""
    mode = path.stat().st_mode & 0o7777
    path.unlink()
    path.write_bytes(data)
    path.chmod(mode)


@pytest.mark.parametrize("backend", ["docker", "sandbox"], indirect=True)
def test_a_limit_that_takes_the_compiler_away_fails_the_build_naming_it(
    backend: str, own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = local_recipe(tmp_path, own_store, "fallbackext", FALLBACK_FILES, limits={"pids": 16})
    hog = recipe.read_text().replace(
        'image = "trixie-py"', 'image = "trixie-py"\nenv = { HOG = "1" }'
    )
    recipe.write_text(hog)
    dist = tmp_path / "dist"
    assert _build(recipe, own_store, dist, "--backend", backend) == 8
    err = capsys.readouterr().err
    assert "pids = 16" in err and "raise pids" in err, err
    assert not list(dist.glob("*.whl")), "no wheel, pure or not"
    assert not list((own_store.root / "builds").glob("*.json")), "nothing cached"


@pytest.mark.parametrize("backend", ["docker", "sandbox"], indirect=True)
def test_a_build_that_exits_failing_at_its_pids_limit_is_said_to_have_reached_it(
    backend: str, own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The build ends by itself, its processes refused: the container's cgroup goes with it,
    yet the failure names the limit."""
    recipe = local_recipe(tmp_path, own_store, "fallbackext", FALLBACK_FILES, limits={"pids": 16})
    env = 'env = { HOG = "1", GIVE_UP = "1" }'
    recipe.write_text(
        recipe.read_text().replace('image = "trixie-py"', f'image = "trixie-py"\n{env}')
    )
    assert _build(recipe, own_store, tmp_path / "dist", "--backend", backend) == 8
    err = capsys.readouterr().err
    assert "pids = 16" in err and "raise pids" in err, err


def test_a_pure_wheel_where_the_last_build_was_compiled_fails_and_is_not_cached(
    own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = local_recipe(tmp_path, own_store, "fallbackext", FALLBACK_FILES)
    assert _build(recipe, own_store, tmp_path / "a") == 0, capsys.readouterr().err
    capsys.readouterr()
    text = recipe.read_text()
    pure = text.replace('image = "trixie-py"', 'image = "trixie-py"\nenv = { NO_EXT = "1" }')
    recipe.write_text(pure)
    assert _build(recipe, own_store, tmp_path / "b") == 8
    err = capsys.readouterr().err
    assert "holds no compiled code, where its build" in err and "compiled fallbackext" in err
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").glob("*.whl"))
    assert len(list((own_store.root / "builds").glob("*.json"))) == 1, "only the compiled one"


def test_a_cache_hit_after_rebuilds_signs_the_rebuild_statement_again(
    own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = local_recipe(tmp_path, own_store, "rebuiltext", c_extension_files("rebuiltext"))
    pair = new_key(tmp_path / "key.pem")
    policy = tmp_path / "policy.toml"
    policy.write_text('[verify]\nreproducible = "raw"\n')
    argv = ["build", "-q", str(recipe), "--store", str(own_store.root), "--dist",
            str(tmp_path / "dist"), "--attestations", str(tmp_path / "att"), "--key",
            str(pair.private)]  # fmt: skip
    assert main([*argv, "--rebuilds", "1"]) == 0, capsys.readouterr().err
    bundle = next((tmp_path / "att").glob("*.intoto.jsonl"))
    first = bundle.read_text().splitlines()
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0  # a cache hit, no --rebuilds
    said = json_output(capsys.readouterr().out, "build")
    assert said["cached"] is True and said["reproducible"] is True
    again = bundle.read_text().splitlines()
    assert len(again) == len(first) == 3, "provenance, rebuild result, SBOM"
    wheel = next((tmp_path / "dist").glob("*.whl"))
    assert (tmp_path / "dist" / f"{wheel.name}.rebuild.json").is_file()
    verify = ["verify", str(wheel), "--key", str(pair.public), "--attestation", str(bundle),
              "--policy", str(policy)]  # fmt: skip
    assert main(verify) == 0, capsys.readouterr().err


def test_a_cache_hit_reuses_the_rebuilds_it_recorded_when_the_same_are_asked_for(
    own_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    recipe = local_recipe(tmp_path, own_store, "reusedext", c_extension_files("reusedext"))
    argv = ["--backend", "docker", "--rebuilds", "1", "--json"]
    assert _build(recipe, own_store, tmp_path / "a", *argv) == 0, capsys.readouterr().err
    first = json_output(capsys.readouterr().out, "build")
    with monkeypatch.context() as no_backend:  # a run would fail: none may be needed
        no_backend.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
        assert _build(recipe, own_store, tmp_path / "b", *argv) == 0, capsys.readouterr().err
        again = json_output(capsys.readouterr().out, "build")
    assert again["cached"] is True and again["reproducible"] is True
    assert (first["rebuilds"], again["rebuilds"]) == ("run", "recorded")
    report = json.loads(Path(again["rebuild_report"]).read_text())
    assert report == json.loads(Path(first["rebuild_report"]).read_text())
    # Other rebuilds than those recorded run: two, or one without the uid variation.
    for other in (["--rebuilds", "2"], ["--rebuilds", "1", "--no-vary", "uid"]):
        assert _build(recipe, own_store, tmp_path / "c", "--json", *other) == 0
        said = json_output(capsys.readouterr().out, "build")
        assert said["rebuilds"] == "run" and said["reproducible"] is True


@pytest.mark.parametrize("backend", ["sandbox"], indirect=True)
def test_a_tampered_unpacked_image_is_refused_naming_it_and_made_again(
    backend: str, own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = local_recipe(tmp_path, own_store, "rootfsext", c_extension_files("rootfsext"))
    assert _build(recipe, own_store, tmp_path / "a", "--backend", backend) == 0
    (rootfs,) = [p for p in (own_store.root / "rootfs").iterdir() if p.is_dir()]
    header = next(rootfs.glob("usr/include/python3*/Python.h"))
    original = header.read_bytes()
    _replace(header, original + b"\n#define TAMPERED 1\n")
    capsys.readouterr()
    store = ["store", "verify", "--store", str(own_store.root)]
    assert main(store) == 9
    assert f"unpacked image {rootfs}" in capsys.readouterr().err
    other = local_recipe(tmp_path, own_store, "rootfsext2", c_extension_files("rootfsext2"))
    assert _build(other, own_store, tmp_path / "b", "--backend", backend) == 9
    err = capsys.readouterr().err
    assert "differ from what was made" in err and "Python.h: changed" in err, err
    assert not rootfs.exists(), "removed, to be made again"
    assert _build(other, own_store, tmp_path / "b", "--backend", backend) == 0
    assert header.read_bytes() == original
    assert main(store) == 0


def test_a_tampered_or_lost_venv_file_is_refused_and_the_venvs_made_again(
    own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = local_recipe(tmp_path, own_store, "venvext", c_extension_files("venvext"))
    assert _build(recipe, own_store, tmp_path / "a") == 0
    (venvs,) = [p for p in (own_store.root / "venvs").iterdir() if p.is_dir()]
    module = next(venvs.rglob("setuptools/__init__.py"))
    _replace(module, module.read_bytes() + b"\nimport os  # tampered\n")
    next(venvs.rglob("*.dist-info/RECORD")).unlink()
    capsys.readouterr()
    assert main(["store", "verify", "--store", str(own_store.root), "--repair"]) == 0
    assert "repaired" in capsys.readouterr().err
    assert not venvs.exists()
    assert _build(recipe, own_store, tmp_path / "b", "--rebuilds", "1") == 0
    assert "tampered" not in next(venvs.rglob("setuptools/__init__.py")).read_text()
    module = next(venvs.rglob("setuptools/__init__.py"))
    module.unlink()
    other = local_recipe(tmp_path, own_store, "venvext2", c_extension_files("venvext2"))
    assert _build(other, own_store, tmp_path / "c") == 9
    err = capsys.readouterr().err
    assert "prepared build venvs" in err and "__init__.py: removed" in err, err
    assert _build(other, own_store, tmp_path / "c") == 0


def test_an_edited_build_record_is_never_served_and_the_next_run_builds_anew(
    own_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = local_recipe(tmp_path, own_store, "mineext", c_extension_files("mineext"))
    theirs = local_recipe(tmp_path, own_store, "theirsext", c_extension_files("theirsext"))
    assert _build(mine, own_store, tmp_path / "a") == 0
    assert _build(theirs, own_store, tmp_path / "b") == 0
    records = {json.loads(p.read_text())["recipe"]["parameters"]["name"]: p
               for p in (own_store.root / "builds").glob("*.json")}  # fmt: skip
    edited = json.loads(records["mineext"].read_text())
    edited["output"]["sha256"] = json.loads(records["theirsext"].read_text())["output"]["sha256"]
    records["mineext"].write_text(json.dumps(edited))
    capsys.readouterr()
    assert main(["store", "verify", "--store", str(own_store.root)]) == 9
    assert f"build record {records['mineext']}" in capsys.readouterr().err
    dist = tmp_path / "c"
    assert _build(mine, own_store, dist) == 9
    err = capsys.readouterr().err
    assert "does not agree with what it names" in err and "holds theirsext" in err, err
    assert not dist.exists() or not list(dist.glob("*.whl"))
    assert _build(mine, own_store, dist) == 0
    (wheel,) = dist.glob("*.whl")
    assert wheel.name.startswith("mineext-1.0-")
