"""Shared fixtures: stores, tiny real sdists, and the real Docker daemon and build image."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.store import Store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_user_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in a scratch folder with a scratch signing key: a test run never writes
    attestations/ into the checkout or a key into the user's config directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BUILDER_SIGNING_KEY", str(tmp_path / "user-key" / "signing-key.pem"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def make_sdist(path: Path, files: dict[str, str], *, top: str, mtime: int = 1700000000) -> Path:
    """A real .tar.gz sdist with the given files under one top-level directory."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """The real daemon; its absence fails the run in CI and skips the test elsewhere."""
    from builder.errors import SandboxUnavailable
    from builder.sandbox.docker import connect

    try:
        client = connect()
    except SandboxUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Docker: {exc.message}")
        pytest.skip(f"no Docker daemon: {exc.message}")
    yield client
    client.close()
