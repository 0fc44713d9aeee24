"""The slower reference recipes end to end, and bit-for-bit rebuilds of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.store import Store
from tests.conftest import REPO
from tests.integration.conftest import build_in_docker, install_and_run

pytestmark = [pytest.mark.docker, pytest.mark.slow]

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


def _build(name: str, store: Store, dist: Path, client):  # type: ignore[no-untyped-def]
    return build_in_docker(REPO / "recipes" / f"{name}.toml", store, dist, client)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_recipe_builds_installs_imports_and_rebuilds_bit_for_bit(
    name: str, docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    first = _build(name, session_store, tmp_path / "first", docker_client)
    out = install_and_run(docker_client, image, first.wheel, CASES[name])
    assert out.strip() == EXPECTED[name]
    session_store.record_path(first.record["build_key"]).unlink()
    second = _build(name, session_store, tmp_path / "second", docker_client)
    assert not second.cached
    assert second.sha256 == first.sha256, f"{name} did not rebuild bit for bit"
