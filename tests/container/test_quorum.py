"""Three organisations on one machine, each with its own store, key and build root: A
builds the tiny stack and submits it to a builder index that lists a wheel only when two
of the three agree; B rebuilds from A's bundles with nothing but the index and A's public
key (the image by digest, the wheels built here by sha256, both from the index) and
submits its own signed provenance; C builds in a tampered image. The agreed wheels are
listed and pip installs them; C's is quarantined, and the report shows what differs.

The stack's sdists come from its own index (nginx); builder's index is a second nginx."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.cli import main
from builder.provenance.bundle import read_statements
from builder.provenance.signing import KeyPair, load_public_key, new_key
from builder.provenance.statements import REBUILD_PREDICATE
from builder.publish.remote import RemoteIndex
from builder.sandbox.bwrap import place_rootfs
from builder.store import Store
from builder.store_trees import seal
from tests.conftest import Served, json_output, trust_file
from tests.container.conftest import browse

ORGS = ("org-a", "org-b", "org-c")
# A rebuilder fetches acmestack-app's built requirements from the index: these first.
AGREED = ("acmestack_backend", "acmestack_tool", "acmestack_loop_a", "acmestack_app")
BACKDOOR = """
_write = ZipFile.writestr
def writestr(self, info, data, *args, **kwargs):  # a compromised build host's toolchain
    name = getattr(info, "filename", info)
    if isinstance(data, bytes) and str(name).endswith("/__init__.py"):
        data += b"\\nBACKDOOR = True\\n"
    return _write(self, info, data, *args, **kwargs)
ZipFile.writestr = writestr
"""


def _publish(wheel: Path, index: Served, trust: Path, att: Path, store: Path) -> int:
    argv = ["publish", str(wheel), "--to", str(index.root), "--quorum", str(trust),
            "--attestations", str(att), "--store", str(store), "--json"]  # fmt: skip
    return main(argv)


def _outcome(capsys: pytest.CaptureFixture[str]) -> list[str]:
    said = json_output(capsys.readouterr().out, "publish-quorum")["submitted"]
    return [s["outcome"] for s in said]


def _listed(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "simple").glob("*/index.json")
                  if json.loads(p.read_text())["files"])  # fmt: skip


def _seeded(store: Path, image, session_store: Store) -> Path:  # type: ignore[no-untyped-def]
    """A new store holding the image's tools (they come from the public index, which the
    stack's tests replace with the stack's own)."""
    fresh = Store(store)
    for tool in image.tools:
        fresh.add_file(session_store.path_of(tool.sha256), expected=tool.sha256)
    return store


def _rebuild(bundle: Path, org: str, orgs: Orgs, store: Path) -> int:
    argv = ["rebuild", "--from", str(bundle), "--key", str(orgs.keys["org-a"].public),
            "--index", orgs.index.url, "--sign", "--signing-key", str(orgs.keys[org].private),
            "--attestations", str(orgs.root / org / "att"), "--store", str(store),
            "--dist", str(orgs.root / org / "dist"), "--backend", "sandbox", "-q"]  # fmt: skip
    return main(argv)


def _pip(index: Served, tmp_path: Path, *requirement: str) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "site"
    shutil.rmtree(target, ignore_errors=True)
    argv = [sys.executable, "-m", "pip", "install", "--index-url", f"{index.url}simple/",
            "--only-binary", ":all:", "--no-cache-dir", "--disable-pip-version-check",
            "--target", str(target), *requirement]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_three_organisations_a_quorum_lists_what_two_agree_on_and_quarantines_a_tampered_build(  # type: ignore[no-untyped-def]
    stack: Path, session_store: Store, image, nginx_builder_index: Served, tmp_path: Path,
    chromium: str, capsys,
) -> None:  # fmt: skip
    index = nginx_builder_index
    keys = {org: new_key(tmp_path / org / "keys" / "k.pem") for org in ORGS}
    trust = trust_file(tmp_path / "operator", keys, quorum=2)
    orgs = Orgs(index=index, trust=trust, keys=keys, root=tmp_path)

    dist_a = _a_builds_and_submits(stack, session_store, orgs, capsys)
    assert _listed(index.root) == [], "one organisation alone publishes nothing"
    assert _pip(index, tmp_path, "--no-deps", "acmestack-app").returncode != 0

    _b_rebuilds_and_submits(dist_a, _seeded(tmp_path / "org-b" / "store", image, session_store),
                            orgs, capsys)  # fmt: skip
    asked = index.requests()
    assert f"/images/{image.digest}.tar.gz" in asked, "B's image came from the index by digest"
    assert any(path.startswith("/patches/") for path in asked), "and the tool's patch"
    assert _listed(index.root) == sorted(p.replace("_", "-") for p in AGREED)

    (lib,) = dist_a.glob("acmestack_lib-*.whl")
    store_c = _seeded(tmp_path / "org-c" / "store", image, session_store)
    _c_builds_in_a_tampered_image(lib, image, store_c, orgs, capsys)
    (backend,) = dist_a.glob("acmestack_backend-*.whl")
    assert f"/files/acmestack-backend/{backend.name}" in index.requests(), (
        "C's fresh store took lib's build backend, built here, from the index by sha256"
    )

    # What is served: the agreed wheels, installable; the disputed one on no page.
    assert "acmestack-lib" not in _listed(index.root)
    done = _pip(index, tmp_path, "--no-deps", "acmestack-app==1.0", "acmestack-backend==1.0")
    assert done.returncode == 0, done.stderr
    assert _pip(index, tmp_path, "acmestack-app==1.0").returncode != 0, "its lib is held back"
    verify = ["verify", "acmestack-app==1.0", "--index", index.url, "--trust", str(trust)]
    assert main(verify) == 0
    assert "2 of 2 agree (org-a, org-b)" in capsys.readouterr().err
    assert main(["report", "--index", str(index.root), "-o", str(tmp_path / "report"),
                 "--json"]) == 0  # fmt: skip
    held = {h["filename"]: h for h in json_output(capsys.readouterr().out, "report")["held"]}
    disputed = held[lib.name]
    assert disputed["state"] == "quarantined" and disputed["inputs_differ"] == []
    assert [c["signers"] for c in disputed["candidates"]] == [["org-a"], ["org-c"]]
    assert any("BACKDOOR" in line for d in disputed["differences"] for line in d["text_diff"])
    assert held["acmestack_loop_b-1.0-py3-none-any.whl"]["state"] == "staged"
    shown = browse(chromium, (tmp_path / "report" / "index.html").as_uri(), "--dump-dom")
    assert f"Quarantine: {lib.name}" in shown and "BACKDOOR" in shown


@dataclass(frozen=True)
class Orgs:
    index: Served
    trust: Path
    keys: dict[str, KeyPair]
    root: Path


def _a_builds_and_submits(stack: Path, store: Store, orgs: Orgs, capsys) -> Path:  # type: ignore[no-untyped-def]
    """A plans and builds the stack, signs with its key, and submits every wheel: each is
    staged. Its dist folder."""
    plan = ["plan", str(stack / "requirements.txt"), "--out", str(stack / "plan"), "-q",
            "--policy", str(stack / "builder.toml"), "--store", str(store.root),
            "--overrides", str(stack / "overrides"), "--backend", "sandbox"]  # fmt: skip
    assert main(plan) == 0, capsys.readouterr().err
    att, dist = orgs.root / "org-a" / "att", orgs.root / "org-a" / "dist"
    build = ["build", "--graph", str(stack / "plan" / "graph.json"), "--jobs", "2", "-q",
             "--store", str(store.root), "--dist", str(dist), "--attestations", str(att),
             "--key", str(orgs.keys["org-a"].private), "--backend", "sandbox"]  # fmt: skip
    assert main(build) == 0, capsys.readouterr().err
    capsys.readouterr()
    for wheel in sorted(dist.glob("*.whl")):
        assert _publish(wheel, orgs.index, orgs.trust, att, store.root) == 0
        assert _outcome(capsys) == ["staged"]
    return dist


def _b_rebuilds_and_submits(dist_a: Path, store: Path, orgs: Orgs, capsys) -> None:  # type: ignore[no-untyped-def]
    """B: a fresh store, the index and A's public key; its own key signs what it rebuilt,
    and each submission makes a quorum."""
    for prefix in AGREED:
        (wheel,) = dist_a.glob(f"{prefix}-*.whl")
        bundle = orgs.root / "org-a" / "att" / f"{wheel.name}.intoto.jsonl"
        assert _rebuild(bundle, "org-b", orgs, store) == 0, capsys.readouterr().err
        capsys.readouterr()
        rebuilt = orgs.root / "org-b" / "dist" / wheel.name
        att = orgs.root / "org-b" / "att"
        (independent,) = [s.predicate for s in read_statements(att / f"{wheel.name}.intoto.jsonl",
                                                               load_public_key(orgs.keys["org-b"].public))
                          if s.predicate_type == REBUILD_PREDICATE]  # fmt: skip
        assert independent["raw_equal"] is True and independent["builds"] == 2
        assert _publish(rebuilt, orgs.index, orgs.trust, att, store) == 0
        assert _outcome(capsys) == ["published"], wheel.name


def _c_builds_in_a_tampered_image(lib: Path, image, store: Path, orgs: Orgs, capsys) -> None:  # type: ignore[no-untyped-def]
    """C: the same image by digest, tampered on C's host (its toolchain adds a backdoor
    and the host seals what it changed); its rebuild of lib differs, and its submission
    puts lib in quarantine."""
    RemoteIndex(orgs.index.url).fetch_image(image.digest, Store(store))
    rootfs = place_rootfs(image.digest, Store(store), what="image")
    (zipfile_module,) = rootfs.glob("usr/lib/python3.*/zipfile/__init__.py")
    zipfile_module.write_text(zipfile_module.read_text() + BACKDOOR)
    shutil.rmtree(zipfile_module.parent / "__pycache__", ignore_errors=True)
    seal(rootfs, rootfs)
    bundle = orgs.root / "org-a" / "att" / f"{lib.name}.intoto.jsonl"
    assert _rebuild(bundle, "org-c", orgs, store) == 10, "C's build differs from A's"
    capsys.readouterr()
    tampered = orgs.root / "org-c" / "dist" / lib.name
    assert _publish(tampered, orgs.index, orgs.trust, orgs.root / "org-c" / "att", store) == 15
    assert _outcome(capsys) == ["quarantined"]
