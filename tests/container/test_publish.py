"""A real build published to a static index served by nginx, then read back the way an
auditor does: verified from the index, and rebuilt in the very image the index serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.cli import main
from builder.provenance.signing import new_key
from builder.store import Store
from tests.conftest import REPO, Served, json_output

pytestmark = pytest.mark.network  # the fresh store of the auditor fetches the sdist


def test_an_auditor_verifies_from_the_index_and_rebuilds_in_the_image_it_serves(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, nginx: Served, capsys
) -> None:
    pair = new_key(tmp_path / "keys" / "k.pem")
    att, dist = tmp_path / "att", tmp_path / "dist"
    argv = ["build", "-q", str(REPO / "recipes" / "markupsafe.toml"), "--store",
            str(session_store.root), "--dist", str(dist), "--attestations", str(att),
            "--key", str(pair.private)]  # fmt: skip
    assert main(argv) == 0
    (wheel,) = dist.glob("*.whl")
    argv = ["publish", str(wheel), "--to", str(nginx.root), "--key", str(pair.public),
            "--attestations", str(att), "--store", str(session_store.root)]  # fmt: skip
    assert main(argv) == 0
    served = nginx.root / "images" / f"{image.digest}.tar.gz"
    tar = session_store.path_of(image.digest)
    assert served.stat().st_size < tar.stat().st_size / 2, "compressed"
    archive = json.loads((nginx.root / "images" / f"{image.digest}.json").read_text())["archive"]
    kept = session_store.path_of(archive["sha256"])
    if served.stat().st_dev == kept.stat().st_dev:  # one filesystem: linked, not copied
        assert served.stat().st_ino == kept.stat().st_ino
    capsys.readouterr()

    verify = ["verify", "markupsafe==3.0.3", "--index", nginx.url, "--key", str(pair.public)]
    assert main(verify) == 0, capsys.readouterr().err

    bundle = att / f"{wheel.name}.intoto.jsonl"
    fresh = tmp_path / "auditor-store"  # another machine: no image, no inputs
    argv = ["rebuild", "--from", str(bundle), "--key", str(pair.public), "--index", nginx.url,
            "--store", str(fresh), "--dist", str(tmp_path / "audit"), "--json", "-q"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    result = json_output(capsys.readouterr().out, "rebuild")
    assert result["matches"] is True
    assert f"/images/{image.digest}.tar.gz" in nginx.requests()
    assert (fresh / "objects" / "sha256" / image.digest[:2] / image.digest).is_file()
