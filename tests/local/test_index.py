"""builder publish into a static index served by a real nginx on 127.0.0.1, installed
from by real pip and real uv, and read back by builder verify --index."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import pytest

from builder.cli import main
from builder.fetch.sources import Crate
from builder.provenance.bundle import attest
from builder.provenance.signing import KeyPair, load_signer, new_key
from tests.conftest import REPO, Served, json_output
from tests.local.conftest import make_wheel
from tests.unit.conftest import record_for


@pytest.fixture
def pair(tmp_path: Path) -> KeyPair:
    return new_key(tmp_path / "keys" / "signing.pem")


def signed(folder: Path, name: str, version: str, pair: KeyPair, tag: str = "py3-none-any") -> Path:
    """A real, installable wheel with its signed provenance in folder/attestations/."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = make_wheel(folder, name, version, who=f"{name} {version} built here", tag=tag)
    attest(wheel, record_for(wheel), None, signer=load_signer(pair.private),
           folder=folder / "attestations")  # fmt: skip
    return wheel


def publish(*wheels: Path, to: Path, pair: KeyPair, extra: tuple[str, ...] = ()) -> int:
    folder = wheels[0].parent / "attestations"
    argv = ["publish", *map(str, wheels), "--to", str(to), "--key", str(pair.public),
            "--attestations", str(folder), "--store", str(to.parent / "store"), *extra]  # fmt: skip
    return main(argv)


def pages(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("index.*"))}


def test_publish_writes_simple_pages_with_metadata_provenance_and_upload_times(
    tmp_path: Path, pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    assert publish(wheel, to=index, pair=pair, extra=("--json",)) == 0
    said = json_output(capsys.readouterr().out, "publish")
    assert said["published"] == [
        {"project": "acme-lib", "file": wheel.name, "sha256": said["published"][0]["sha256"],
         "new": True, "attested": False}
    ]  # fmt: skip
    page = json.loads((index / "simple" / "acme-lib" / "index.json").read_text())
    assert page["meta"]["api-version"] == "1.3" and page["versions"] == ["1.0"]
    (entry,) = page["files"]
    folder = index / "simple" / "acme-lib"
    served = (folder / entry["url"]).resolve()
    assert served.read_bytes() == wheel.read_bytes()
    assert entry["hashes"]["sha256"] == said["published"][0]["sha256"]
    metadata = Path(f"{served}.metadata")
    assert entry["core-metadata"] == {"sha256": _sha256(metadata.read_bytes())}
    assert b"Name: acme-lib" in metadata.read_bytes()
    assert (folder / entry["provenance"]).resolve().read_bytes() == (
        tmp_path / "dist" / "attestations" / f"{wheel.name}.intoto.jsonl"
    ).read_bytes()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["upload-time"])
    assert entry["yanked"] is False and entry["size"] == wheel.stat().st_size
    html = (folder / "index.html").read_text()
    assert f'href="../../files/acme-lib/{wheel.name}#sha256={entry["hashes"]["sha256"]}"' in html
    assert f'data-core-metadata="sha256={entry["core-metadata"]["sha256"]}"' in html
    assert 'data-provenance="' in html
    root = json.loads((index / "simple" / "index.json").read_text())
    assert root["projects"] == [{"name": "acme-lib"}]
    before = pages(index)
    assert publish(wheel, to=index, pair=pair) == 0  # the same file again: a no-op
    assert "already published" in capsys.readouterr().err
    assert json.loads((folder / "index.json").read_text())["files"] == [entry]
    assert pages(index) == before


def test_another_file_under_a_published_name_is_refused_and_nothing_changes(
    tmp_path: Path, pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    first = signed(tmp_path / "a", "acme-lib", "1.0", pair)
    assert publish(first, to=index, pair=pair) == 0
    before = pages(index)
    other = signed(tmp_path / "b", "acme-lib-other", "1.0", pair)
    same_name = tmp_path / "c" / first.name
    same_name.parent.mkdir()
    shutil.copyfile(other, same_name)  # another file under the published name
    attest(same_name, record_for(same_name), None, signer=load_signer(pair.private),
           folder=tmp_path / "c" / "attestations")  # fmt: skip
    assert publish(same_name, to=index, pair=pair) == 15
    assert "is published already with sha256" in capsys.readouterr().err
    assert pages(index) == before
    assert (index / "files" / "acme-lib" / first.name).read_bytes() == first.read_bytes()


@pytest.mark.parametrize(
    "problem", ["unsigned", "another key", "policy not met", "an exception the policy forbids"]
)
def test_a_wheel_that_does_not_verify_is_refused_and_none_of_its_batch_is_published(
    tmp_path: Path, pair: KeyPair, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    good = signed(tmp_path / "dist", "acme-good", "1.0", pair)
    bad = signed(tmp_path / "dist", "acme-bad", "1.0", pair)
    bundle = tmp_path / "dist" / "attestations" / f"{bad.name}.intoto.jsonl"
    extra: tuple[str, ...] = ()
    if problem == "unsigned":
        bundle.unlink()
    elif problem == "another key":
        attest(bad, record_for(bad), None, folder=bundle.parent,
               signer=load_signer(new_key(tmp_path / "other" / "k.pem").private))  # fmt: skip
    else:
        policy = tmp_path / "policy.toml"
        policy.write_text(
            "[verify]\nexceptions = []\n"  # a wheel downloaded into the build: refused
            if problem.startswith("an exception")
            else '[verify]\nbuilder-ids = ["https://example.invalid/other-builder"]\n'
        )
        extra = ("--policy", str(policy))
    code = publish(good, bad, to=index, pair=pair, extra=extra)
    assert code == (12 if problem in ("unsigned", "another key") else 13)
    assert "error:" in capsys.readouterr().err
    assert not (index / "simple").exists() and not (index / "files").exists()


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _requirements(tmp_path: Path, wheel: Path, name: str, version: str) -> Path:
    req = tmp_path / "requirements.txt"
    req.write_text(f"{name}=={version} --hash=sha256:{_sha256(wheel.read_bytes())}\n")
    return req


def test_pip_installs_from_the_index_only_with_hashes_and_resolves_from_the_metadata_file(
    tmp_path: Path, pair: KeyPair, nginx: Served
) -> None:
    wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    assert publish(wheel, to=nginx.root, pair=pair) == 0
    index = ["--index-url", f"{nginx.url}simple/", "--only-binary", ":all:", "--no-cache-dir",
             "--disable-pip-version-check"]  # fmt: skip
    pip = [sys.executable, "-m", "pip"]
    dry = subprocess.run([*pip, "install", "--dry-run", "--ignore-installed", "--report",
                          str(tmp_path / "report.json"), *index, "acme-lib"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    asked = nginx.requests()
    assert f"/files/acme-lib/{wheel.name}.metadata" in asked, asked
    assert f"/files/acme-lib/{wheel.name}" not in asked, "pip resolved from the wheel itself"
    target = tmp_path / "site"
    req = _requirements(tmp_path, wheel, "acme-lib", "1.0")
    argv = [*pip, "install", "--require-hashes", "--target", str(target), *index, "-r", str(req)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "built here" in (target / "acme_lib" / "__init__.py").read_text()


def test_uv_installs_from_the_index_only_with_hashes(
    tmp_path: Path, pair: KeyPair, nginx: Served
) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv comes with the test dependencies"
    wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    assert publish(wheel, to=nginx.root, pair=pair) == 0
    req = _requirements(tmp_path, wheel, "acme-lib", "1.0")
    target = tmp_path / "site"
    argv = [uv, "pip", "install", "--index-url", f"{nginx.url}simple/", "--no-build",
            "--require-hashes", "--no-cache", "--python", sys.executable, "--target", str(target),
            "-r", str(req)]  # fmt: skip
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no uv or pip settings of the host
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=clean)
    assert done.returncode == 0, done.stderr
    assert "built here" in (target / "acme_lib" / "__init__.py").read_text()
    assert "/simple/acme-lib/" in nginx.requests()


def test_uv_resolves_from_the_metadata_file_not_the_wheel(
    tmp_path: Path, pair: KeyPair, nginx: Served
) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv comes with the test dependencies"
    wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    assert publish(wheel, to=nginx.root, pair=pair) == 0
    wanted = tmp_path / "requirements.in"
    wanted.write_text("acme-lib\n")
    argv = [uv, "pip", "compile", "--index-url", f"{nginx.url}simple/", "--no-build",
            "--no-cache", "--python", sys.executable, "--generate-hashes", str(wanted)]  # fmt: skip
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=clean)
    assert done.returncode == 0, done.stderr
    assert "acme-lib==1.0" in done.stdout and _sha256(wheel.read_bytes()) in done.stdout
    asked = nginx.requests()
    assert f"/files/acme-lib/{wheel.name}.metadata" in asked, asked
    assert f"/files/acme-lib/{wheel.name}" not in asked, "uv resolved from the wheel itself"


def _tamper(root: Path, wheel: Path, how: str, pair: KeyPair, tmp_path: Path) -> None:
    files = root / "files" / "acme-lib"
    served = files / wheel.name
    if how == "the wheel":
        served.write_bytes(served.read_bytes() + b"\0")
    elif how == "the provenance":
        bundle = Path(f"{served}.intoto.jsonl")
        bundle.write_text(bundle.read_text().replace('"payload":"', '"payload":"eyJ9', 1))
    elif how == "a missing provenance":
        Path(f"{served}.intoto.jsonl").unlink()
    elif how == "a swapped metadata file":
        other = signed(tmp_path / "other", "acme-lib", "2.0", pair)
        from builder.publish.static import wheel_metadata

        Path(f"{served}.metadata").write_bytes(wheel_metadata(other))
    elif how == "the page's hash":
        page = root / "simple" / "acme-lib" / "index.json"
        data = json.loads(page.read_text())
        data["files"][0]["hashes"]["sha256"] = "0" * 64
        page.write_text(json.dumps(data))


TAMPERINGS = {  # what is changed on the server: what builder verify --index says
    "nothing": "",
    "the wheel": "the file served has",
    "the provenance": "signature",
    "a missing provenance": "provenance: cannot fetch",
    "a swapped metadata file": ".metadata: its sha256 is not the one the index page names",
    "the page's hash": f"the index page names sha256 {'0' * 64}",
}


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_verify_from_the_index_passes_and_fails_for_each_tampering(
    tmp_path: Path, pair: KeyPair, nginx: Served, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    assert publish(wheel, to=nginx.root, pair=pair) == 0
    _tamper(nginx.root, wheel, how, pair, tmp_path)
    argv = ["verify", "acme-lib==1.0", "--index", nginx.url, "--key", str(pair.public), "--json"]
    code = main(argv)
    out, err = capsys.readouterr()
    if how == "nothing":
        assert code == 0, err
        said = json_output(out, "verify-index")
        assert said["ok"] is True and [w["wheel"] for w in said["wheels"]] == [wheel.name]
    else:
        assert code == 12, err
        assert TAMPERINGS[how] in err


def test_a_yanked_release_is_skipped_unless_pinned_and_says_why(
    tmp_path: Path, pair: KeyPair, nginx: Served
) -> None:
    old = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
    new = signed(tmp_path / "dist", "acme-lib", "2.0", pair)
    assert publish(old, new, to=nginx.root, pair=pair) == 0
    assert main(["yank", str(nginx.root), "acme-lib", "2.0", "--reason", "broken build"]) == 0
    page = json.loads((nginx.root / "simple" / "acme-lib" / "index.json").read_text())
    assert [f["yanked"] for f in page["files"]] == [False, "broken build"]
    html = (nginx.root / "simple" / "acme-lib" / "index.html").read_text()
    assert 'data-yanked="broken build"' in html
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
           "--index-url", f"{nginx.url}simple/", "--only-binary", ":all:", "--no-cache-dir",
           "--disable-pip-version-check"]  # fmt: skip
    floating = subprocess.run([*pip, "acme-lib"], capture_output=True, text=True, check=False)
    assert "acme-lib-1.0" in floating.stdout, floating.stdout + floating.stderr
    pinned = subprocess.run([*pip, "acme-lib==2.0"], capture_output=True, text=True, check=False)
    assert "acme-lib-2.0" in pinned.stdout and "broken build" in pinned.stderr


def test_a_publish_killed_midway_leaves_the_previous_index_whole(
    tmp_path: Path, pair: KeyPair
) -> None:
    """SIGKILL in the middle of a publish of many wheels: every page is whole, and every
    file a page lists is there with the page's sha256."""
    index = tmp_path / "index"
    first = signed(tmp_path / "dist", "acme-first", "1.0", pair)
    assert publish(first, to=index, pair=pair) == 0
    many = [signed(tmp_path / "dist", f"acme-many{i}", "1.0", pair) for i in range(40)]
    argv = [sys.executable, "-m", "builder", "publish", *map(str, many), "--to", str(index),
            "--key", str(pair.public), "--attestations", str(tmp_path / "dist" / "attestations"),
            "--store", str(tmp_path / "store")]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "published: acme_many" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    listed = 0
    for page in (index / "simple").glob("*/index.json"):
        data = json.loads(page.read_text())
        for f in data["files"]:
            listed += 1
            served = (page.parent / f["url"]).resolve()
            assert _sha256(served.read_bytes()) == f["hashes"]["sha256"]
    root = json.loads((index / "simple" / "index.json").read_text())
    assert {"name": "acme-first"} in root["projects"] and listed >= 1
    assert publish(*many, to=index, pair=pair) == 0  # and a rerun completes it
    assert len(json.loads((index / "simple" / "index.json").read_text())["projects"]) == 41


def test_the_nginx_configuration_in_the_docs_is_the_one_shipped_and_tested() -> None:
    doc = (REPO / "docs" / "index.md").read_text()
    shipped = (REPO / "builder" / "publish" / "nginx.conf").read_text()
    assert f"```nginx\n{shipped}```" in doc


def test_upload_to_a_pypiserver_without_fallback(
    tmp_path: Path, pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server a team runs, with its fallback to the public index off: the wheel goes up
    with twine, pip installs it from there, and a name it does not hold is not found
    (not redirected to the public index)."""
    import socket
    import time

    packages = tmp_path / "packages"
    packages.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
         "--disable-fallback", "-a", ".", "-P", ".", str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:  # until the server accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        wheel = signed(tmp_path / "dist", "acme-lib", "1.0", pair)
        folder = str(tmp_path / "dist" / "attestations")
        argv = ["publish", str(wheel), "--upload", url, "--key", str(pair.public),
                "--attestations", folder, "--store", str(tmp_path / "store")]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        assert (packages / wheel.name).read_bytes() == wheel.read_bytes()
        pip = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--index-url",
            f"{url}simple/",
            "--no-cache-dir",
            "--disable-pip-version-check",
        ]
        assert subprocess.run([*pip, "acme-lib"], capture_output=True, check=False).returncode == 0
        elsewhere = subprocess.run([*pip, "requests"], capture_output=True, text=True, check=False)
        assert elsewhere.returncode != 0, "the server fell back to the public index"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_publish_refuses_a_wheel_that_needs_a_newer_glibc_than_the_policy_allows(
    tmp_path: Path, pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    """[publish] max-glibc: the fleet's glibc. A wheel whose manylinux tags need a newer
    one (or that has none: an unrepaired linux_* wheel) is refused, the batch with it,
    and the message names the wheel and the glibc it needs; a pure wheel always passes."""
    index = tmp_path / "index"
    dist = tmp_path / "dist"
    old = signed(dist, "acme-old", "1.0", pair, tag="cp313-cp313-manylinux_2_17_x86_64")
    new = signed(dist, "acme-new", "1.0", pair, tag="cp313-cp313-manylinux_2_38_x86_64")
    pure = signed(dist, "acme-pure", "1.0", pair)
    policy = tmp_path / "policy.toml"
    policy.write_text('[publish]\nmax-glibc = "2.36"\n')
    extra = ("--policy", str(policy))
    assert publish(old, new, pure, to=index, pair=pair, extra=extra) == 13
    err = capsys.readouterr().err
    assert "need a glibc newer than the policy's max-glibc 2.36" in err
    assert f"{new.name} (manylinux_2_38_x86_64: glibc 2.38 or newer)" in err
    assert not index.exists() or not list(index.rglob("*.whl")), "nothing published"
    assert publish(old, pure, to=index, pair=pair, extra=extra) == 0
    policy.write_text("[publish]\nmax-glibc = 2.36\n")
    assert publish(old, to=index, pair=pair, extra=extra) == 3
    assert "publish.max-glibc" in capsys.readouterr().err


def test_another_signer_s_attestation_of_a_published_file_is_added_and_a_disagreeing_one_refused(
    tmp_path: Path, pair: KeyPair, nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Independent rebuilders: a second signer who attests the same wheel from the same
    inputs is added beside the first (never replacing it); one whose provenance names
    other inputs is refused and nothing changes; the same signer again adds nothing."""
    index = nginx.root
    wheel = signed(tmp_path / "dist", "acme-agreed", "1.0", pair)
    assert publish(wheel, to=index, pair=pair) == 0
    second = new_key(tmp_path / "second" / "k.pem")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    shutil.copy(wheel, theirs / wheel.name)
    attest(theirs / wheel.name, record_for(wheel), None, signer=load_signer(second.private),
           folder=theirs / "attestations")  # fmt: skip
    capsys.readouterr()
    assert publish(theirs / wheel.name, to=index, pair=second, extra=("--json",)) == 0
    (said,) = json_output(capsys.readouterr().out, "publish")["published"]
    assert (said["new"], said["attested"]) == (False, True)
    page = json.loads((index / "simple" / "acme-agreed" / "index.json").read_text())
    (entry,) = page["files"]
    signers = [b["keyids"] for b in entry["_attestations"]]
    assert signers == [[load_signer(pair.private).public_key.keyid],
                       [load_signer(second.private).public_key.keyid]]  # fmt: skip
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for bundle in entry["_attestations"]:  # each served, each its signer's
        url = urljoin(f"{nginx.url}simple/acme-agreed/", bundle["url"])
        with direct.open(url) as served:
            assert json.loads(served.readline())["signatures"][0]["keyid"] == bundle["keyids"][0]
    assert entry["provenance"].endswith(f"{wheel.name}.intoto.jsonl"), "the first stays first"
    verify = ["verify", "acme-agreed==1.0", "--index", nginx.url, "--key", str(pair.public)]
    assert main(verify) == 0, capsys.readouterr().err
    assert main([*verify[:-1], str(second.public)]) == 0, "each signer's key finds its bundle"

    pages_before = pages(index)
    assert publish(theirs / wheel.name, to=index, pair=second) == 0  # the same signer again
    assert pages(index) == pages_before

    other = tmp_path / "other-inputs"
    other.mkdir()
    shutil.copy(wheel, other / wheel.name)
    third = new_key(tmp_path / "third" / "k.pem")
    crate = Crate(name="evil", version="1.0.0", sha256="e" * 64)  # type: ignore[arg-type]
    attest(other / wheel.name, record_for(wheel, crates=(crate,)), None,
           signer=load_signer(third.private), folder=other / "attestations")  # fmt: skip
    capsys.readouterr()
    assert publish(other / wheel.name, to=index, pair=third) == 15
    assert "name other build inputs (dependencies)" in capsys.readouterr().err
    assert pages(index) == pages_before
