"""The pure parts of the cluster: addresses, a worker's command line and environment,
and how a worker's failure comes back to the head (no cluster runs here)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from builder.cli.build import cluster_address
from builder.cluster.job import JobFailure
from builder.cluster.local import worker_environment
from builder.cluster.place import _error
from builder.cluster.worker import worker_command
from builder.errors import BuilderError, BuildFailed
from builder.wheelbuild.run import WorkerInfo


@pytest.mark.parametrize("good", ["tcp://10.0.0.1:8786", "tls://head:8786", "local:1", "local:8"])
def test_a_cluster_is_a_scheduler_address_or_a_local_worker_count(good: str) -> None:
    assert cluster_address(good) == good


@pytest.mark.parametrize("bad", ["local:0", "local:x", "10.0.0.1:8786", "tcp://head", "local"])
def test_a_cluster_address_builder_cannot_use_is_refused_saying_what_it_takes(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"tcp://HOST:PORT|local:N"):
        cluster_address(bad)


def test_a_worker_offers_its_resources_to_dask_and_runs_without_the_head_s_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = {"cpus": 8.0, "backend-sandbox": 1000.0}
    command = worker_command("tcp://h:1", name="w", nthreads=2, resources=resources, nanny=False)
    assert command[command.index("--resources") + 1] == "backend-sandbox=1000,cpus=8"
    assert "--no-nanny" in command and command[command.index("--nthreads") + 1] == "2"
    monkeypatch.setenv("BUILDER_SIGNING_KEY", "/secret/key.pem")
    env = worker_environment(tmp_path, "docker")
    assert "BUILDER_SIGNING_KEY" not in env
    assert (
        env["BUILDER_WORKER_STORE"] == str(tmp_path) and env["BUILDER_WORKER_BACKEND"] == "docker"
    )


def test_a_worker_s_build_failure_comes_back_as_its_own_error_naming_the_worker() -> None:
    where = WorkerInfo(name="w2", address="tcp://10.0.0.2:4000", host="builder-2")
    error = _error(JobFailure(error="BuildFailed", message="build of x 1.0 failed",
                              hint="the full log is /w/log", worker=where))  # fmt: skip
    assert isinstance(error, BuildFailed) and error.exit_code == 8
    assert error.hint == "on worker w2 (builder-2): the full log is /w/log"
    odd = _error(JobFailure(error="Exception", message="m", hint=None, worker=where))
    assert type(odd) is BuilderError and odd.hint == "on worker w2 (builder-2)"
