"""Shared fixtures: stores, tiny real sdists, and the real Docker daemon and build image."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from builder.store import Store

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
# The tiers, by folder (the most specific wins): select one with -m, e.g. `-m unit`.
TIERS = {
    TESTS / "unit": "unit",
    TESTS / "local": "local",
    TESTS / "container": "container",
    TESTS / "container" / "slow": "slow",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folders = [f for f in TIERS if f in item.path.parents]
        if folders:
            item.add_marker(TIERS[max(folders, key=lambda f: len(f.parts))])


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


def unavailable(what: str, reason: str) -> NoReturn:
    """A part of the machine a test needs is missing: a failure in CI (which installs
    everything, .ci/run), a skip with the reason elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {what}: {reason}")
    pytest.skip(f"no {what} here: {reason}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """The real daemon."""
    from builder.errors import SandboxUnavailable
    from builder.sandbox.docker import connect

    try:
        client = connect()
    except SandboxUnavailable as exc:
        unavailable("a Docker daemon", exc.message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def bubblewrap() -> str:
    """bubblewrap, able to make namespaces here."""
    from builder.errors import SandboxUnavailable
    from builder.sandbox.bwrap import find_bwrap

    try:
        return find_bwrap()
    except SandboxUnavailable as exc:
        unavailable("bubblewrap", exc.message)


def json_output(text: str, command: str) -> dict[str, object]:
    """A command's --json output, checked against its schema in docs/schemas/."""
    import json

    import jsonschema

    document = json.loads(text)
    schema = json.loads((REPO / "docs" / "schemas" / f"{command}.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert isinstance(document, dict)
    return document
