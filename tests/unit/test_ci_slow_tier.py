"""CI's slow tier: the order its files run in, what a JUnit report and `timeout`'s status
make of it (.ci/slow_tier.py), and the session's end at SIGINT (tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


def _slow_tier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slow_tier", REPO / ".ci" / "slow_tier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SLOW_TIER = _slow_tier()


def _report(path: Path, cases: dict[str, str]) -> str:
    """A JUnit report as pytest writes it: `module::name` → "passed", "failure" or "error"."""
    rows = []
    for case, outcome in cases.items():
        module, name = case.split("::")
        inner = "" if outcome == "passed" else f'<{outcome} message="x">x</{outcome}>'
        rows.append(f'<testcase classname="tests.container.slow.{module}" name="{name}">'
                    f"{inner}</testcase>")  # fmt: skip
    path.write_text(
        f'<testsuites><testsuite name="pytest">{"".join(rows)}</testsuite></testsuites>'
    )
    return str(path)


def test_the_ml_stack_runs_last_and_the_cheapest_files_first() -> None:
    files = [Path(f).name for f in SLOW_TIER.order()]
    on_disk = sorted(p.name for p in (REPO / "tests" / "container" / "slow").glob("test_*.py"))
    assert sorted(files) == on_disk, "every slow file runs, once"
    assert files[-1] == "test_ml_stack.py"
    assert files[0] == "test_reference_recipes.py"
    assert all((REPO / f).is_file() for f in SLOW_TIER.order())


def test_a_failure_fails_ci_even_when_the_deadline_cut_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(tmp_path / "r.xml", {"test_reference_recipes::a": "passed",
                                          "test_two_pythons::b": "failure"})  # fmt: skip
    assert SLOW_TIER.main(report, 124) == 1
    assert "test_two_pythons::b" in capsys.readouterr().out


def test_a_cut_with_nothing_failed_passes_and_names_what_did_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(tmp_path / "r.xml", {"test_reference_recipes::a": "passed"})
    assert SLOW_TIER.main(report, 124) == 0
    out = capsys.readouterr().out
    assert "cut at CI's deadline" in out and "test_ml_stack.py" in out
    assert "test_reference_recipes.py" not in out.split("not finished:")[1]


def test_an_interrupt_that_is_not_the_deadline_is_not_a_cut(tmp_path: Path) -> None:
    report = _report(tmp_path / "r.xml", {"test_reference_recipes::a": "passed"})
    assert SLOW_TIER.main(report, 2) == 2


def test_no_readable_report_fails_with_pytests_status(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text("<testsuites><testsuite")
    assert SLOW_TIER.main(str(tmp_path / "r.xml"), 124) == 124
    assert SLOW_TIER.main(str(tmp_path / "missing.xml"), 0) == 1


HANGS_UNTIL_INTERRUPTED = """
import os
import time
from pathlib import Path

MARKS = Path(os.environ["MARKS"])

def test_a_build_that_swallows_ctrl_c():
    (MARKS / "started").touch()
    try:
        time.sleep(120)
    except KeyboardInterrupt:
        code = 130  # what builder's CLI returns
    assert code == 0

def test_after():
    (MARKS / "after-ran").touch()
"""


def test_sigint_ends_the_session_after_the_test_it_hit(tmp_path: Path) -> None:
    """As at CI's deadline: the test that swallowed Ctrl-C does not count as failed, the
    session ends with pytest's interrupted status, and the next test does not start."""
    (tmp_path / "test_hang.py").write_text(HANGS_UNTIL_INTERRUPTED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    command = [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"),
               "--rootdir", str(tmp_path), "-p", "tests.conftest", "-p", "no:randomly",
               "-p", "no:cacheprovider", "-q", str(tmp_path / "test_hang.py")]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(REPO), "MARKS": str(tmp_path)}
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True) as run:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert run.poll() is None and time.monotonic() < deadline, "the test never started"
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=60)
    assert run.returncode == 2, out
    assert "interrupted (SIGINT) during" in out and "test_a_build_that_swallows_ctrl_c" in out
    assert "failed" not in out
    assert not (tmp_path / "after-ran").exists()
