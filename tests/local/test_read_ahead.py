"""Index.read_ahead: many project pages read side by side, each kept for listing(); a
page's error said when its name is asked for, not before."""

from __future__ import annotations

import threading

import pytest

from builder.errors import FetchError
from builder.index import Index
from builder.names import normalize
from tests.fixtures.json_index import JsonPages, iso, page, served

NAMES = ["alpha", "beta", "gamma", "delta"]


class AllAtOnce(JsonPages):
    """Answers a page only once every name's page was asked for at the same time: read
    one after another, the first waits for the others and the barrier breaks."""

    arrived = threading.Barrier(len(NAMES), timeout=20)

    def project(self, name: str) -> dict[str, object] | None:
        if name in NAMES:
            type(self).arrived.wait()
            return page(name, [("1.0", iso(30))])
        return None


def test_pages_are_read_side_by_side_and_a_missing_one_fails_when_asked_for() -> None:
    AllAtOnce.arrived.reset()
    with served(AllAtOnce) as url:
        index = Index(url)
        index.read_ahead([normalize(n) for n in [*NAMES, "missing"]], workers=8)
        asked = list(AllAtOnce.asked)
        for name in NAMES:
            (file,) = index.listing(normalize(name)).files
            assert file.filename == f"{name}-1.0-py3-none-any.whl"
        with pytest.raises(FetchError, match="no such project"):
            index.listing(normalize("missing"))
        assert AllAtOnce.asked == asked, "listing() read nothing again"
