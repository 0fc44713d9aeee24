"""One closure, two CPythons (trixie's 3.13 and bookworm's 3.11, images made the same way
from Debian): `builder plan --image A --image B` plans each with its own Python, and one
`builder build --graph A B` builds a wheel per image for the C extension, each with its
own provenance, and the pure backend once, its wheel serving both images' builds."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path

import pytest

from builder.cli import main
from builder.errors import ImageError
from builder.fetch.sources import fetch_pinned
from builder.images import Image, ensure_image, find_definition
from builder.index import Index
from builder.progress import Silent
from builder.provenance.bundle import read_bundle
from builder.store import Store
from tests.conftest import REPO, Served, json_output, unavailable
from tests.fixtures.stack import NATIVE_STACK, make_stack_index

IMAGES = ["trixie-py", "bookworm-py"]


@pytest.fixture
def two_images(image: Image, session_store: Store) -> list[Image]:  # type: ignore[no-untyped-def]
    try:
        second = ensure_image(
            find_definition("bookworm-py", [REPO / "containers"]), session_store, Silent()
        )
    except ImageError as exc:
        unavailable("the bookworm-py image", exc.message)
    return [image, second]


@pytest.fixture
def native_stack(  # type: ignore[no-untyped-def]
    bubblewrap, two_images: list[Image], session_store: Store, nginx: Served, tmp_path: Path,
    monkeypatch,
) -> Path:  # fmt: skip
    """The stack's index live and builder pointed at it, each image's tools already stored
    (they come from the public index)."""
    for made in two_images:
        for tool in made.tools:
            fetch_pinned(tool, session_store, Index(), Silent())
    make_stack_index(nginx.root, NATIVE_STACK)
    monkeypatch.setenv("BUILDER_INDEX_URL", f"{nginx.url}simple/")
    (tmp_path / "requirements.txt").write_text("acmestack-native\n")
    return tmp_path


def test_a_compiled_package_gets_a_wheel_per_python_and_a_pure_one_is_built_once(  # type: ignore[no-untyped-def]
    native_stack: Path, session_store: Store, capsys
) -> None:
    plan = native_stack / "plan"
    common = ["--store", str(session_store.root), "--backend", "sandbox", "-q", "--json"]
    images = [arg for name in IMAGES for arg in ("--image", name)]
    argv = ["plan", str(native_stack / "requirements.txt"), *images, "--out", str(plan), *common]
    assert main(argv) == 0, capsys.readouterr().err
    planned = json_output(capsys.readouterr().out, "plan")["graphs"]
    assert [(g["image"], g["path"]) for g in planned] == [
        (name, str(plan / name / "graph.json")) for name in IMAGES
    ]
    recipe = (plan / "bookworm-py" / "recipes" / "acmestack-native-1.0.toml").read_text()
    assert 'image = "bookworm-py"' in recipe

    dist, att = native_stack / "dist", native_stack / "att"
    graphs = [str(plan / name / "graph.json") for name in IMAGES]
    build = ["build", "--graph", *graphs, "--jobs", "2", "--dist", str(dist),
             "--attestations", str(att), *common]  # fmt: skip
    assert main(build) == 0, capsys.readouterr().err
    nodes = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    states = {(n["image"], n["node"]): n["state"] for n in nodes}
    assert states == {
        ("trixie-py", "acmestack-backend==1.0"): "built",
        ("trixie-py", "acmestack-native==1.0"): "built",
        ("bookworm-py", "acmestack-backend==1.0"): "shared",
        ("bookworm-py", "acmestack-native==1.0"): "built",
    }

    backend = next(n for n in nodes if n["node"] == "acmestack-backend==1.0")
    natives = {n["image"]: Path(n["wheel"]) for n in nodes if n["node"].startswith("acmestack-nat")}
    assert natives["trixie-py"].name.startswith("acmestack_native-1.0-cp313-cp313-manylinux")
    assert natives["bookworm-py"].name.startswith("acmestack_native-1.0-cp311-cp311-manylinux")
    assert sorted(p.name for p in dist.glob("*.whl")) == sorted(
        [Path(backend["wheel"]).name, *(w.name for w in natives.values())]
    )
    for name, wheel in natives.items():
        with zipfile.ZipFile(wheel) as zf:
            python = "311" if name == "bookworm-py" else "313"
            assert f"acmestack_native/_native.cpython-{python}-x86_64-linux-gnu.so" in zf.namelist()
        record = json.loads(Path(f"{wheel}.build.json").read_text())
        assert record["inputs"]["image"]["name"] == name
        # Each its own signed provenance, built with the one backend wheel built here.
        (requirement,) = [d for d in _provenance(att / f"{wheel.name}.intoto.jsonl")
                          if d["annotations"]["role"] == "build-requirement"]  # fmt: skip
        assert requirement["annotations"]["source"] == "built"
        assert requirement["digest"]["sha256"] == backend["sha256"]

    assert main(build) == 0  # a rerun: nothing builds
    again = json_output(capsys.readouterr().out, "build-graph")["nodes"]
    assert [n["state"] for n in again] == ["cached", "cached", "shared", "cached"]


def _provenance(bundle: Path) -> list[dict]:  # type: ignore[type-arg]
    statement = json.loads(base64.b64decode(read_bundle(bundle)[0]["payload"]))
    return statement["predicate"]["buildDefinition"]["resolvedDependencies"]  # type: ignore[no-any-return]


def test_an_override_builds_one_package_in_an_image_of_its_own(  # type: ignore[no-untyped-def]
    native_stack: Path, session_store: Store, capsys
) -> None:
    """overrides/<name>.toml `image = "bookworm-py"` in a plan for trixie-py: that package
    is pinned and built for bookworm's Python, with the backend the plan built in trixie-py
    (a pure wheel, which bookworm's Python installs)."""
    overrides = native_stack / "overrides"
    overrides.mkdir()
    (overrides / "acmestack-native.toml").write_text('[build]\nimage = "bookworm-py"\n')
    plan = native_stack / "own-image"
    common = ["--store", str(session_store.root), "--backend", "sandbox", "-q", "--json"]
    argv = ["plan", str(native_stack / "requirements.txt"), "--overrides", str(overrides),
            "--out", str(plan), *common]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    recipe = (plan / "recipes" / "acmestack-native-1.0.toml").read_text()
    assert 'image = "bookworm-py"' in recipe
    assert 'image = "trixie-py"' in (plan / "recipes" / "acmestack-backend-1.0.toml").read_text()

    dist = native_stack / "own-dist"
    build = ["build", "--graph", str(plan / "graph.json"), "--dist", str(dist),
             "--attestations", str(native_stack / "own-att"), *common]  # fmt: skip
    assert main(build) == 0, capsys.readouterr().err
    nodes = {n["node"]: n for n in json_output(capsys.readouterr().out, "build-graph")["nodes"]}
    native = Path(nodes["acmestack-native==1.0"]["wheel"])
    assert native.name.startswith("acmestack_native-1.0-cp311-cp311-manylinux"), native.name
    record = json.loads(Path(f"{native}.build.json").read_text())
    assert record["inputs"]["image"]["name"] == "bookworm-py"
    backend = nodes["acmestack-backend==1.0"]
    assert Path(backend["wheel"]).name.endswith("-py3-none-any.whl")
