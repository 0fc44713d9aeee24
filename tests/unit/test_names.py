"""builder's PEP 503 normalization gives what packaging's canonicalize_name gives."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from builder.gate.typosquat import shipped_targets
from builder.names import normalize

pytestmark = pytest.mark.unit

ODD = ["Foo.Bar", "foo__bar", "FOO-_-bar", "a.b_c-d", "Django", "zope.interface", "x--y",
       "ruamel.yaml", "pkg_resources", "A", "a-", "-a", "a..b", "Ünïcode.Name"]  # fmt: skip


def test_normalize_agrees_with_packaging_on_odd_and_popular_names() -> None:
    names = [*ODD, *(n.upper() for n in shipped_targets()[:2000])]
    assert [normalize(n) for n in names] == [canonicalize_name(n) for n in names]
