"""Shared fixtures: stores, tiny real sdists, and the real Docker daemon and build image."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import pytest

from builder.store import Store

if TYPE_CHECKING:
    from builder.provenance.signing import KeyPair

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
# The tiers, by folder (the most specific wins): select one with -m, e.g. `-m unit`.
TIERS = {
    TESTS / "unit": "unit",
    TESTS / "local": "local",
    TESTS / "container": "container",
    TESTS / "container" / "slow": "slow",
    TESTS / "container" / "cluster": "cluster",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folders = [f for f in TIERS if f in item.path.parents]
        if folders:
            item.add_marker(TIERS[max(folders, key=lambda f: len(f.parts))])


# Ctrl-C, or CI's deadline (.ci/run sends SIGINT): builder's CLI, called in-process by a
# test, turns KeyboardInterrupt into exit 130 and the test would fail on it and the run go
# on. Remember it, and end the session after the test it hit: teardown runs (nothing is
# left behind), and the test counts as interrupted, not failed.
INTERRUPTED = threading.Event()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


def pytest_sessionstart(session: pytest.Session) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        if INTERRUPTED.is_set():
            pytest.exit(f"interrupted (SIGINT) during {item.nodeid}", returncode=2)


@pytest.fixture(autouse=True)
def isolated_user_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in a scratch folder with a scratch signing key: a test run never writes
    attestations/ into the checkout or a key into the user's config directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BUILDER_SIGNING_KEY", str(tmp_path / "user-key" / "signing-key.pem"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def make_sdist(
    path: Path, files: Mapping[str, str | bytes], *, top: str, mtime: int = 1700000000
) -> Path:
    """A real .tar.gz sdist with the given files under one top-level directory."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text if isinstance(text, bytes) else text.encode()
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


@dataclass
class Served:
    """A folder served by a real nginx on 127.0.0.1, with the index configuration builder
    documents (builder/publish/nginx.conf)."""

    url: str
    root: Path
    access_log: Path

    def requests(self) -> list[str]:
        """The paths requested so far, in order."""
        if not self.access_log.exists():
            return []
        return [line.split('"')[1].split()[1] for line in self.access_log.read_text().splitlines()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Served]:
    with nginx_serving(tmp_path / "index", tmp_path / "nginx") as served:
        yield served


@pytest.fixture
def nginx_builder_index(tmp_path: Path) -> Iterator[Served]:
    """A second nginx, for builder's own index beside a package index `nginx` serves."""
    with nginx_serving(tmp_path / "builder-index", tmp_path / "nginx-builder-index") as served:
        yield served


@contextlib.contextmanager
def nginx_serving(root: Path, state: Path) -> Iterator[Served]:
    """A real nginx serving `root` (made empty) with builder's index configuration, its
    state in `state`, until the block ends."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        unavailable("nginx", "the README's test command installs it")
    root.mkdir()
    state.mkdir()
    port = _free_port()
    site = (REPO / "builder" / "publish" / "nginx.conf").read_text()
    site = site.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    site = site.replace("root /srv/builder-index;", f"root {root};")
    user = "user root;\n" if os.geteuid() == 0 else ""
    (state / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {state}/nginx.pid;\n"
        f"error_log {state}/error.log;\nevents {{}}\nhttp {{\n"
        f"access_log {state}/access.log;\nclient_body_temp_path {state};\n"
        f"proxy_temp_path {state};\nfastcgi_temp_path {state};\nuwsgi_temp_path {state};\n"
        f"scgi_temp_path {state};\n{site}\n}}\n"
    )
    proc = subprocess.Popen(
        [binary, "-p", str(state), "-c", str(state / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:  # until nginx accepts connections (or says why it cannot)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "nginx did not start listening"
        time.sleep(0.05)
    try:
        yield Served(url=f"http://127.0.0.1:{port}/", root=root, access_log=state / "access.log")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def trust_file(folder: Path, signers: Mapping[str, KeyPair], quorum: int = 2) -> Path:
    """folder/trust.toml: `quorum` of the named signers' public keys (docs/quorum.md)."""
    lines = [f"quorum = {quorum}", "", "[signers]"]
    lines += [f'{name} = "{pair.public}"' for name, pair in signers.items()]
    path = folder / "trust.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
