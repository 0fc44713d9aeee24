"""k of n on a static index served by a real nginx: a wheel is listed only once two of
three trusted signers attest the same sha256 from the same inputs; real pip installs it
only then; a signer that built another sha256 puts the file in quarantine (off the pages,
shown by builder report --index with what differs); a key the trust file does not name
is refused; builder verify --trust passes only where the quorum holds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from builder.cli import main
from builder.provenance.bundle import attest, bundle_keyids
from builder.provenance.signing import KeyPair, load_signer, new_key
from builder.publish.remote import RemoteIndex
from tests.conftest import Served, json_output, trust_file
from tests.local.conftest import make_wheel
from tests.unit.conftest import record_for

NAMES = ("org-a", "org-b", "org-c")


@pytest.fixture
def orgs(tmp_path: Path) -> dict[str, KeyPair]:
    return {name: new_key(tmp_path / name / "keys" / "k.pem") for name in NAMES}


def built(folder: Path, name: str, who: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return make_wheel(folder, name, "1.0", who=who)


def attested(wheel: Path, folder: Path, pair: KeyPair) -> Path:
    """The signer's copy of `wheel`, with its own signed provenance beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    mine = folder / wheel.name
    shutil.copy(wheel, mine)
    attest(mine, record_for(mine), None, signer=load_signer(pair.private),
           folder=folder / "attestations")  # fmt: skip
    return mine


def submit(wheel: Path, index: Path, trust: Path, *extra: str) -> int:
    argv = ["publish", str(wheel), "--to", str(index), "--quorum", str(trust),
            "--attestations", str(wheel.parent / "attestations"), *extra]  # fmt: skip
    return main(argv)


def listed(index: Path, project: str) -> list[str]:
    page = index / "simple" / project / "index.json"
    return [f["filename"] for f in json.loads(page.read_text())["files"]] if page.is_file() else []


def pip_installs(
    nginx: Served, tmp_path: Path, requirement: str
) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "site"
    shutil.rmtree(target, ignore_errors=True)
    argv = [sys.executable, "-m", "pip", "install", "--index-url", f"{nginx.url}simple/",
            "--only-binary", ":all:", "--no-cache-dir", "--disable-pip-version-check",
            "--target", str(target), requirement]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def status(url: str) -> int:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(url) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_wheel_is_listed_only_when_two_of_three_signers_agree_and_pip_installs_only_then(
    tmp_path: Path, orgs: dict[str, KeyPair], nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = trust_file(tmp_path, orgs)
    wheel = built(tmp_path / "built", "acme-agreed", "acme-agreed built here")
    a = attested(wheel, tmp_path / "org-a" / "dist", orgs["org-a"])
    assert submit(a, nginx.root, trust, "--json") == 0, capsys.readouterr().err
    (said,) = json_output(capsys.readouterr().out, "publish-quorum")["submitted"]
    assert (said["outcome"], said["agreed"]) == ("staged", ["org-a"])
    assert listed(nginx.root, "acme-agreed") == [], "one key alone publishes nothing"
    assert pip_installs(nginx, tmp_path, "acme-agreed").returncode != 0
    staged = f"{nginx.url}staged/acme-agreed/{wheel.name}/{said['sha256']}/{wheel.name}"
    assert status(staged) == 403, "what is staged is not served"
    verify = ["verify", "acme-agreed==1.0", "--index", nginx.url, "--trust", str(trust)]
    assert main(verify) == 12, "not on the index: no quorum"

    assert submit(a, nginx.root, trust) == 0  # the same signer again counts once
    assert listed(nginx.root, "acme-agreed") == []

    b = attested(wheel, tmp_path / "org-b" / "dist", orgs["org-b"])
    capsys.readouterr()
    assert submit(b, nginx.root, trust, "--json") == 0, capsys.readouterr().err
    (said,) = json_output(capsys.readouterr().out, "publish-quorum")["submitted"]
    assert (said["outcome"], said["agreed"]) == ("published", ["org-a", "org-b"])
    assert listed(nginx.root, "acme-agreed") == [wheel.name]
    page = json.loads((nginx.root / "simple" / "acme-agreed" / "index.json").read_text())
    keyids = [b["keyids"][0] for b in page["files"][0]["_attestations"]]
    assert keyids == [load_signer(orgs[n].private).public_key.keyid for n in ("org-a", "org-b")]
    assert not (nginx.root / "staged" / "acme-agreed").exists(), "the staging folder went"
    done = pip_installs(nginx, tmp_path, "acme-agreed==1.0")
    assert done.returncode == 0, done.stderr
    assert "built here" in (tmp_path / "site" / "acme_agreed" / "__init__.py").read_text()

    capsys.readouterr()
    assert main([*verify, "--json"]) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    (agreed,) = json_output(out.out, "verify-quorum")["wheels"]
    assert agreed["agreed"] == ["org-a", "org-b"] and agreed["holds"] is True
    assert "2 of 2 agree (org-a, org-b)" in out.err

    three = trust_file(tmp_path / "strict", orgs, quorum=3)
    assert main(["verify", "acme-agreed==1.0", "--index", nginx.url, "--trust", str(three)]) == 12
    assert "2 of the 3 signers the quorum needs agree (org-a, org-b)" in capsys.readouterr().err

    c = attested(wheel, tmp_path / "org-c" / "dist", orgs["org-c"])
    assert submit(c, nginx.root, trust, "--json") == 0, capsys.readouterr().err
    (said,) = json_output(capsys.readouterr().out, "publish-quorum")["submitted"]
    assert (said["outcome"], said["agreed"]) == ("attested", ["org-a", "org-b", "org-c"])

    b_key = orgs["org-b"].keyid
    remote = RemoteIndex(nginx.url)
    (package,) = remote.release(canonicalize_name("acme-agreed"), "1.0")
    (got := tmp_path / "got").mkdir()
    (only,) = remote.fetch_bundles(package, got, signed_by=b_key)  # one key: one download
    assert bundle_keyids(only) == (b_key,)
    by_b = ["verify", "acme-agreed==1.0", "--index", nginx.url, "--key", str(orgs["org-b"].public)]
    assert main(by_b) == 0, capsys.readouterr().err


def test_a_signer_that_built_another_sha256_quarantines_the_file_and_the_report_shows_both(
    tmp_path: Path, orgs: dict[str, KeyPair], nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = trust_file(tmp_path, orgs)
    honest = built(tmp_path / "built", "acme-disputed", "built from source")
    tampered = built(tmp_path / "evil", "acme-disputed", "built with a backdoor")
    assert honest.name == tampered.name
    for org in ("org-a", "org-b"):
        signed = attested(honest, tmp_path / org / "dist", orgs[org])
        assert submit(signed, nginx.root, trust) == 0, capsys.readouterr().err
    assert listed(nginx.root, "acme-disputed") == [honest.name]
    pages_before = (nginx.root / "simple" / "acme-disputed" / "index.json").read_text()

    c = attested(tampered, tmp_path / "org-c" / "dist", orgs["org-c"])
    capsys.readouterr()
    assert submit(c, nginx.root, trust) == 15
    err = capsys.readouterr().err
    assert "in quarantine" in err and "org-a, org-b: sha256" in err and "org-c: sha256" in err
    assert listed(nginx.root, "acme-disputed") == [], "a disputed file leaves the pages"
    assert pages_before != (nginx.root / "simple" / "acme-disputed" / "index.json").read_text()
    assert pip_installs(nginx, tmp_path, "acme-disputed==1.0").returncode != 0

    assert main(["report", "--index", str(nginx.root), "-o", str(tmp_path / "report"),
                 "--json"]) == 0  # fmt: skip
    (held,) = json_output(capsys.readouterr().out, "report")["held"]
    assert held["state"] == "quarantined"
    assert [c["signers"] for c in held["candidates"]] == [["org-a", "org-b"], ["org-c"]]
    assert held["inputs_differ"] == [], "the same attested inputs gave two sha256s"
    (member,) = [d for d in held["differences"] if d["member"] == "acme_disputed/__init__.py"]
    assert any("backdoor" in line for line in member["text_diff"])
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Quarantine: " + honest.name in html and "backdoor" in html


def test_a_key_the_trust_file_does_not_name_is_refused_and_nothing_is_staged(
    tmp_path: Path, orgs: dict[str, KeyPair], nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = trust_file(tmp_path, orgs)
    stranger = new_key(tmp_path / "stranger" / "k.pem")
    wheel = built(tmp_path / "built", "acme-stranger", "who knows")
    theirs = attested(wheel, tmp_path / "stranger" / "dist", stranger)
    assert submit(theirs, nginx.root, trust) == 12
    assert "which the trust file" in capsys.readouterr().err
    assert not (nginx.root / "staged").exists() and listed(nginx.root, "acme-stranger") == []


def test_verify_a_lock_passes_only_where_every_pin_has_its_quorum(
    tmp_path: Path, orgs: dict[str, KeyPair], nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = trust_file(tmp_path, orgs)
    for name in ("acme-one", "acme-two"):
        wheel = built(tmp_path / "built", name, f"{name} built here")
        for org in ("org-a", "org-c"):
            signed = attested(wheel, tmp_path / org / name, orgs[org])
            assert submit(signed, nginx.root, trust) == 0, capsys.readouterr().err
    lonely = built(tmp_path / "built", "acme-lonely", "one signer")
    assert submit(attested(lonely, tmp_path / "org-b" / "lonely", orgs["org-b"]),
                  nginx.root, trust) == 0  # fmt: skip
    one = (tmp_path / "built" / "acme_one-1.0-py3-none-any.whl").read_bytes()
    import hashlib

    lock = tmp_path / "requirements.txt"
    lock.write_text(f"acme-one==1.0 \\\n    --hash=sha256:{hashlib.sha256(one).hexdigest()}\n"
                    "acme-two==1.0\n")  # fmt: skip
    verify = ["verify", "-r", str(lock), "--index", nginx.url, "--trust", str(trust)]
    capsys.readouterr()
    assert main(verify) == 0, capsys.readouterr().err
    assert "quorum holds (2 of 3 (org-a, org-b, org-c)) for 2 wheel(s) of 2 pin(s)" in (
        capsys.readouterr().err
    )
    lock.write_text(lock.read_text() + "acme-lonely==1.0\n")
    assert main(verify) == 12, "a pin staged, not listed: the lock does not pass"
    lock.write_text(f"acme-one==1.0 --hash=sha256:{'0' * 64}\n")
    assert main(verify) == 12
    assert "no wheel on the index has a sha256 the requirements file names" in (
        capsys.readouterr().err
    )


def test_verify_a_lock_with_one_key_checks_every_pin_and_its_hashes(
    tmp_path: Path, orgs: dict[str, KeyPair], nginx: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a quorum: -r with --key verifies every pin's wheel as NAME==VERSION does,
    and a pin's --hash must name the wheel the index serves."""
    import hashlib

    pair = orgs["org-a"]
    wheels = [built(tmp_path / "built", n, f"{n} built here") for n in ("acme-one", "acme-two")]
    for wheel in wheels:
        signed = attested(wheel, tmp_path / "org-a" / wheel.stem, pair)
        argv = ["publish", str(signed), "--to", str(nginx.root), "--key", str(pair.public),
                "--attestations", str(signed.parent / "attestations")]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
    one = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"acme-one==1.0 --hash=sha256:{one}\nacme-two==1.0\n")
    verify = ["verify", "-r", str(lock), "--index", nginx.url, "--key", str(pair.public)]
    capsys.readouterr()
    assert main([*verify, "--json"]) == 0, capsys.readouterr().err
    said = json_output(capsys.readouterr().out, "verify-index")
    assert said["pins"] == ["acme-one==1.0", "acme-two==1.0"] and len(said["wheels"]) == 2
    lock.write_text(f"acme-one==1.0 --hash=sha256:{'1' * 64}\n")
    assert main(verify) == 12
    assert "no wheel on the index has a sha256" in capsys.readouterr().err
