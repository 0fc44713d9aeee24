"""End to end: real recipes built in real containers, then installed and imported."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builder.cli import main
from builder.pipeline import build_recipe
from builder.progress import Silent
from builder.sandbox.docker import LABEL, DockerSandbox
from builder.store import Store
from tests.conftest import REPO
from tests.integration.conftest import (
    build_in_docker as build,
)
from tests.integration.conftest import (
    c_extension_files,
    install_and_run,
    local_recipe,
)

pytestmark = pytest.mark.docker


def test_markupsafe_builds_then_installs_and_works_in_a_fresh_container(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    report = build(REPO / "recipes" / "markupsafe.toml", session_store, tmp_path, docker_client)
    assert report.wheel.name.startswith("markupsafe-3.0.3-cp313-cp313-manylinux")
    record = json.loads(report.record_path.read_text())
    assert record["inputs"]["sdist"]["sha256"] == (
        "722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698"
    )
    assert record["inputs"]["image"]["digest"] == f"sha256:{image.digest}"
    assert any(p["name"] == "python3" for p in record["inputs"]["image"]["packages"])
    assert record["run"]["network"] is False
    assert record["run"]["env"]["SOURCE_DATE_EPOCH"].isdigit()
    assert record["output"]["sha256"] == report.sha256
    out = install_and_run(
        docker_client, image, report.wheel,
        "import markupsafe, markupsafe._speedups; print(markupsafe.escape('<a>'))",
    )  # fmt: skip
    assert out.strip() == "&lt;a&gt;"


def test_an_unchanged_recipe_is_a_cache_hit_that_starts_no_container(
    docker_client, image, session_store: Store, tmp_path: Path
) -> None:
    recipe = local_recipe(tmp_path, session_store, "cachedext", c_extension_files("cachedext"))
    first = build(recipe, session_store, tmp_path / "a", docker_client)

    def no_backend() -> DockerSandbox:
        raise AssertionError("a cache hit must not start a container")

    second = build_recipe(
        recipe, store=session_store, dist=tmp_path / "b", sandbox_factory=no_backend,
        progress=Silent(), image_search=(REPO / "containers",),
    )  # fmt: skip
    assert (first.cached, second.cached) == (False, True)
    assert second.wheel.read_bytes() == first.wheel.read_bytes()
    out = install_and_run(
        docker_client, image, second.wheel, "import cachedext; print(cachedext.answer())"
    )
    assert out.strip() == "42"


def test_a_corrupt_stored_input_is_refused_and_nothing_is_written(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "corruptext", c_extension_files("corruptext"))
    text = recipe.read_text()
    digest = text.split('sha256 = "')[1].split('"')[0]
    obj = session_store.path_of(digest)  # type: ignore[arg-type]
    obj.chmod(0o644)
    obj.write_bytes(obj.read_bytes() + b"tampered")
    dist = tmp_path / "dist"
    try:
        code = main(["build", str(recipe), "--store", str(session_store.root), "--dist", str(dist)])
    finally:
        obj.unlink()
    assert code == 9
    assert "is corrupt" in capsys.readouterr().err
    assert not dist.exists() or list(dist.iterdir()) == []


def test_a_wrong_sdist_hash_fails_fetch_and_stores_nothing(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    wrong = "0" * 64
    recipe = tmp_path / "markupsafe.toml"
    recipe.write_text(
        text.replace("722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698", wrong)
    )
    dist = tmp_path / "dist"
    code = main(["build", str(recipe), "--store", str(session_store.root), "--dist", str(dist)])
    assert code == 4
    err = capsys.readouterr().err
    assert "markupsafe-3.0.3.tar.gz" in err and wrong in err
    assert not session_store.has(wrong)  # type: ignore[arg-type]
    assert not dist.exists()


def test_a_failing_build_exits_8_with_its_log_and_leaves_no_wheel(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    files = c_extension_files("brokenext")
    files["brokenext.c"] = "#error this extension does not compile\n"
    recipe = local_recipe(tmp_path, session_store, "brokenext", files)
    dist = tmp_path / "dist"
    code = main(
        ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist", str(dist)]
    )
    assert code == 8
    err = capsys.readouterr().err
    assert "build of brokenext 1.0" in err and "exited with status" in err
    log = Path(err.split("the full log is ")[1].split()[0])
    assert "this extension does not compile" in log.read_text()
    assert not dist.exists() or list(dist.iterdir()) == []


def test_an_unreachable_docker_daemon_is_a_clear_error(
    docker_client, image, session_store: Store, tmp_path: Path, monkeypatch, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "nodaemon", c_extension_files("nodaemon"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main([*argv, "--backend", "docker"]) == 7
    assert "the Docker daemon does not answer" in capsys.readouterr().err


def test_a_missing_bubblewrap_is_a_clear_error(
    docker_client, image, session_store: Store, tmp_path: Path, monkeypatch, capsys
) -> None:
    recipe = local_recipe(tmp_path, session_store, "nobwrap", c_extension_files("nobwrap"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main([*argv, "--backend", "sandbox"]) == 7
    assert "bubblewrap (bwrap) is not installed" in capsys.readouterr().err


def _descendants(pid: int) -> set[int]:
    """The processes below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.parametrize("backend", ["docker", "sandbox"])
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_signal_during_a_build_removes_its_container_and_exits_with_its_code(  # type: ignore[no-untyped-def]
    signum: int, code: int, word: str, backend: str, docker_client, image,
    session_store: Store, tmp_path: Path,
) -> None:  # fmt: skip
    name = f"sleepy{code}"
    files = c_extension_files(name, setup_extra="import time; time.sleep(600)")
    recipe = local_recipe(tmp_path, session_store, name, files)
    argv = ["build", "-q", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path),
            "--backend", backend]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "builder", *argv], stderr=subprocess.PIPE)

    def started() -> set[int]:
        if backend == "docker":
            return {1} if docker_client.containers.list(filters={"label": LABEL}) else set()
        below = _descendants(proc.pid)
        return below if any(_comm(p) == "python3" for p in below) else set()

    try:
        deadline = time.monotonic() + 120
        while not (running := started()):
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.2)
        time.sleep(1)  # the build venvs run first: let the build itself start
        running = started()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    if backend == "sandbox":  # killed, and reaped a moment later
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in running) and time.monotonic() < deadline:
            time.sleep(0.1)
        alive = {p: _comm(p) for p in running if Path(f"/proc/{p}").exists()}
        assert running and not alive, alive
    assert proc.returncode == code, err.decode()
    assert word in err.decode()
    assert docker_client.containers.list(all=True, filters={"label": LABEL}) == []
    assert not list((session_store.root / "tmp").glob("build-*"))
