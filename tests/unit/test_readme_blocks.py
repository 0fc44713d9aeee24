"""Every shell block of the README is run by a test as written, or says why not
(tests/readme_blocks.py)."""

from __future__ import annotations

from tests.conftest import REPO
from tests.readme_blocks import RUN_BY, blocks


def test_every_readme_shell_block_is_run_by_a_named_test() -> None:
    found = blocks()
    assert found, "the README has shell blocks"
    for block in found:
        owners = [k for k in RUN_BY if block.commands[0].startswith(k)]
        assert len(owners) == 1, f"README.md:{block.line}: no test runs {block.commands[0]!r}"
    for begins, said in RUN_BY.items():
        path, how = said.split(" ")[0], said.split(" ")[1].rstrip(":")
        assert (REPO / path).is_file() and how in ("as-written", "not-run"), said
        if how == "as-written" and path.startswith("tests/"):
            text = (REPO / path).read_text(encoding="utf-8")
            assert repr(begins)[1:-1] in text, f"{path} does not run the block {begins!r}"
