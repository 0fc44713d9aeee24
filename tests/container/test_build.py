"""End to end: real recipes built in real containers, then installed and imported."""

from __future__ import annotations

import hashlib
import json
import signal
import uuid
from pathlib import Path

import pytest

from builder.cli import main
from builder.pipeline.build import build
from builder.pipeline.request import BuildRequest
from builder.progress import Silent
from builder.recipe import load_recipe
from builder.sandbox.docker import DockerSandbox
from builder.store import Store
from tests.conftest import REPO, json_output
from tests.container.conftest import (
    IMAGE,
    PYPROJECT,
    BuilderProcess,
    build_in_docker,
    builder_containers,
    c_extension_files,
    install_and_run,
    local_recipe,
    processes_with,
    sleepy_files,
    wait_until,
    workspace,
)


def test_markupsafe_builds_then_installs_and_works_in_a_fresh_container(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    report = build_in_docker(
        REPO / "recipes" / "markupsafe.toml", session_store, tmp_path, docker_client
    )
    assert report.wheel.name.startswith("markupsafe-3.0.3-cp313-cp313-manylinux")
    record = json.loads(report.record_path.read_text())
    assert record["inputs"]["sdist"]["sha256"] == (
        "722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698"
    )
    assert record["inputs"]["image"]["digest"] == f"sha256:{image.digest}"
    assert any(p["name"] == "python3" for p in record["inputs"]["image"]["packages"])
    assert record["run"]["network"] is False
    assert record["run"]["env"]["SOURCE_DATE_EPOCH"].isdigit()
    assert record["output"]["sha256"] == report.sha256
    out = install_and_run(
        docker_client, image, report.wheel,
        "import markupsafe, markupsafe._speedups; print(markupsafe.escape('<a>'))",
    )  # fmt: skip
    assert out.strip() == "&lt;a&gt;"


def test_an_unchanged_recipe_is_a_cache_hit_that_starts_no_container(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    recipe = local_recipe(tmp_path, session_store, "cachedext", c_extension_files("cachedext"))
    first = build_in_docker(recipe, session_store, tmp_path / "a", docker_client)

    def no_backend() -> DockerSandbox:
        raise AssertionError("a cache hit must not start a container")

    second = build(BuildRequest(recipe=load_recipe(recipe)),
                   workspace(session_store, tmp_path / "b", no_backend))  # fmt: skip
    assert (first.cached, second.cached) == (False, True)
    assert second.wheel.read_bytes() == first.wheel.read_bytes()
    out = install_and_run(
        docker_client, image, second.wheel, "import cachedext; print(cachedext.answer())"
    )
    assert out.strip() == "42"


def test_a_corrupt_stored_input_is_refused_and_nothing_is_written(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "corruptext", c_extension_files("corruptext"))
    text = recipe.read_text()
    digest = text.split('sha256 = "')[1].split('"')[0]
    obj = session_store.path_of(digest)  # type: ignore[arg-type]
    obj.chmod(0o644)
    obj.write_bytes(obj.read_bytes() + b"tampered")
    dist = tmp_path / "dist"
    try:
        code = main(["build", str(recipe), "--store", str(session_store.root), "--dist", str(dist)])
    finally:
        obj.unlink()
    assert code == 9
    assert "is corrupt" in capsys.readouterr().err
    assert not dist.exists() or list(dist.iterdir()) == []


def test_a_wrong_sdist_hash_fails_fetch_and_stores_nothing(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    wrong = "0" * 64
    recipe = tmp_path / "markupsafe.toml"
    recipe.write_text(
        text.replace("722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698", wrong)
    )
    dist = tmp_path / "dist"
    code = main(["build", str(recipe), "--store", str(session_store.root), "--dist", str(dist)])
    assert code == 4
    err = capsys.readouterr().err
    assert "markupsafe-3.0.3.tar.gz" in err and wrong in err
    assert not session_store.has(wrong)  # type: ignore[arg-type]
    assert not dist.exists()


def test_a_failing_build_exits_8_with_its_log_and_leaves_no_wheel(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    files = c_extension_files("brokenext")
    files["brokenext.c"] = "#error this extension does not compile\n"
    recipe = local_recipe(tmp_path, session_store, "brokenext", files)
    dist = tmp_path / "dist"
    code = main(
        ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist", str(dist)]
    )
    assert code == 8
    err = capsys.readouterr().err
    assert "build of brokenext 1.0" in err and "exited with status" in err
    log = Path(err.split("the full log is ")[1].split()[0])
    assert "this extension does not compile" in log.read_text()
    assert not dist.exists() or list(dist.iterdir()) == []


def test_an_unreachable_docker_daemon_is_a_clear_error(
    docker_client, image, session_store: Store, tmp_path: Path, monkeypatch, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "nodaemon", c_extension_files("nodaemon"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main([*argv, "--backend", "docker"]) == 7
    assert "the Docker daemon does not answer" in capsys.readouterr().err


def test_a_missing_bubblewrap_is_a_clear_error(
    docker_client, image, session_store: Store, tmp_path: Path, monkeypatch, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "nobwrap", c_extension_files("nobwrap"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main([*argv, "--backend", "sandbox"]) == 7
    assert "bubblewrap (bwrap) is not installed" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["docker", "sandbox"], indirect=True)
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_signal_during_a_build_removes_its_container_and_exits_with_its_code(  # type: ignore[no-untyped-def]
    signum: int, code: int, word: str, backend: str, docker_client, image,
    session_store: Store, tmp_path: Path,
) -> None:  # fmt: skip
    token = uuid.uuid4().hex
    name = f"sleepy{code}"
    recipe = local_recipe(tmp_path, session_store, name, sleepy_files(name, token))
    argv = [
        "build",
        "-v",
        str(recipe),
        "--store",
        str(session_store.root),
        "--dist",
        str(tmp_path),
        "--backend",
        backend,
        "--no-attest",
    ]  # fmt: skip (-v: the log streams)
    builder = BuilderProcess(argv)
    try:
        builder.wait_for(f"SLEEPY {token} started")
        builder.proc.send_signal(signum)
        assert builder.finish() == code, builder.err
    finally:
        builder.proc.kill()
    assert word in builder.err
    assert wait_until(lambda: not processes_with(token), 10), processes_with(token)
    assert builder_containers(docker_client) == []
    assert not list((session_store.root / "tmp").glob("build-*"))


@pytest.mark.parametrize("backend", ["docker", "sandbox"], indirect=True)
def test_a_builder_killed_with_sigkill_leaves_no_build_running(  # type: ignore[no-untyped-def]
    backend: str, docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    """SIGKILL (the OOM killer, a CI time-out) gives builder no chance to clean up: the
    build must still end within seconds, and the next run removes what is left and says
    so; the store still verifies."""
    token = uuid.uuid4().hex
    recipe = local_recipe(tmp_path, session_store, "killed", sleepy_files("killed", token))
    store = ["--store", str(session_store.root)]
    argv = [
        "build",
        "-v",
        str(recipe),
        *store,
        "--dist",
        str(tmp_path / "a"),
        "--backend",
        backend,
        "--no-attest",
    ]  # fmt: skip (-v: the log streams)
    builder = BuilderProcess(argv)
    try:
        builder.wait_for(f"SLEEPY {token} started")
    finally:
        builder.proc.kill()
    builder.finish()

    def build_runs() -> list[str]:
        running = [c for c in builder_containers(docker_client) if c.status == "running"]
        return processes_with(token) + [f"container {c.name}" for c in running]

    assert wait_until(lambda: not build_runs(), 5), build_runs()

    after = local_recipe(tmp_path, session_store, "afterkill", c_extension_files("afterkill"))
    argv = ["build", "-q", str(after), *store, "--dist", str(tmp_path / "b"), "--no-attest"]
    assert main([*argv, "--backend", backend]) == 0
    err = capsys.readouterr().err
    assert f"removed what a dead builder run left: {session_store.root}/tmp/build-" in err
    assert f"(builder pid {builder.proc.pid})" in err
    assert main(["store", "verify", *store]) == 0
    assert builder_containers(docker_client) == []


def test_image_build_says_the_current_image_as_json(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, capsys
) -> None:
    argv = ["image", "build", image.name, "--json", "--store", str(session_store.root)]
    assert main([*argv, "--backend", "docker"]) == 0
    said = json_output(capsys.readouterr().out, "image-build")
    assert said["digest"] == image.digest and said["ok"] is True


def _patched_recipe(tmp_path: Path, store: Store, name: str, patch: str) -> Path:
    recipe = local_recipe(tmp_path, store, name, c_extension_files(name))
    (tmp_path / "answer.patch").write_text(patch)
    digest = hashlib.sha256(patch.encode()).hexdigest()
    with recipe.open("a") as f:
        f.write(f'\n[[patches]]\nfile = "answer.patch"\nsha256 = "{digest}"\n')
    return recipe


def _answer_patch(name: str, old: str, new: str) -> str:
    line = "static PyObject *answer(PyObject *s, PyObject *a) { return PyLong_FromLong(%s); }\n"
    return f"--- a/{name}.c\n+++ b/{name}.c\n@@ -2 +2 @@\n-{line % old}+{line % new}"


def test_a_recipes_patch_is_applied_before_the_build_and_named_in_the_provenance(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = _patched_recipe(tmp_path, session_store, "patchedext",
                             _answer_patch("patchedext", "42", "43"))  # fmt: skip
    argv = ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist",
            str(tmp_path / "dist"), "--attestations", str(tmp_path / "att")]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    out = install_and_run(
        docker_client, image, wheel, "import patchedext; print(patchedext.answer())"
    )
    assert out.strip() == "43"
    record = json.loads((tmp_path / "dist" / f"{wheel.name}.build.json").read_text())
    assert [p["file"] for p in record["recipe"]["parameters"]["patches"]] == ["answer.patch"]
    assert (
        record["inputs"]["patches"][0]["sha256"]
        == hashlib.sha256((tmp_path / "answer.patch").read_bytes()).hexdigest()
    )


def test_a_patch_that_does_not_apply_stops_the_build_naming_it(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = _patched_recipe(tmp_path, session_store, "unpatchedext",
                             _answer_patch("unpatchedext", "41", "43"))  # fmt: skip
    argv = ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist",
            str(tmp_path / "dist"), "--no-attest"]  # fmt: skip
    assert main(argv) == 8
    err = capsys.readouterr().err
    assert "build of unpatchedext 1.0" in err and "patch answer.patch does not apply" in err
    (tmp_path / "answer.patch").write_text("edited, and its pin not")
    assert main(argv) == 4
    assert "answer.patch: sha256 mismatch" in capsys.readouterr().err


FALLBACK_SETUP = """\
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

class optional(build_ext):  # as many packages do: no compiler, no headers, pure Python
    def run(self):
        try:
            super().run()
        except Exception as exc:
            print("falling back to pure Python:", exc)

setup(name="fallbackext", version="1.0", packages=["fallbackext"],
      ext_modules=[Extension("fallbackext._speed", ["fallbackext/_speed.c"])],
      cmdclass={"build_ext": optional})
"""


def test_a_build_that_falls_back_to_pure_python_skips_repair_or_fails_when_compiled_is_required(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    files = {
        "pyproject.toml": PYPROJECT,
        "setup.py": FALLBACK_SETUP,
        "fallbackext/__init__.py": "",
        "fallbackext/_speed.c": "#include <no-such-library.h>\n",
    }
    recipe = local_recipe(tmp_path, session_store, "fallbackext", files)
    argv = [
        "build",
        "-v",
        str(recipe),
        "--store",
        str(session_store.root),
        "--dist",
        str(tmp_path / "dist"),
        "--no-attest",
    ]  # fmt: skip (-v: the log streams)
    assert main(argv) == 0, capsys.readouterr().err
    assert "holds no compiled code" in capsys.readouterr().err  # no auditwheel failure
    required = 'image = "trixie-py"\ncompiled = true'
    recipe.write_text(recipe.read_text().replace('image = "trixie-py"', required))
    assert main(argv) == 8
    assert "holds no compiled code, and the recipe says compiled = true" in capsys.readouterr().err


ABI3_SETUP = """\
from setuptools import Extension, setup
setup(name="nolibc", version="1.0",
      ext_modules=[Extension("nolibc", ["nolibc.c"], py_limited_api=True,
                             define_macros=[("Py_LIMITED_API", "0x03090000")])],
      options={"bdist_wheel": {"py_limited_api": "cp39"}})
"""


def test_an_abi3_extension_that_links_no_c_library_is_tagged_for_any_glibc(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    """Its .so needs no library at all (tornado's speedups is one): auditwheel cannot
    tell its libc from it or from an abi3 file name, and is asked for the oldest policy."""
    files = {**c_extension_files("nolibc"), "setup.py": ABI3_SETUP}
    recipe = local_recipe(tmp_path, session_store, "nolibc", files)
    argv = ["build", "-v", str(recipe), "--store", str(session_store.root), "--dist",
            str(tmp_path / "dist"), "--no-attest"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert "the extension modules need no C library: manylinux_2_5_x86_64" in (
        capsys.readouterr().err
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name == "nolibc-1.0-cp39-abi3-manylinux1_x86_64.manylinux_2_5_x86_64.whl"
    out = install_and_run(docker_client, image, wheel, "import nolibc; print(nolibc.answer())")
    assert out.strip() == "42"


def test_a_crate_that_needs_a_newer_rustc_fails_saying_which_rustc_and_which_image(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """A made sdist whose setup.py runs cargo on a crate with `rust-version` above the
    image's rustc (trixie's 1.85): cargo refuses before compiling, and builder says what
    it needs and names the image with a newer rustc."""
    from builder.errors import BuildFailed

    cargo = ("import subprocess\nsubprocess.run(['cargo', 'build', '--offline', "
             "'--manifest-path', 'tiny/Cargo.toml'], check=True)\n")  # fmt: skip
    files = {**c_extension_files("rusty", setup_extra=cargo),
             "tiny/Cargo.toml": '[package]\nname = "tiny"\nversion = "0.1.0"\n'
                                'edition = "2021"\nrust-version = "1.90"\n',
             "tiny/src/lib.rs": "pub fn answer() -> u32 { 42 }\n"}  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "rusty", files)
    with pytest.raises(BuildFailed) as info:
        build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    assert "cargo needs rustc 1.90 or newer (tiny@0.1.0 requires rustc 1.90)" in str(info.value)
    assert "the image trixie-py has rustc 1.85" in str(info.value)
    assert info.value.hint is not None and "trixie-backports-py" in info.value.hint


def test_a_crate_that_declares_no_rust_version_but_needs_a_newer_rustc_names_the_image(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """As tiktoken 0.14.0: no `rust-version`, so cargo compiles, and trixie's rustc 1.85
    stops at a feature stable only later (let chains): builder says which rustc failed on
    which crate, with rustc's first error, and names the image with a newer rustc."""
    from builder.errors import BuildFailed

    cargo = ("import subprocess\nsubprocess.run(['cargo', 'build', '--offline', "
             "'--manifest-path', 'tiny/Cargo.toml'], check=True)\n")  # fmt: skip
    chains = ("pub fn answer(a: Option<u32>) -> u32 {\n"
              "    if let Some(x) = a && x > 1 { x } else { 42 }\n}\n")  # fmt: skip
    files = {**c_extension_files("chains", setup_extra=cargo),
             "tiny/Cargo.toml": '[package]\nname = "tiny"\nversion = "0.1.0"\n'
                                'edition = "2024"\n',
             "tiny/src/lib.rs": chains}  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "chains", files)
    with pytest.raises(BuildFailed) as info:
        build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    assert "rustc 1.85.1 of the image trixie-py could not compile `tiny`: error[E0658]" in str(
        info.value
    )
    assert info.value.hint is not None and "trixie-backports-py" in info.value.hint


def test_an_sdist_without_a_cargo_lock_builds_offline_from_the_lock_resolved_once(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """A crate that depends on a registry crate and ships no Cargo.lock: cargo resolves
    one in the image (network on, once), it enters the recipe as a patch pinned by sha256,
    and the build (no network) vendors the crates it pins."""
    from builder.fetch.cargo_lock import lock_patches, lockless_projects
    from builder.recipe import load_recipe

    cargo = ("import subprocess\nsubprocess.run(['cargo', 'build', '--offline', '--locked'], "
             "check=True)\n")  # fmt: skip
    files = {**c_extension_files("locked", setup_extra=cargo),
             "Cargo.toml": '[package]\nname = "tiny"\nversion = "0.1.0"\n'
                           'edition = "2021"\n\n[dependencies]\nitoa = "1"\n',
             "src/lib.rs": "pub fn answer() -> String { itoa::Buffer::new().format(42)"
                           ".to_string() }\n"}  # fmt: skip
    recipe_path = local_recipe(tmp_path, session_store, "locked", files)
    sdist = load_recipe(recipe_path).sdist
    projects = lockless_projects(session_store.path_of(sdist.sha256))
    assert projects == [""]
    (patch,) = lock_patches(sdist, projects, image=image, store=session_store,
                            sandbox=DockerSandbox(docker_client), progress=Silent())  # fmt: skip
    assert patch.file == "locked-1.0-Cargo.lock.patch"
    (tmp_path / patch.file).write_bytes(patch.path.read_bytes())
    with recipe_path.open("a") as f:
        f.write(f'\n[[patches]]\nfile = "{patch.file}"\nsha256 = "{patch.sha256}"\n')
    report = build_in_docker(recipe_path, session_store, tmp_path / "dist", docker_client)
    record = json.loads(report.record_path.read_text())
    assert [c["name"] for c in record["inputs"]["crates"]] == ["itoa"]


class _RunsAShell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, ("echo pwned",)


def pickle_setup(version: str = "1.0") -> str:
    return (
        "from setuptools import setup\n"
        f"setup(name='pk', version='{version}', packages=['pk'],\n"
        "      package_data={'pk': ['*.pkl']})\n"
    )


def test_an_sdist_with_a_dangerous_pickle_is_refused_before_any_build(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    import pickle

    files = {"pyproject.toml": PYPROJECT, "setup.py": pickle_setup(), "pk/__init__.py": "",
             "pk/model.pkl": pickle.dumps(_RunsAShell(), protocol=4)}  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "pk", files)
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist",
            str(tmp_path / "dist"), "--no-attest", "--backend", "docker"]  # fmt: skip
    assert main(argv) == 5
    err = capsys.readouterr().err
    assert "pk-1.0/pk/model.pkl imports posix.system" in err
    assert "building pk" not in err and not (tmp_path / "dist").exists()


def test_the_pickle_scans_of_sdist_and_wheel_go_into_the_record_and_provenance(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    import collections
    import pickle

    from builder.provenance.statements import provenance
    from builder.wheelbuild.record import BuildRecord

    files = {"pyproject.toml": PYPROJECT, "setup.py": pickle_setup("1.1"), "pk/__init__.py": "",
             "pk/table.pkl": pickle.dumps(collections.OrderedDict(a=1))}  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "pk", files, version="1.1")
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    record = BuildRecord.from_json(json.loads(report.record_path.read_text()))
    assert record.scans is not None
    assert record.scans["sdist"]["scanned"] == ["pk-1.1/pk/table.pkl"]
    assert record.scans["wheel"]["scanned"] == ["pk/table.pkl"]
    assert record.scans["wheel"]["scanner"].startswith("picklescan ")
    byproducts = provenance(record, None)["runDetails"]["byproducts"]
    assert {"name": "pickle-scan", "annotations": dict(record.scans)} in byproducts


def test_a_build_that_records_its_cflags_is_reproducible_at_another_build_path(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """A C extension that writes the CFLAGS it was built with into the wheel (as numpy's
    __config__.py does): builder sets none (the compiler wrappers add the prefix map, in a
    specs file at a fixed path), so the flags name no build root and a rebuild at another
    path gives the same wheel."""
    record_flags = ("import os, pathlib\npathlib.Path('flagged_config.py').write_text("
                    "f'CFLAGS = {os.environ.get(\"CFLAGS\", \"\")!r}\\n')\n")  # fmt: skip
    files = c_extension_files("flagged", setup_extra=record_flags).copy()
    files["flagged.c"] = files["flagged.c"].replace(  # a path the compiler records itself
        "return PyLong_FromLong(42);", "return PyUnicode_FromString(__FILE__);"
    )
    files["setup.py"] = (
        files["setup.py"]
        .replace(
            "setup(name='flagged', version='1.0', ",
            "setup(name='flagged', version='1.0', py_modules=['flagged_config'], ",
        )
        .replace("['flagged.c']", "[os.path.abspath('flagged.c')]")
    )  # __FILE__: the build root
    recipe = local_recipe(tmp_path, session_store, "flagged", files)
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client,
                             rebuilds=1, vary=frozenset({"build-path"}))  # fmt: skip
    assert report.rebuild is not None and report.rebuild.reproducible
    import zipfile

    with zipfile.ZipFile(report.wheel) as zf:
        recorded = zf.read("flagged_config.py").decode()
    assert recorded == "CFLAGS = ''\n"
    out = install_and_run(
        docker_client, image, report.wheel, "import flagged; print(flagged.answer())"
    )
    assert out.strip() == "./unpacked/flagged-1.0/flagged.c", "the compiler mapped the root to ."


def test_a_build_that_compiles_in_a_temporary_folder_and_records_its_source_path_rebuilds_the_same(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """As frozenlist's backend and meson-python do: the C file is compiled from a folder
    tempfile names (its path reaches __FILE__), and the absolute source folder is written
    into an installed .py (contourpy's _build_config.py). tempfile's names are seeded in the
    build venv and TMPDIR is under the mapped root; the rebuild's root is written as /buildroot
    in the text member, and the rebuild report names it."""
    import zipfile

    setup = (
        "import os, pathlib, shutil, tempfile\n"
        "from setuptools import Extension, setup\n"
        "work = tempfile.mkdtemp()\n"
        "shutil.copy('tmpbuilt.c', work)\n"
        "pathlib.Path('tmpbuilt_config.py').write_text(f'SOURCE = {os.path.abspath(\".\")!r}\\n')\n"
        "setup(name='tmpbuilt', version='1.0', py_modules=['tmpbuilt_config'], "
        "ext_modules=[Extension('tmpbuilt', [os.path.join(work, 'tmpbuilt.c')])])\n"
    )
    files = {**c_extension_files("tmpbuilt"), "setup.py": setup}
    files["tmpbuilt.c"] = files["tmpbuilt.c"].replace(
        "return PyLong_FromLong(42);", "return PyUnicode_FromString(__FILE__);"
    )
    recipe = local_recipe(tmp_path, session_store, "tmpbuilt", files)
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client, rebuilds=1)
    assert report.rebuild is not None and report.rebuild.reproducible, report.rebuild
    (rebuilt,) = report.rebuild.rebuilds
    assert rebuilt.remapped == ("tmpbuilt_config.py",)
    with zipfile.ZipFile(report.wheel) as zf:
        source = zf.read("tmpbuilt_config.py").decode()
        assert source == "SOURCE = '/buildroot/unpacked/tmpbuilt-1.0'\n"
    out = install_and_run(
        docker_client, image, report.wheel, "import tmpbuilt; print(tmpbuilt.answer())"
    )
    assert out.strip().startswith("./tmp/tmp") and out.strip().endswith("/tmpbuilt.c"), out


def test_a_maturin_wheel_built_at_two_paths_is_the_same_its_sbom_written_at_build(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """maturin embeds a CycloneDX SBOM (PEP 770) whose refs carry the build path; the
    driver writes a rebuild's root as /buildroot there, and the rebuild report says so."""
    import zipfile

    from builder.recipe import load_recipe

    files = {
        "pyproject.toml": '[build-system]\nrequires = ["maturin>=1,<2"]\n'
                          'build-backend = "maturin"\n\n[project]\nname = "sbomtiny"\n'
                          'version = "0.1.0"\n\n[tool.maturin]\nbindings = "bin"\n',
        "Cargo.toml": '[package]\nname = "sbomtiny"\nversion = "0.1.0"\nedition = "2021"\n',
        "Cargo.lock": '# This file is automatically @generated by Cargo.\nversion = 3\n\n'
                      '[[package]]\nname = "sbomtiny"\nversion = "0.1.0"\n',
        "src/main.rs": 'fn main() { println!("42"); }\n',
    }  # fmt: skip
    (maturin,) = [r for r in load_recipe(REPO / "recipes" / "safetensors.toml").requires
                  if r.name == "maturin"]  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "sbomtiny", files, version="0.1.0",
                          requires=[maturin])  # fmt: skip
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client,
                             rebuilds=1, vary=frozenset({"build-path"}))  # fmt: skip
    with zipfile.ZipFile(report.wheel) as zf:
        sboms = [n for n in zf.namelist() if "/sboms/" in n and n.endswith(".json")]
        assert sboms, "maturin put no SBOM in the wheel"
        assert "/buildroot/" in zf.read(sboms[0]).decode()
    assert report.rebuild is not None and report.rebuild.reproducible
    (rebuilt,) = report.rebuild.rebuilds
    assert rebuilt.remapped == tuple(sboms)


def test_a_recipes_config_settings_reach_the_build_backend_and_the_provenance(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """`[build] config-settings` (meson-python's setup-args, ...) go to the PEP 517
    build_wheel hook as they are; an in-tree backend writes what it got into the wheel."""
    import zipfile

    backend = (
        "import json, pathlib\n"
        "from setuptools import build_meta as _meta\n"
        "from setuptools.build_meta import *  # noqa: F403\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    pathlib.Path('seen.py').write_text(f'SEEN = {json.dumps(config_settings)!r}\\n')\n"
        "    return _meta.build_wheel(wheel_directory, None, metadata_directory)\n"
    )
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": backend,
        "setup.py": "from setuptools import setup\nsetup(name='cs', version='1.0', "
                    "py_modules=['seen'])\n",
        "seen.py": "SEEN = None\n",
    }  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "cs", files)
    recipe.write_text(recipe.read_text().replace(
        f'image = "{IMAGE}"\n',
        f'image = "{IMAGE}"\nconfig-settings = {{ setup-args = ["-Dsystem-freetype=true"], '
        'mode = "fast" }\n',
    ))  # fmt: skip
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    with zipfile.ZipFile(report.wheel) as zf:
        seen = zf.read("seen.py").decode()
    assert seen == 'SEEN = \'{"mode": "fast", "setup-args": ["-Dsystem-freetype=true"]}\'\n'
    assert report.record.parameters["config_settings"] == {
        "mode": "fast",
        "setup-args": ["-Dsystem-freetype=true"],
    }
