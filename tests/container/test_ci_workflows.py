"""The CI workflows of docs/ci/ are parsed and their steps run here, in their order and
with their stop-at-the-first-failure rule, against the tiny stack served on 127.0.0.1:
everything verifies -> published, with the report; a wheel that does not rebuild bit for
bit -> nothing published, and the report all the same. Only the install steps are left
out (the test command installed builder already); the signing key comes from a "secret"
as in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from builder.cli import main
from builder.store import Store
from tests.conftest import REPO

CI = REPO / "docs" / "ci"
INSTALL = ("Install builder",)
VERIFY_POLICY = """[verify]
reproducible = "raw"
exceptions = ["acmestack-loop-b", "auditwheel", "build", "installer", "packaging", "pyelftools",
              "pyproject-hooks"]
"""
REPRODUCIBLE_TOOL = '\n[rebuild]\nfixed = ["build-path"]\nreason = "it records its build folder"\n'


def _ci_env(stack: Path, store: Store, tmp_path: Path) -> dict[str, str]:
    """What the CI system gives the steps: the workflow's variables pointed at the
    stack, the store, and the secret key (made here, as an operator makes it once)."""
    key = tmp_path / "ci-key" / "builder-ci.pem"
    assert main(["key", "new", str(key)]) == 0
    policy = stack / "builder.toml"  # the stack's [plan], and [verify] beside it
    policy.write_text((policy.read_text() if policy.exists() else "") + VERIFY_POLICY)
    return dict(os.environ) | {
        "REQUIREMENTS": "requirements.txt", "POLICY": "builder.toml",
        "OVERRIDES": "overrides", "PLAN_IMAGE": "trixie-py",
        "INDEX_DIR": str(tmp_path / "internal-index"),
        "PUBLIC_KEY": str(key.with_name("builder-ci.pub.json")),
        "BUILDER_SIGNING_KEY": str(tmp_path / "runner-temp" / "signing-key.pem"),
        "SIGNING_KEY": key.read_text(), "BUILDER_STORE": str(store.root),
    }  # fmt: skip


def _bash(script: str, env: dict[str, str], cwd: Path) -> int:
    """A step as the runners run it: bash, -e, pipefail."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          env=env, cwd=cwd, check=False).returncode  # fmt: skip


def run_github_job(env: dict[str, str], cwd: Path) -> dict[str, int | str]:
    """Each run step in order; after a failure only `if: always()` steps run."""
    (job,) = yaml.safe_load((CI / "github-actions.yml").read_text())["jobs"].values()
    assert set(job["env"]) <= set(env), "the test gives every variable the workflow names"
    (Path(env["BUILDER_SIGNING_KEY"]).parent).mkdir(parents=True, exist_ok=True)
    results: dict[str, int | str] = {}
    failed = False
    for step in job["steps"]:
        if "run" not in step or step["name"] in INSTALL:
            continue
        if failed and step.get("if") != "always()":
            results[step["name"]] = "skipped"
            continue
        results[step["name"]] = code = _bash(step["run"], env, cwd)
        failed = failed or code != 0
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["if"] == "always()" and "report/" in upload["with"]["path"]
    return results


def run_gitlab_job(env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """The script's lines in one shell that stops at the first failure, then
    after_script in a shell of its own: (script's status, after_script's status)."""
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["builder"]
    assert set(job["variables"]) <= set(env)
    assert job["artifacts"]["when"] == "always" and "report/" in job["artifacts"]["paths"]
    key = Path(env["BUILDER_SIGNING_KEY"])  # a File variable: GitLab writes it, not a step
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text(env["SIGNING_KEY"])
    script = _bash("\n".join(job["script"]), env, cwd)
    return script, _bash("\n".join(job["after_script"]), env, cwd)


@pytest.fixture
def ci(stack: Path, session_store: Store, tmp_path: Path) -> dict[str, str]:
    return _ci_env(stack, session_store, tmp_path)


def test_the_github_workflow_publishes_only_when_every_wheel_verified(  # type: ignore[no-untyped-def]
    stack: Path, ci: dict[str, str]
) -> None:
    # acmestack-tool records its build path: its rebuild differs, the job stops there.
    results = run_github_job(ci, stack)
    assert results["Build and rebuild"] == 10
    assert results["Verify every wheel"] == results["Publish"] == "skipped"
    assert results["Report"] == 0 and (stack / "report" / "index.html").is_file()
    assert not Path(ci["INDEX_DIR"]).exists(), "nothing was published"

    # The override keeps the build path fixed, with its reason: every wheel verifies.
    override = stack / "overrides" / "acmestack-tool.toml"
    override.write_text(override.read_text() + REPRODUCIBLE_TOOL)
    shutil.rmtree(stack / "stack")
    results = run_github_job(ci, stack)
    assert set(results.values()) == {0}, results
    index = Path(ci["INDEX_DIR"]) / "simple"
    assert {p.name for p in index.iterdir() if p.is_dir()} >= {"acmestack-app", "acmestack-tool"}
    assert (stack / "report" / "index.html").is_file()


def test_the_gitlab_job_runs_the_same_steps_and_keeps_the_report(  # type: ignore[no-untyped-def]
    stack: Path, ci: dict[str, str]
) -> None:
    override = stack / "overrides" / "acmestack-tool.toml"
    override.write_text(override.read_text() + REPRODUCIBLE_TOOL)
    assert run_gitlab_job(ci, stack) == (0, 0)
    assert (Path(ci["INDEX_DIR"]) / "simple" / "acmestack-app").is_dir()
    assert (stack / "report" / "index.html").is_file()
    # The same commands, in the same order, in both files.
    (job,) = yaml.safe_load((CI / "github-actions.yml").read_text())["jobs"].values()
    github = [s["run"].strip() for s in job["steps"] if s.get("run", "").startswith("builder ")]
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["builder"]
    lines = [*gitlab["script"], *gitlab["after_script"]]
    assert github == [line for line in lines if line.startswith("builder ")]
