"""Two real package indexes on 127.0.0.1: an internal one and a public one.

Each is a PEP 503 static index (simple/<name>/ pages linking files with their sha256)
served over HTTP by a real server in a thread. The fixture packages reproduce the
torchtriton situation (an internal name, and a public package of the same name with a
higher version) and a typosquat.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def make_wheel(folder: Path, name: str, version: str, who: str, tag: str = "py3-none-any") -> Path:
    """A minimal valid wheel whose module says where it came from (pure Python, whatever
    `tag` its name and WHEEL file give)."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"WHO = {who!r}\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        f"Tag: {tag}\n",
    }
    record = [
        f"{path},sha256="
        + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        + f",{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    path = folder / f"{module}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return path


def make_sdist(folder: Path, name: str, version: str, who: str) -> Path:
    """A minimal sdist (PKG-INFO and a pyproject.toml) whose module says who made it."""
    stem = f"{name.replace('-', '_')}-{version}"
    members = {
        f"{stem}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{stem}/pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n',
        f"{stem}/{name.replace('-', '_')}.py": f"WHO = {who!r}\n",
    }
    path = folder / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, text in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(text.encode())
            tf.addfile(info, io.BytesIO(text.encode()))
    return path


@dataclass
class StaticIndex:
    url: str
    root: Path

    @property
    def files(self) -> Path:
        (self.root / "files").mkdir(exist_ok=True)
        return self.root / "files"

    def add(self, name: str, version: str, who: str) -> None:
        self.link(name, make_wheel(self.files, name, version, who))

    def add_sdist(self, name: str, version: str, who: str) -> None:
        self.link(name, make_sdist(self.files, name, version, who))

    def link(self, name: str, path: Path, sha256: str | None = None) -> None:
        """List `path` (under files/) on `name`'s page, with its sha256 (or `sha256`)."""
        digest = sha256 or hashlib.sha256(path.read_bytes()).hexdigest()
        page = self.root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        links = page / "links.txt"
        line = f'<a href="../../files/{path.name}#sha256={digest}">{html.escape(path.name)}</a>'
        existing = links.read_text().splitlines() if links.exists() else []
        links.write_text("\n".join([*existing, line]) + "\n")
        body = "<br>\n".join(links.read_text().splitlines())
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{body}\n</body></html>\n")


def serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/simple/"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def indexes(tmp_path: Path) -> Iterator[tuple[StaticIndex, StaticIndex]]:
    """(internal, public), both live; the public one carries the attacks."""
    made = []
    for label in ("internal", "public"):
        root = tmp_path / label
        (root / "simple").mkdir(parents=True)
        server, url = serve(root)
        made.append((server, StaticIndex(url=url, root=root)))
    internal, public = made[0][1], made[1][1]
    internal.add("acme-triton", "1.0", "internal")
    internal.add("acme-secret", "2.0", "internal")
    internal.add("acme-stable", "9.0", "internal")
    public.add("acme-triton", "3.0", "attacker")
    public.add("acme-stable", "1.0", "attacker")
    internal.add("acme-same", "1.0", "internal")
    public.add("acme-same", "1.0", "attacker")  # the same version, other bytes
    public.add("requests", "2.32.0", "public")
    public.add("reqeusts", "1.0", "attacker")
    yield internal, public
    for server, _ in made:
        server.shutdown()
        server.server_close()


@pytest.fixture
def policy(
    tmp_path: Path, indexes: tuple[StaticIndex, StaticIndex], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The policy of the two indexes, in an environment configured for them alone (the
    machine's own find-links would be a configuration finding of its own)."""
    for variable in ("PIP_FIND_LINKS", "UV_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(variable, raising=False)
    internal, public = indexes
    monkeypatch.setenv("PIP_INDEX_URL", internal.url)  # internal names: the internal index
    path = tmp_path / "builder.toml"
    path.write_text(
        f'[indexes]\ninternal = ["{internal.url}"]\npublic = ["{public.url}"]\n\n'
        '[names]\ninternal = ["acme-*"]\n'
    )
    return path
