"""`builder recipe new` against the configured index, its lock resolved in the real image."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.recipe import load_recipe
from builder.store import Store
from tests.conftest import REPO
from tests.container.conftest import build_in_docker, install_and_run, local_recipe

pytestmark = pytest.mark.network


def test_recipe_new_pins_the_sdist_and_a_build_closure_that_builds(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    written = tmp_path / "markupsafe.toml"
    argv = ["recipe", "new", "MarkupSafe==3.0.3", "-q", "-o", str(written)]
    assert main([*argv, "--store", str(session_store.root)]) == 0
    new = load_recipe(written)
    reference = load_recipe(REPO / "recipes" / "markupsafe.toml")
    assert (new.sdist.file, new.sdist.sha256) == (reference.sdist.file, reference.sdist.sha256)
    assert new.sdist.index is not None, "the lock records the index each file came from"
    assert [r.name for r in new.requires] == ["setuptools"]
    assert all(r.index == new.sdist.index for r in new.requires)
    assert all(session_store.has(r.sha256) for r in new.requires)
    report = build_in_docker(written, session_store, tmp_path / "dist", docker_client)
    out = install_and_run(
        docker_client, image, report.wheel, "import markupsafe; print(markupsafe.escape('&'))"
    )
    assert out.strip() == "&amp;"


def test_recipe_new_resolves_in_the_image_with_the_extra_packages_it_is_given(
    docker_client, image, session_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """psycopg2's setup.py runs pg_config even to say what it needs to build: without
    libpq-dev in the image, recipe new cannot ask it; with --extra-package it can, and
    the recipe says so (the build then runs in that same image)."""
    written = tmp_path / "psycopg2.toml"
    argv = ["recipe", "new", "psycopg2==2.9.10", "-q", "-o", str(written),
            "--store", str(session_store.root)]  # fmt: skip
    assert main(argv) == 4
    assert "asking the build backend of psycopg2-2.9.10.tar.gz" in capsys.readouterr().err
    assert main([*argv, "--extra-package", "libpq-dev"]) == 0
    new = load_recipe(written)
    assert new.image == "trixie-py" and new.extra_packages == ("libpq-dev",)


def test_recipe_new_asks_the_backend_with_the_env_it_is_given_and_writes_it(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """fonttools compiles its Cython modules only when FONTTOOLS_WITH_CYTHON is set, and
    only then does its setup.py ask for Cython: recipe new asks the backend with the
    variable set, pins what it asked for, and writes the variable to the recipe."""
    written = tmp_path / "fonttools.toml"
    argv = ["recipe", "new", "fonttools==4.68.0", "-q", "-o", str(written),
            "--env", "FONTTOOLS_WITH_CYTHON=1", "--store", str(session_store.root)]  # fmt: skip
    assert main(argv) == 0
    new = load_recipe(written)
    assert dict(new.env) == {"FONTTOOLS_WITH_CYTHON": "1"}
    assert "cython" in [r.name for r in new.requires]
    assert main(["recipe", "new", "fonttools==4.68.0", "--env", "HOME=/x"]) == 2  # builder's


def test_a_release_upstream_compiles_stays_compiled_or_says_why_not(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    """tomli 2.5.0: the index has mypyc-compiled wheels, and its sdist compiles only with an
    opt-in. recipe new writes compiled = true, so the build that falls back to pure Python
    fails; without it the pure wheel is built, and the build summary, its JSON, the rebuild
    report and compare --upstream each say the index has compiled wheels."""
    import json

    written = tmp_path / "tomli.toml"
    store = ["--store", str(session_store.root)]
    assert main(["recipe", "new", "tomli==2.5.0", "-q", "-o", str(written), *store]) == 0
    assert load_recipe(written).compiled
    assert "compiled = true: the index has" in written.read_text()
    dist = ["--dist", str(tmp_path / "dist"), "--no-attest", *store]
    capsys.readouterr()
    assert main(["build", str(written), *dist]) == 8
    assert "holds no compiled code, and the recipe says compiled = true" in capsys.readouterr().err
    written.write_text(written.read_text().replace("compiled = true\n", ""))
    assert main(["build", str(written), "--rebuilds", "1", "--json", *dist]) == 0
    out, err = capsys.readouterr()
    assert "no compiled code, where the index has" in err
    built = json.loads(out)
    assert built["platform"] == {"tags": ["any"], "glibc": None, "host_libraries": []}
    assert any("manylinux" in w for w in built["upstream_compiled"])
    report = json.loads(Path(built["rebuild_report"]).read_text())
    assert report["compiled"]["wheel"] is False and report["compiled"]["upstream"]
    compare = ["compare", str(written), "--upstream", "-q", "--dist", str(tmp_path / "dist")]
    assert main([*compare, *store]) in (0, 10)  # 0 when upstream's pure wheel is the same
    assert "tomli-2.5.0-py3-none-any.whl holds no compiled code" in capsys.readouterr().err


def test_a_hatchling_wheel_leaves_out_what_the_sdists_gitignore_excludes_as_upstream_does(
    docker_client, session_store: Store, tmp_path: Path
) -> None:
    """hatchling drops a whole .gitignore when one of its patterns matches the project's
    absolute path: built under a root named `build`, jupyterlab-pygments' wheel held the
    prebuilt files its .gitignore excludes, and its rebuild (at another root) did not.
    No build root of builder's is a name a .gitignore excludes."""
    import zipfile

    pinned = tmp_path / "annotated-types.toml"  # a release that builds with hatchling alone
    store = ["--store", str(session_store.root)]
    assert main(["recipe", "new", "annotated-types==0.7.0", "-q", "-o", str(pinned), *store]) == 0
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
                          'build-backend = "hatchling.build"\n\n'
                          '[project]\nname = "ignoredtiny"\nversion = "1.0"\n',
        ".gitignore": "build/\nlib/\nsrc/\ndist/\nignoredtiny/generated.txt\n",
        "ignoredtiny/__init__.py": "ANSWER = 42\n",
        "ignoredtiny/generated.txt": "a prebuilt file the sdist ships\n",
    }  # fmt: skip
    recipe = local_recipe(tmp_path, session_store, "ignoredtiny", files,
                          requires=load_recipe(pinned).requires)  # fmt: skip
    report = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client,
                             rebuilds=1, vary=frozenset({"build-path"}))  # fmt: skip
    with zipfile.ZipFile(report.wheel) as zf:
        assert "ignoredtiny/__init__.py" in zf.namelist()
        assert "ignoredtiny/generated.txt" not in zf.namelist()
    assert report.rebuild is not None and report.rebuild.reproducible
