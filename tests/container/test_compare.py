"""builder compare --upstream: the index's wheel against our rebuild, explained per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.store import Store
from tests.conftest import REPO, json_output

pytestmark = pytest.mark.network


def test_compare_upstream_says_whether_code_or_only_packaging_differs(
    docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    recipe = str(REPO / "recipes" / "markupsafe.toml")
    argv = ["compare", recipe, "--upstream", "--normalize", "--json", "-q"]
    code = main([*argv, "--store", str(session_store.root), "--dist", str(tmp_path)])
    report = json_output(capsys.readouterr().out, "compare")
    assert code == 10, "upstream's wheel is built elsewhere (manylinux image, Red Hat GCC)"
    raw, normalized = report["raw"], report["normalized"]
    assert raw["a"] == "rebuild" and raw["b"].startswith("upstream markupsafe-3.0.3-cp313")
    categories = {m["name"]: m["category"] for m in raw["members"]}
    so = next(n for n in categories if n.endswith(".so"))
    assert categories[so] == "code" and raw["code_differs"] is True
    (so_diff,) = [m for m in raw["members"] if m["name"] == so]
    assert any(s["name"] == ".comment" for s in so_diff["sections"]), "compilers differ"
    assert normalized["applied"] and normalized["code_differs"] is True
    assert not any(m["kind"] == "metadata" for m in normalized["members"])
