"""The slower reference recipes end to end, and bit-for-bit rebuilds of each under variation."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.recipe import load_recipe
from builder.store import Store
from builder.variation import DEFAULT_KINDS
from tests.conftest import REPO, json_output
from tests.container.conftest import build_in_docker, install_and_run

HEADER = '{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}'
CASES = {
    "msgpack": "import msgpack, msgpack._cmsgpack; print(msgpack.unpackb(msgpack.packb([1, 'a'])))",
    "safetensors": (
        "import struct; from safetensors import deserialize; "
        f"h = b'{HEADER}'; ((name, t),) = deserialize(struct.pack('<Q', len(h)) + h + b'ab'); "
        "print(name, sorted(t.items()))"
    ),
}
EXPECTED = {
    "msgpack": "[1, 'a']",
    "safetensors": "t [('data', bytearray(b'ab')), ('dtype', 'U8'), ('shape', [2])]",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_recipe_builds_installs_imports_and_rebuilds_bit_for_bit_under_variation(
    name: str, docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    recipe = REPO / "recipes" / f"{name}.toml"
    report = build_in_docker(recipe, session_store, tmp_path, docker_client, rebuilds=1)
    out = install_and_run(docker_client, image, report.wheel, CASES[name])
    assert out.strip() == EXPECTED[name]
    assert report.rebuild is not None
    expected = load_recipe(recipe).rebuild.kinds(DEFAULT_KINDS)
    assert report.rebuild.rebuilds[0].variation["applied"] == sorted(expected)
    assert report.rebuild.reproducible, report.rebuild.to_json()["differences"]


def test_safetensors_depends_on_its_build_path_and_the_diff_names_the_cause(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    """The case recipes/safetensors.toml keeps fixed ([rebuild] fixed = ["build-path"])."""
    recipe = REPO / "recipes" / "safetensors.toml"
    report = build_in_docker(
        recipe, session_store, tmp_path, docker_client, rebuilds=1, vary=frozenset({"build-path"})
    )
    assert report.rebuild is not None and not report.rebuild.reproducible
    ((_, difference),) = report.rebuild.differences
    (so,) = [m for m in difference.members if m.name.endswith(".so")]
    assert so.category == "code"
    assert any("Rust symbols differ only in their hashes" in d for d in so.details)


REFERENCE = REPO / "attestations" / "reference"
REFERENCE_KEY = REFERENCE / "builder-reference.pub.json"


@pytest.mark.parametrize(
    "bundle", sorted(REFERENCE.glob("*.intoto.jsonl")), ids=lambda p: p.name.split("-")[0]
)
def test_a_committed_reference_attestation_rebuilds_bit_for_bit_on_this_machine(
    bundle: Path, docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    argv = ["rebuild", "--from", str(bundle), "--key", str(REFERENCE_KEY), "--json", "-q",
            "--store", str(session_store.root), "--dist", str(tmp_path)]  # fmt: skip
    code = main(argv)
    result = json_output(capsys.readouterr().out, "rebuild")
    assert code == 0, result
    assert result["matches"] and result["signature_checked"]
