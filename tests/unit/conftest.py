"""Unit fixtures: a build record made by the real record code from a synthetic wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.fetch.sources import Crate, Sources
from builder.images import DebPackage, Image
from builder.limits import Limits
from builder.names import Sha256
from builder.provenance.signing import KeyPair, new_key
from builder.recipe import load_recipe
from builder.store import sha256_file
from builder.wheelbuild.record import BuildRecord, build_key, make_record
from builder.wheelbuild.run import BuiltWheel, RunRecord
from tests.conftest import REPO

WHEEL = "markupsafe-3.0.3-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
IMAGE_DIGEST = Sha256("28" * 32)


def debian_image(python: str, libc: str, digest: str = "12") -> Image:
    """An image known only by its package list: what decides which wheels it installs."""
    return Image(
        name=f"py{python}",
        digest=Sha256(digest * 32),
        definition_sha256=Sha256("ab" * 32),
        packages=(
            DebPackage(name="libc6", version=libc, architecture="amd64"),
            DebPackage(name="python3", version=python, architecture="amd64"),
        ),
        tools=(),
        made_on="2026-11-01T00:00:00+00:00",
    )


def synthetic_wheel(folder: Path, name: str = WHEEL, payload: bytes = b"x = 1\n") -> Path:
    from tests.unit.test_diff import make_wheel

    folder.mkdir(parents=True, exist_ok=True)
    members = [
        ("markupsafe/__init__.py", payload),
        ("markupsafe/_speedups.cpython-313-x86_64-linux-gnu.so", b"\x7fELF not really"),
        ("markupsafe-3.0.3.dist-info/RECORD", b""),
    ]
    return make_wheel(folder / name, members)


def record_for(wheel: Path, crates: tuple[Crate, ...] = ()) -> BuildRecord:
    recipe = load_recipe(REPO / "recipes" / "markupsafe.toml")
    image = Image(
        name="trixie-py",
        digest=IMAGE_DIGEST,
        definition_sha256=Sha256("ab" * 32),
        packages=(DebPackage(name="python3", version="3.13.5-1", architecture="amd64"),),
        tools=(),
        made_on="2026-11-01T00:00:00+00:00",
    )
    sources = Sources(sdist=recipe.sdist, requires=recipe.requires, tools=(), crates=crates)
    built = BuiltWheel(
        file=wheel.name,
        sha256=sha256_file(wheel),
        unrepaired_file=wheel.name,
        grafted_libraries=(),
        log_sha256=Sha256("10" * 32),
        run=RunRecord(
            backend="docker",
            command=("python3", "-I", "-c", "..."),
            env={"SOURCE_DATE_EPOCH": "1700000000", "TZ": "UTC"},
            limits=Limits(),
            user="1000:1000",
            hostname="builder",
            workdir="/buildroot",
            network=False,
            mounts=(),
            tmpfs=(),
            cpuset=None,
        ),
        timings={},
        duration_s=1.0,
    )
    return make_record(
        key=build_key(recipe, image, sources),
        recipe=recipe,
        image=image,
        sources=sources,
        built=built,
        started_on="2026-11-20T10:00:00+00:00",
        finished_on="2026-11-20T10:00:05+00:00",
    )


@pytest.fixture
def key_pair(tmp_path: Path) -> KeyPair:
    return new_key(tmp_path / "keys" / "signing.pem")
