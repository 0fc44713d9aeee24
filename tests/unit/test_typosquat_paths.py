"""The detector's two ways to find edit-distance candidates give the same findings."""

from __future__ import annotations

import pytest

from builder.gate.typosquat import Detector, shipped_popular

pytestmark = pytest.mark.unit


def test_the_linear_scan_and_the_deletion_index_find_the_same() -> None:
    popular = shipped_popular()
    names = [
        p[::-1] if i % 3 == 0 else (p + "x" if i % 3 == 1 else p[:-1])
        for i, p in enumerate(popular[:3000:11])
    ] + ["reqeusts", "numpyy", "scikit-learm", "urlib3", "djang0", "learn-scikit", "scikitlearn"]
    linear = Detector(popular, flag_popular=True)
    linear.LINEAR_QUERIES = 10**9
    indexed = Detector(popular, flag_popular=True)
    indexed.LINEAR_QUERIES = -1
    assert [linear.check(n) for n in names] == [indexed.check(n) for n in names]
    assert "deletion_index" not in vars(linear) and "deletion_index" in vars(indexed)
