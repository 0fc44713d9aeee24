"""Rebuild variations: the reference build varies nothing; rebuilds vary what was chosen."""

from __future__ import annotations

import pytest

from builder.errors import BuilderError
from builder.recipe import load_recipe
from builder.variation import DEFAULT_KINDS, REFERENCE, parse_kinds, rebuild_variations
from builder.wheelbuild.run import build_env
from tests.conftest import REPO


def test_the_reference_build_is_a_plain_build() -> None:
    assert REFERENCE.describe()["applied"] == []
    assert (REFERENCE.build_root, REFERENCE.hostname, REFERENCE.user) == (
        "/buildroot",
        "builder",
        "1000:1000",
    )
    assert REFERENCE.cpuset is None and REFERENCE.umask == "022"
    env = {"A": "1", "B": "2"}
    assert REFERENCE.environment(env) is env


def test_each_rebuild_varies_every_chosen_kind_differently() -> None:
    first, second = rebuild_variations(2, DEFAULT_KINDS)
    assert first.applied == sorted(DEFAULT_KINDS)
    assert len({REFERENCE.build_root, first.build_root, second.build_root}) == 3
    assert len({REFERENCE.user, first.user, second.user}) == 3
    assert len({REFERENCE.hostname, first.hostname, second.hostname}) == 3
    assert first.umask == "022", "umask is varied only when asked for"
    varied = first.environment({"A": "1", "B": "2"})
    assert list(varied) == ["BUILDER_UNRELATED_VARIABLE", "B", "A"]


def test_prefix_maps_follow_the_build_root_and_the_c_compilers_arguments_do_not_change() -> None:
    from builder.inside.compilers import CompilerFlags, arguments
    from builder.inside.layout import PREFIX_SPECS, prefix_specs

    (variation,) = rebuild_variations(1, {"build-path"})
    env = build_env(load_recipe(REPO / "recipes" / "markupsafe.toml"), 0, variation.build_root)
    reference = build_env(load_recipe(REPO / "recipes" / "markupsafe.toml"), 0)
    varied = arguments(variation.build_root, CompilerFlags())
    assert (
        varied["c"]
        == arguments("/buildroot", CompilerFlags())["c"]
        == (f"-specs={PREFIX_SPECS}", "$@")
    )
    assert prefix_specs(variation.build_root) == (
        f"*self_spec:\n+ -ffile-prefix-map={variation.build_root}=.\n"
    )
    assert varied["rust"] == (f"--remap-path-prefix={variation.build_root}=.", "$@")
    assert env["PATH"] == reference["PATH"], "the interpreters stay at one fixed path"


def test_an_unknown_variation_is_refused_with_the_known_ones() -> None:
    with pytest.raises(BuilderError, match="unknown variation nope") as info:
        parse_kinds("hostname,nope")
    assert "build-path" in (info.value.hint or "")


def test_a_rebuild_on_one_cpu_gets_the_wall_clock_its_lost_cpus_would_have_saved() -> None:
    """grpcio builds in 12 minutes on two CPUs: its rebuild on one needs more than the
    recipe's 30 that the two-CPU build fits in."""
    from builder.images import Image
    from builder.inside import task as tasks
    from builder.limits import Limits
    from builder.sandbox.staging import run_spec

    image = Image(name="i", digest="1" * 64, definition_sha256="2" * 64,  # type: ignore[arg-type]
                  packages=(), tools=(), made_on="")  # fmt: skip
    task = tasks.FetchCratesTask(sdist="s.tar.gz", cargo_locks=(), patches=(), env={})
    limits = Limits(cpus=2.0, timeout_s=1800)
    (one_cpu,) = rebuild_variations(1, {"cpus"})
    (same_cpus,) = rebuild_variations(1, {"hostname"})
    for variation, timeout in ((REFERENCE, 1800), (same_cpus, 1800), (one_cpu, 3600)):
        spec = run_spec(image=image, task=task, mounts=(), limits=limits, variation=variation)
        assert spec.limits.timeout_s == timeout, variation.applied
    assert Limits(cpus=0.5, timeout_s=600).on_one_cpu().timeout_s == 600, "never less"
