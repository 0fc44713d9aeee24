"""Rebuilds under variation in real containers: applied for real, compared bit for bit."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from builder.cli import main
from builder.store import Store
from builder.variation import DEFAULT_KINDS
from tests.container.conftest import (
    build_in_docker,
    c_extension_files,
    install_and_run,
    local_recipe,
)

# Printed into the build log by setup.py, so the test sees what each build saw.
PROBE = (
    "import os, socket, sys\n"
    "print('PROBE', socket.gethostname(), os.getuid(), len(os.sched_getaffinity(0)),\n"
    "      os.getcwd(), oct(os.umask(0o022)), os.environ.get('BUILDER_UNRELATED_VARIABLE'),\n"
    "      os.listdir('.'), file=sys.stderr)\n"
)


def _probes(store: Store, log_sha256: str) -> list[str]:
    log = store.path_of(log_sha256).read_text()  # type: ignore[arg-type]
    return [line for line in log.splitlines() if line.startswith("PROBE")]


def test_rebuilds_apply_each_variation_and_stay_bit_for_bit(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    files = c_extension_files("variedext", setup_extra=PROBE)
    recipe = local_recipe(tmp_path, session_store, "variedext", files)
    report = build_in_docker(recipe, session_store, tmp_path, docker_client, rebuilds=2)
    assert report.rebuild is not None
    assert report.rebuild.reproducible
    assert len(set(report.rebuild.sha256s)) == 1 and len(report.rebuild.sha256s) == 3
    reference = _probes(session_store, report.record.log_sha256)
    rebuilt = [_probes(session_store, r.log_sha256) for r in report.rebuild.rebuilds]
    assert reference and all(rebuilt)
    ref_host, ref_uid, ref_cpus, ref_cwd, _, ref_noise, ref_listing = reference[0].split(" ", 7)[1:]
    assert ref_cpus == str(len(os.sched_getaffinity(0)))
    for index, probe in enumerate(rebuilt, start=1):
        host, uid, cpus, cwd, _, noise, listing = probe[0].split(" ", 7)[1:]
        assert host == f"rebuild-{index}" != ref_host
        assert uid != ref_uid
        assert cpus == "1"
        assert cwd.startswith(f"/buildroot-rebuild-{index}/") and ref_cwd.startswith("/buildroot/")
        assert noise == f"rebuild-{index}" and ref_noise == "None"
        assert listing != ref_listing, "the directory listing order was not reversed"
    saved = json.loads(report.rebuild_path.read_text())  # type: ignore[union-attr]
    assert saved["reproducible"] is True and saved["builds"] == 3
    assert set(saved["variations"]) == {*DEFAULT_KINDS, "always"}
    assert list(report.record.rebuild.sha256s) == report.rebuild.sha256s


def test_a_difference_fails_with_exit_10_explains_it_and_normalize_reports_apart(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "umaskext", c_extension_files("umaskext"))
    base = ["build", "-q", str(recipe), "--store", str(session_store.root), "--rebuilds", "1"]
    code = main([*base, "--vary", "umask", "--dist", str(tmp_path / "a")])
    assert code == 10
    assert "is not reproducible" in capsys.readouterr().err
    (failed,) = (tmp_path / "a").glob("*.rebuild.json")
    (difference,) = json.loads(failed.read_text())["differences"]
    details = {d for m in difference["members"] for d in m["details"]}
    assert "permissions: 0o100644 -> 0o100664" in details
    assert difference["code_differs"] is False
    code = main([*base, "--vary", "umask", "--normalize", "--dist", str(tmp_path / "b")])
    assert code == 0
    (report_file,) = (tmp_path / "b").glob("*.rebuild.json")
    saved = json.loads(report_file.read_text())
    assert saved["raw_equal"] is False and saved["reproducible"] is False
    assert saved["normalized"]["equal"] is True and saved["normalized"]["applied"]


def test_a_normalized_wheel_still_installs_and_imports(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    from builder.compare.normalize import normalize_wheel

    recipe = local_recipe(tmp_path, session_store, "normext", c_extension_files("normext"))
    built = build_in_docker(recipe, session_store, tmp_path / "dist", docker_client)
    normalized = normalize_wheel(built.wheel, tmp_path / "norm", 1700000000)
    with zipfile.ZipFile(normalized) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    code = "import normext; print(normext.answer())"
    assert install_and_run(docker_client, image, normalized, code).strip() == "42"
