"""The hostile corpus (tests/hostile) run as real builds: each attempt must fail or be
stopped, builder must say which limit stopped it, and the host must be unchanged."""

from __future__ import annotations

import ipaddress
import re
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.cli import main
from builder.store import Store
from tests.conftest import unavailable
from tests.container.conftest import PYPROJECT, local_recipe, processes_with
from tests.hostile import setup_py


@pytest.fixture(params=["docker", "sandbox"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every attempt runs against both backends; both must hold."""
    request.getfixturevalue("docker_client" if request.param == "docker" else "bubblewrap")
    return str(request.param)


@dataclass
class Listener:
    """A TCP server on every host address; it counts the connections it accepts."""

    port: int
    accepted: list[str]


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    result = Listener(port=server.getsockname()[1], accepted=[])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            result.accepted.append(f"{addr[0]}:{addr[1]}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield result
    stop.set()
    thread.join()
    server.close()


def host_address() -> str:
    """An address of the host other than loopback (the Docker bridge's, where there is one)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False)
    addresses = [line.split()[3].split("/")[0] for line in out.stdout.splitlines()]
    bridge = [a for a, line in zip(addresses, out.stdout.splitlines(), strict=True)
              if " docker0 " in f" {line} "]  # fmt: skip
    others = [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
    return (bridge or others or ["172.17.0.1"])[0]


@dataclass
class Outcome:
    code: int
    err: str
    log: str


@pytest.fixture
def run_hostile(backend: str, image, session_store: Store, tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    def run(name: str, limits: dict[str, int] | None = None, **values: object) -> Outcome:
        files = {"pyproject.toml": PYPROJECT, "setup.py": setup_py(name, **values)}
        package = f"hostile{name.replace('-', '')}"
        recipe = local_recipe(tmp_path, session_store, package, files, limits=limits)
        argv = ["build", "-q", str(recipe), "--store", str(session_store.root),
                "--dist", str(tmp_path / "dist"), "--no-attest", "--backend", backend]  # fmt: skip
        code = main(argv)
        err = capsys.readouterr().err
        log_path = err.split("the full log is ")[-1].split()[0] if "full log" in err else None
        log = Path(log_path).read_text() if log_path else ""
        assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))
        return Outcome(code=code, err=err, log=log)

    return run


def _blocked_only(outcome: Outcome, name: str) -> None:
    lines = [line for line in outcome.log.splitlines() if line.startswith(f"HOSTILE {name}")]
    assert lines, f"the attempt did not run:\n{outcome.log[-2000:]}"
    reached = [line for line in lines if " REACHED: " in line]
    assert not reached, reached
    assert outcome.code == 8, outcome.err


def test_no_network_not_loopback_not_the_bridge_not_public_not_dns_not_docker(  # type: ignore[no-untyped-def]
    run_hostile, listener: Listener
) -> None:
    outcome = run_hostile("network", HOST_PORT=listener.port, BRIDGE=host_address())
    _blocked_only(outcome, "network")
    assert listener.accepted == [], "a build reached a host port"


def test_nothing_outside_the_build_can_be_written(run_hostile) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4().hex
    outcome = run_hostile("write-outside", TOKEN=token)
    _blocked_only(outcome, "write-outside")
    leaked = subprocess.run(["find", "/", "-xdev", "-name", f"escape-{token}"],
                            capture_output=True, text=True, check=False).stdout  # fmt: skip
    assert leaked == ""


def test_a_build_cannot_change_its_venvs_or_the_tools_that_repair_it(run_hostile) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4().hex
    outcome = run_hostile("tamper-tools", TOKEN=token)
    _blocked_only(outcome, "tamper-tools")
    blocked = [line for line in outcome.log.splitlines() if line.startswith("HOSTILE tamper")]
    assert len(blocked) == 3, blocked  # auditwheel's code, a new .pth, the build venv


def test_kernel_interfaces_escapes_start_from_are_refused(run_hostile, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Keyrings, eBPF, perf, userfaultfd, a new user namespace (by unshare or clone),
    mount: refused on both backends; io_uring by the sandbox's filter (Docker's default
    profile allows it before Docker 25)."""
    outcome = run_hostile("kernel-surface", TOKEN=uuid.uuid4().hex)
    _blocked_only(outcome, "kernel-surface")
    lines = [line for line in outcome.log.splitlines() if line.startswith("HOSTILE kernel")]
    assert len(lines) == 8, lines
    if backend == "sandbox":
        assert "HOSTILE io-uring blocked" in outcome.log, outcome.log[-2000:]


def test_the_hosts_environment_home_and_credentials_are_out_of_reach(  # type: ignore[no-untyped-def]
    run_hostile, tmp_path: Path, monkeypatch
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("BUILDER_HOST_CANARY", canary)
    home = tmp_path / "home"
    for secret in (".docker/config.json", ".pypirc", ".netrc", ".ssh/id_ed25519"):
        (home / secret).parent.mkdir(parents=True, exist_ok=True)
        (home / secret).write_text(canary)
    monkeypatch.setenv("HOME", str(home))
    root_canary = Path(f"/root/.builder-canary-{canary}")
    try:
        root_canary.write_text(canary)
    except OSError:
        root_canary = None  # type: ignore[assignment]
    try:
        outcome = run_hostile("read-host-secrets", CANARY_HEAD=canary[:12], CANARY_TAIL=canary[12:])
    finally:
        if root_canary is not None:
            root_canary.unlink()
    _blocked_only(outcome, "read-host-secrets")
    assert (home / ".pypirc").read_text() == canary


def test_no_privilege_escalation_setuid_mount_raw_sockets_or_host_processes(  # type: ignore[no-untyped-def]
    run_hostile, session_store: Store, tmp_path: Path
) -> None:
    """Host processes, and anything that names the host's paths (the store, the folder
    of the build: bwrap, the sandbox's pid 1, would show them in its command line), are
    out of sight."""
    host_paths = [str(session_store.root), str(tmp_path)]
    _blocked_only(run_hostile("escalate", HOST_PATHS=host_paths), "escalate")


def test_nothing_is_left_behind_no_process_no_file(run_hostile) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4().hex
    outcome = run_hostile("leave-behind", TOKEN=token)
    _blocked_only(outcome, "leave-behind")
    assert processes_with(token) == []
    assert not Path(f"/tmp/left-{token}").exists()


def test_links_planted_in_out_never_make_builder_read_host_files(run_hostile) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4().hex
    canary = Path(f"/tmp/host-canary-{token}")
    canary.write_text(f'{{"wheel": "stolen-{token}.whl"}}')
    try:
        outcome = run_hostile("link-out", limits={"timeout_s": 60}, TOKEN=token)
    finally:
        canary.unlink()
    assert outcome.code in (5, 8), outcome.err  # refused as an archive, or no valid wheel
    assert "result.json" in outcome.err or "links to absolute path" in outcome.err
    assert f"stolen-{token}" not in outcome.err + outcome.log


def test_a_fork_bomb_hits_the_pids_limit(run_hostile) -> None:  # type: ignore[no-untyped-def]
    outcome = run_hostile("fork-bomb", limits={"pids": 64})
    _blocked_only(outcome, "fork-bomb")
    assert "Resource temporarily unavailable" in outcome.log


def test_endless_allocation_hits_the_memory_limit_and_says_so(run_hostile, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Both backends hold memory in a cgroup (the sandbox falls back to RLIMIT_AS only
    where it cannot make one, and says so at start); the kernel's OOM killer stops the
    build, and builder says it was the memory limit."""
    if backend == "sandbox":
        from builder.sandbox.cgroups import can_make

        if not can_make():
            unavailable("a cgroup for the sandbox's limits", "this user may not make one")
    outcome = run_hostile("memory", limits={"memory_mib": 256})
    assert outcome.code == 8
    assert "killed: the memory limit was reached" in outcome.err, outcome.err


@pytest.mark.parametrize(("name", "limit"), [("fill-tmp", "tmpfs_mib"), ("fill-out", "out_mib")])
def test_filling_tmp_or_out_stops_at_its_size_limit(run_hostile, name: str, limit: str) -> None:  # type: ignore[no-untyped-def]
    outcome = run_hostile(name, limits={limit: 16})
    _blocked_only(outcome, name)
    # A sized tmpfs says ENOSPC; where bwrap cannot size one, the file size limit says EFBIG.
    assert "No space left on device" in outcome.log or "File too large" in outcome.log


def test_a_build_that_runs_forever_is_stopped_at_the_wall_clock_limit(run_hostile) -> None:  # type: ignore[no-untyped-def]
    outcome = run_hostile("run-forever", limits={"timeout_s": 10})
    assert outcome.code == 8
    assert "stopped: the wall-clock limit was reached" in outcome.err


def test_endless_output_is_cut_and_the_build_stopped(run_hostile) -> None:  # type: ignore[no-untyped-def]
    """64 KiB lines without end: the kept log stops at 32 MiB and says so, and the clock
    stops the build."""
    outcome = run_hostile("print-forever", limits={"timeout_s": 20})
    assert outcome.code == 8
    assert "stopped: the wall-clock limit was reached" in outcome.err
    assert outcome.log.rstrip().endswith("==> builder: log truncated after 32 MiB")
    assert (32 << 20) - (1 << 17) <= len(outcome.log) <= (32 << 20) + (1 << 17)


def test_both_backends_give_the_same_wheel_and_auto_says_which_it_picked(  # type: ignore[no-untyped-def]
    docker_client, bubblewrap, image, session_store: Store, tmp_path: Path, monkeypatch, capsys
) -> None:
    from tests.container.conftest import c_extension_files

    recipe = local_recipe(tmp_path, session_store, "bothext", c_extension_files("bothext"))
    base = ["build", "-q", str(recipe), "--store", str(session_store.root), "--no-attest"]
    assert main([*base, "--backend", "docker", "--dist", str(tmp_path / "d")]) == 0
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    argv = [*base, "--backend", "auto", "--rebuilds", "1", "--dist", str(tmp_path / "s")]
    assert main(argv) == 0, "the sandbox rebuild differs from the docker build"
    err = capsys.readouterr().err
    assert "backend: sandbox (auto: " in err
    assert "in sandbox (no network)" in err


def test_a_hostile_sdist_is_refused_on_the_host_naming_the_member(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    import io
    import tarfile

    sdist = tmp_path / "evilarchive-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name, data in [("evilarchive-1.0/setup.py", b""), ("evilarchive-1.0/../../x", b"x")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    digest = session_store.add_file(sdist)
    recipe = tmp_path / "evil.toml"
    recipe.write_text(
        '[package]\nname = "evilarchive"\nversion = "1.0"\n\n'
        f'[sdist]\nfile = "{sdist.name}"\nsha256 = "{digest}"\n\n[build]\nimage = "trixie-py"\n'
    )
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main(argv) == 5
    assert "'evilarchive-1.0/../../x'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


def test_a_decompression_bomb_stops_at_the_recipes_unpack_limit(  # type: ignore[no-untyped-def]
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    files = {"pyproject.toml": PYPROJECT, "setup.py": "", "zeros.bin": "\0" * (4 << 20)}
    recipe = local_recipe(tmp_path, session_store, "bombext", files, limits={"unpack_mib": 1})
    argv = ["build", str(recipe), "--store", str(session_store.root), "--dist", str(tmp_path)]
    assert main(argv) == 5
    assert "'bombext-1.0/zeros.bin' exceeds the limit of 1048576 bytes" in capsys.readouterr().err


def test_a_cancelled_backend_starts_no_further_run(  # type: ignore[no-untyped-def]
    backend: str, image, session_store: Store, tmp_path: Path
) -> None:
    """Ctrl-C cancels a build between two of its runs (venvs, then the build): the next
    run must not start, on either backend, and nothing is left running."""
    from builder.errors import BuildFailed
    from builder.pipeline.build import build
    from builder.pipeline.request import BuildRequest
    from builder.recipe import load_recipe
    from builder.sandbox import CANCELLED
    from builder.sandbox.bwrap import BwrapSandbox
    from builder.sandbox.docker import DockerSandbox
    from tests.container.conftest import c_extension_files, workspace

    sandbox = DockerSandbox() if backend == "docker" else BwrapSandbox()
    sandbox.cancel()
    recipe = local_recipe(tmp_path, session_store, "cancelled", c_extension_files("cancelled"))
    with pytest.raises(BuildFailed, match=re.escape(CANCELLED)):
        build(
            BuildRequest(recipe=load_recipe(recipe)),
            workspace(session_store, tmp_path / "dist", lambda: sandbox),
        )
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())
