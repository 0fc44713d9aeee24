"""Typosquat rules, one example each, and the gate in front of `builder recipe new`."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.gate.typosquat import Detector, shipped_popular
from tests.local.conftest import StaticIndex


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(shipped_popular())


@pytest.mark.parametrize(
    ("name", "resembles", "rule"),
    [
        ("scikit-leam", "scikit-learn", "homoglyph"),
        ("jeIlyfish", "jellyfish", "homoglyph"),
        ("scikitlearn", "scikit-learn", "separator"),
        ("learn-scikit", "scikit-learn", "word-order"),
        ("sklearn-ml", "sklearn", "affix"),
        ("reqeusts", "requests", "swapped"),
        ("requestss", "requests", "repeated"),
        ("requets", "requests", "omitted"),
        ("tourch", "torch", "added"),
        ("nunpy", "numpy", "keyboard"),
    ],
)
def test_each_rule_names_what_is_imitated_and_how(
    detector: Detector, name: str, resembles: str, rule: str
) -> None:
    (best, *_) = detector.check(name)
    assert (best.resembles, best.rule) == (resembles, rule)
    assert 0 < best.score <= 1


@pytest.mark.parametrize("name", ["requests", "torchvision", "scikit_learn", "Scikit.Learn"])
def test_popular_names_and_their_pep_503_spellings_are_not_flagged(
    detector: Detector, name: str
) -> None:
    assert detector.check(name) == []


def test_an_allow_listed_name_is_not_flagged() -> None:
    assert Detector(shipped_popular(), allow=["reqeusts"]).check("reqeusts") == []


def test_recipe_new_refuses_a_typosquat_before_downloading_anything(
    indexes: tuple[StaticIndex, StaticIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, public = indexes
    monkeypatch.setenv("BUILDER_INDEX_URL", public.url)
    store = tmp_path / "store"
    out = tmp_path / "reqeusts.toml"
    code = main(["recipe", "new", "reqeusts==1.0", "-o", str(out), "--store", str(store)])
    assert code == 14
    assert "reqeusts resembles requests" in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in store.rglob("*") if p.is_file()], "something was stored"


def test_the_popular_list_refreshes_from_a_top_pypi_packages_file(tmp_path: Path) -> None:
    import json

    from builder.gate.typosquat import refresh

    dataset = tmp_path / "top.json"
    rows = [{"project": "Boto3", "download_count": 9}, {"project": "boto3", "download_count": 8},
            {"project": "Scikit_Learn", "download_count": 7}]  # fmt: skip
    dataset.write_text(json.dumps({"rows": rows}))
    assert refresh(dataset) == ["boto3", "scikit-learn"]
