"""Where every page and file really comes from: an internal index that sends a name on to
the public index (its page, or its files), a merging proxy declared internal, a mirror
that changes bytes, a page listing two files under one name. Each attack is first shown
taking real pip, then refused by builder. Real servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from builder.cli import main
from builder.errors import GateFailed
from builder.gate.binding import IndexBinding
from builder.gate.policy import GatePolicy
from builder.index import Index
from builder.names import normalize
from tests.local.conftest import QuietHandler, StaticIndex, make_sdist, make_wheel, serve

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"}


class Redirecting(QuietHandler):
    """A static index that answers some paths with a redirect (`moved`: path -> URL)."""

    moved: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        target = self.moved.get(self.path)
        if target is None:
            super().do_GET()
            return
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def redirecting(root: Path, moved: dict[str, str]) -> Iterator[StaticIndex]:
    """A static index at `root` whose `moved` paths redirect elsewhere."""
    (root / "simple").mkdir(parents=True, exist_ok=True)
    handler = type("Moving", (Redirecting,), {"moved": moved})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield StaticIndex(url=f"http://127.0.0.1:{server.server_address[1]}/simple/", root=root)
    finally:
        server.shutdown()
        server.server_close()


def _origin(index: StaticIndex) -> str:
    return index.url.removesuffix("simple/")


def _policy(tmp_path: Path, internal: str, public: str, indexes: str = "", names: str = "") -> Path:
    path = tmp_path / "builder.toml"
    path.write_text(f'[indexes]\ninternal = ["{internal}"]\npublic = ["{public}"]\n{indexes}'
                    f'[names]\ninternal = ["acme-*"]\n{names}')  # fmt: skip
    return path


def _pip_takes(index_url: str, name: str, out: Path) -> list[str]:
    """The files real pip downloads for `name` from `index_url` alone."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
         "--disable-pip-version-check", "--no-build-isolation", "-d", str(out),
         "--index-url", index_url, name],
        check=True, env=NO_CONFIG, capture_output=True,
    )  # fmt: skip
    return sorted(p.name for p in out.iterdir())


@pytest.fixture
def clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, indexes: tuple[StaticIndex, StaticIndex]
) -> None:
    """pip configured with the internal index alone (as a policy with internal names
    asks), and a store of the test's own."""
    for variable in ("PIP_FIND_LINKS", "UV_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", indexes[0].url)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("BUILDER_STORE", str(tmp_path / "store"))


def test_an_internal_index_redirecting_a_page_to_the_public_index_is_refused(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, public = indexes
    public.add_sdist("acme-triton", "3.0", "attacker")
    moved = {"/simple/acme-triton/": f"{public.url}acme-triton/"}
    with redirecting(tmp_path / "org", moved) as internal:
        internal.add("acme-secret", "1.0", "internal")  # the index hosts something
        taken = _pip_takes(internal.url, "acme-triton", tmp_path / "pip")
        assert taken[0].startswith("acme_triton-3.0"), "pip follows the redirect to the attacker"
        policy = _policy(tmp_path, internal.url, public.url)
        monkeypatch.setenv("PIP_INDEX_URL", internal.url)
        assert main(["check", "--name", "acme-triton", "--policy", str(policy)]) == 14
        assert "sends acme-triton's page on to" in capsys.readouterr().err

        # The gate told to ignore confusion: the fetch still holds the page to the binding.
        policy.write_text(policy.read_text() + '[severity]\nconfusion = "ignore"\n')
        monkeypatch.setenv("BUILDER_INDEX_URL", internal.url)
        monkeypatch.setenv("PIP_INDEX_URL", internal.url)
        monkeypatch.chdir(tmp_path)
        assert main(["recipe", "new", "acme-triton==3.0", "--policy", str(policy)]) == 14
        err = capsys.readouterr().err
        assert f"{public.url}acme-triton/ is not an internal index" in err
        assert not (tmp_path / "recipes").exists()
        assert not list((tmp_path / "store").rglob("*.tar.gz")), "nothing stored"


def test_an_internal_file_redirected_to_the_public_index_is_refused_before_a_byte_is_kept(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, public = indexes
    sdist = make_sdist(public.files, "acme-moved", "1.0", "attacker")
    wheel = make_wheel(public.files, "acme-moved", "1.0", "attacker")
    moved = {f"/files/{f.name}": f"{_origin(public)}files/{f.name}" for f in (sdist, wheel)}
    with redirecting(tmp_path / "org", moved) as internal:
        internal.link("acme-moved", internal.files / sdist.name, _sha256(sdist))
        internal.link("acme-moved", internal.files / wheel.name, _sha256(wheel))
        assert _pip_takes(internal.url, "acme-moved", tmp_path / "pip") == [wheel.name]
        binding = IndexBinding(policy=GatePolicy(internal_indexes=(internal.url,),
                                                 internal_names=("acme-*",)))  # fmt: skip
        index = Index(internal.url, binding)
        listed, _ = index.files(normalize("acme-moved"))
        with pytest.raises(GateFailed, match="outside the internal indexes' files"):
            next(iter(index.download(listed)))

        policy = _policy(tmp_path, internal.url, public.url)
        monkeypatch.setenv("BUILDER_INDEX_URL", internal.url)
        monkeypatch.setenv("PIP_INDEX_URL", internal.url)
        monkeypatch.chdir(tmp_path)
        assert main(["recipe", "new", "acme-moved==1.0", "--policy", str(policy)]) == 14
        assert f"its file came from {_origin(public)}files/" in capsys.readouterr().err
        assert not list((tmp_path / "store").rglob("*.tar.gz")), "nothing stored"


def test_a_merging_proxy_declared_internal_is_refused_for_internal_names(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    proxy = _merged(tmp_path / "proxy", internal, public)
    with _served(proxy) as url:
        monkeypatch.setenv("PIP_INDEX_URL", url)
        assert _pip_takes(url, "acme-triton", tmp_path / "pip") == [
            "acme_triton-3.0-py3-none-any.whl"
        ], "through the proxy, pip takes the attacker's newer release"
        policy = _policy(tmp_path, url, public.url)
        assert main(["check", "--name", "acme-triton", "--policy", str(policy)]) == 14
        err = capsys.readouterr().err
        assert "serves the public index's own acme_triton-3.0" in err
        assert "names.published" in err


def test_a_file_the_organisation_published_publicly_is_not_refused(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    ours = make_wheel(internal.files, "acme-open", "1.0", "internal")
    internal.link("acme-open", ours)
    shutil.copy(ours, public.files / ours.name)
    public.link("acme-open", public.files / ours.name)
    published = f'published = [{{ sha256 = "{_sha256(ours)}", reason = "ours" }}]\n'
    policy = _policy(tmp_path, internal.url, public.url, names=published)
    assert main(["check", "--name", "acme-open", "--policy", str(policy)]) == 0
    assert "published by the organisation" in capsys.readouterr().err


def test_a_mirror_serving_other_bytes_than_the_public_index_is_refused(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    mirror = StaticIndex(url="", root=tmp_path / "mirror")
    (mirror.root / "simple").mkdir(parents=True)
    shutil.copy(public.files / "requests-2.32.0-py3-none-any.whl", mirror.files)
    mirror.link("requests", mirror.files / "requests-2.32.0-py3-none-any.whl")
    mirror.add("six", "1.0", "mirror")  # not on the public index at all
    with _served(mirror) as url:
        policy = _policy(tmp_path, internal.url, public.url, f'mirrors = ["{url}"]\n')
        assert main(["check", "--name", "requests", "--policy", str(policy)]) == 0
        capsys.readouterr()
        assert _pip_takes(url, "six", tmp_path / "pip") == ["six-1.0-py3-none-any.whl"]
        assert main(["check", "--name", "six", "--policy", str(policy)]) == 14
        assert "serves six-1.0-py3-none-any.whl which the public index does not list" in (
            capsys.readouterr().err
        )
        make_wheel(mirror.files, "requests", "2.32.0", "mirror")  # the same name, other bytes
        (mirror.root / "simple" / "requests" / "links.txt").unlink()
        mirror.link("requests", mirror.files / "requests-2.32.0-py3-none-any.whl")
        assert main(["check", "--name", "requests", "--policy", str(policy)]) == 14
        assert "with other bytes than the public index's" in capsys.readouterr().err


def test_a_page_listing_two_files_under_one_name_is_refused(
    indexes: tuple[StaticIndex, StaticIndex], tmp_path: Path, clean_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    internal, public = indexes
    wheel = make_wheel(internal.files, "acme-twice", "1.0", "internal")
    internal.link("acme-twice", wheel)
    internal.link("acme-twice", wheel, sha256="0" * 64)
    policy = _policy(tmp_path, internal.url, public.url)
    assert main(["check", "--name", "acme-twice", "--policy", str(policy)]) == 4
    assert "two different files are listed as acme_twice-1.0-py3-none-any.whl" in (
        capsys.readouterr().err
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _merged(root: Path, *indexes: StaticIndex) -> StaticIndex:
    """One static index listing every file of `indexes` (a proxy merging them)."""
    merged = StaticIndex(url="", root=root)
    (root / "simple").mkdir(parents=True)
    for index in indexes:
        for page in sorted((index.root / "simple").iterdir()):
            for line in (page / "links.txt").read_text().splitlines():
                filename = line.split('">', 1)[1].removesuffix("</a>")
                shutil.copy(index.files / filename, merged.files / filename)
                merged.link(page.name, merged.files / filename)
    return merged


@contextmanager
def _served(index: StaticIndex) -> Iterator[str]:
    server, url = serve(index.root)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
