"""builder report from real builds and real attestations, loaded from disk by a real
headless Chromium: the summary's counts, a non-reproducible wheel's difference, the
filters, and two attestation folders that disagree about one wheel, shown as such."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from builder.cli import main
from builder.store import Store
from tests.conftest import json_output
from tests.container.conftest import browse, c_extension_files, local_recipe

# A module whose content changes with every build (the time): its rebuild differs, and
# a second build (another build key) gives a wheel another signer would disagree with.
STAMPED = (
    "import pathlib, time\n"
    "c = pathlib.Path('stamped.c')\n"
    "t = time.time_ns()\n"
    "c.write_text(c.read_text() + f'const char built_at_{t}[] = \"BUILT_AT {t}\";\\n')\n"
)


def _build(recipe: Path, store: Store, dist: Path, att: Path) -> None:
    argv = ["build", str(recipe), "--rebuilds", "1", "--allow-unreproducible", "-q",
            "--dist", str(dist), "--attestations", str(att), "--store", str(store.root),
            "--backend", "sandbox"]  # fmt: skip
    assert main(argv) == 0


def test_the_report_shows_counts_differences_and_disagreeing_signers_in_a_real_browser(  # type: ignore[no-untyped-def]
    bubblewrap, image, chromium: str, session_store: Store, tmp_path: Path, capsys
) -> None:
    plain = local_recipe(tmp_path, session_store, "plain", c_extension_files("plain"))
    stamped_files = c_extension_files("stamped", setup_extra=STAMPED)
    stamped = local_recipe(tmp_path, session_store, "stamped", stamped_files)
    dist, here, other = tmp_path / "dist", tmp_path / "att-here", tmp_path / "att-other"
    _build(plain, session_store, dist, here)
    _build(stamped, session_store, dist, here)
    # "Another machine": the same recipe built again (another build key), its own bundle.
    again = tmp_path / "again" / "stamped.toml"
    again.parent.mkdir()
    text = stamped.read_text().replace("[build]\n", '[build]\nenv = { AGAIN = "1" }\n')
    again.write_text(text)
    _build(again, session_store, tmp_path / "dist-other", other)
    # A bundle of a kind the report does not know, about a wheel the dist folder lacks.
    odd = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://example.invalid/x",
           "subject": [{"name": "ghost-1.0-py3-none-any.whl", "digest": {"sha256": "0" * 64}}],
           "predicate": {}}  # fmt: skip
    envelope = {"payloadType": "application/vnd.in-toto+json", "signatures": [],
                "payload": base64.b64encode(json.dumps(odd).encode()).decode()}  # fmt: skip
    (other / "ghost-1.0-py3-none-any.whl.intoto.jsonl").write_text(json.dumps(envelope) + "\n")
    capsys.readouterr()

    out = tmp_path / "report"
    key = tmp_path / "user-key" / "signing-key.pub.json"  # what signed both folders
    argv = ["report", "--dist", str(dist), "--attestations", str(here), "--attestations",
            str(other), "-o", str(out), "--json", "--key", str(key)]  # fmt: skip
    assert main(argv) == 0
    data = json_output(capsys.readouterr().out, "report")
    statuses = {w["wheel"].split("-")[0]: w["status"] for w in data["wheels"]}
    assert statuses == {"plain": "reproducible", "stamped": "attestations disagree",
                        "ghost": "wheel missing"}  # fmt: skip
    ghost = next(w for w in data["wheels"] if w["wheel"].startswith("ghost"))
    assert ghost["attestations"][0]["unknown_types"] == ["https://example.invalid/x"]
    assert ghost["attestations"][0]["signature"].startswith("not verified")  # unsigned
    plain = next(w for w in data["wheels"] if w["wheel"].startswith("plain"))
    assert plain["attestations"][0]["signature"] == f"verified: {data['keys'][0]}"
    assert plain["gate"] == [] and not plain["unverified"]
    assert plain["glibc"] is not None and plain["platform"].endswith(
        f"glibc {plain['glibc']} or newer"
    )
    assert ghost["glibc"] is None and ghost["platform"].startswith("any platform")

    index = browse(chromium, (out / "index.html").as_uri(), "--dump-dom")
    counts = dict(re.findall(r'id="count-([a-z-]+)"[^>]*>(\d+)<', index))
    # The two local recipes build with setuptools' index wheel: an exception each.
    assert counts == {"wheels": "3", "reproducible": "1", "differs": "0", "not-rebuilt": "0",
                      "disagree": "1", "missing": "1", "exceptions": "2", "unverified": "1",
                      "gate": "0"}  # fmt: skip
    filtered = browse(chromium, (out / "index.html").as_uri() + "#not-reproducible",
                      "--dump-dom")  # fmt: skip
    rows = re.findall(r'<tr data-reproducible="(yes|no)"[^>]*?(style="display: none;")?>',
                      filtered)  # fmt: skip
    assert sorted(rows) == [("no", ""), ("no", ""), ("yes", 'style="display: none;"')]

    (page,) = (out / "wheels").glob("stamped-*.html")
    shown = browse(chromium, page.as_uri(), "--dump-dom")
    assert "stamped.cpython-" in shown, "the differing member: the extension module"
    assert "disagrees" in index and re.search(r'class="bad">no<', shown)
    assert re.search(r'id="platform">manylinux_2_\d+_x86_64: glibc 2\.\d+ or newer<', shown)
    assert f'<td class="glibc">{plain["glibc"]}</td>' in index
    shot = tmp_path / "report.png"
    browse(chromium, (out / "index.html").as_uri(), f"--screenshot={shot}",
           "--window-size=1280,800")  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_shows_the_graph_build_s_table_in_a_real_browser(  # type: ignore[no-untyped-def]
    chromium: str, tmp_path: Path, capsys
) -> None:
    """The table builder build --graph writes into its dist folder: per node its state,
    reproducibility, platform and time (the graph build itself: tests/container/test_plan.py)."""
    dist = tmp_path / "dist"
    dist.mkdir()
    table = {"schema": "builder/build-graph/v1", "ok": True, "graphs": ["plan/graph.json"],
             "nodes": [{"node": "plain==1.0", "image": "trixie-py", "state": "built",
                        "wheel": None, "sha256": None, "reason": None, "reproducible": True,
                        "platform": "manylinux_2_36_x86_64", "seconds": 12.3},
                       {"node": "vendor-only==2.0", "image": "trixie-py", "state": "exception",
                        "wheel": None, "sha256": None, "reason": "wheels only",
                        "reproducible": None, "platform": None, "seconds": None}]}  # fmt: skip
    (dist / "graph-build.json").write_text(json.dumps(table))
    out = tmp_path / "report"
    assert main(["report", "--dist", str(dist), "-o", str(out), "--json"]) == 0
    data = json_output(capsys.readouterr().out, "report")
    assert [r["state"] for r in data["graph"]] == ["built", "exception"]
    index = browse(chromium, (out / "index.html").as_uri(), "--dump-dom")
    graph = re.search(r'<table id="graph">(.*?)</table>', index, re.DOTALL)
    assert graph is not None and "vendor-only==2.0" in graph[1] and "wheels only" in graph[1]
    built = r'<td class="ok">built</td>\s*<td><span class="ok">yes</span></td>'
    assert re.search(built, graph[1]) and "12 s" in graph[1]
