"""The catalog of wheels built here: typed entries, read only where they hold, lent from
one image family to another only where the other's Python installs the wheel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.built_catalog import BuiltCatalog, CatalogEntry
from builder.errors import StoreError
from builder.names import Sha256
from builder.store import Store
from tests.unit.conftest import debian_image

WHEEL = "pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"


TRIXIE = debian_image("3.13.5-1", "2.41-12+deb13u5", "12")
TRIXIE_EXTRA = debian_image("3.13.5-1", "2.41-12+deb13u5", "34")
BOOKWORM = debian_image("3.11.2-1+b1", "2.36-9+deb12u14", "56")


def _built(store: Store, wheel: str = WHEEL) -> CatalogEntry:
    """An entry whose wheel is in the store and whose build record names it."""
    sha256 = store.add_bytes(b"a wheel's bytes")
    key = "k" * 64
    store.write_record(key, {"output": {"wheel": wheel, "sha256": sha256}})
    return CatalogEntry(wheel=wheel, sha256=sha256, build_key=key, code="compiled")


def test_an_entry_added_is_found_with_its_types(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    catalog, entry = BuiltCatalog(store), _built(store)
    catalog.add(TRIXIE, "pkg", "1.0", entry)
    assert catalog.find(TRIXIE, "pkg", "1.0") == entry
    assert catalog.find(BOOKWORM, "pkg", "1.0") is None, "another image family's is its own"


def test_an_entry_whose_wheel_left_the_store_is_not_found(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    catalog = BuiltCatalog(store)
    catalog.add(TRIXIE, "pkg", "1.0", CatalogEntry(wheel=WHEEL, sha256=Sha256("0" * 64),
                                                   build_key="k" * 64))  # fmt: skip
    assert catalog.find(TRIXIE, "pkg", "1.0") is None


def test_an_entry_an_older_builder_wrote_reads_without_its_code(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    catalog, entry = BuiltCatalog(store), _built(store)
    path = catalog.path(TRIXIE, "pkg", "1.0")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"wheel": entry.wheel, "sha256": entry.sha256,
                                "build_key": entry.build_key}))  # fmt: skip
    found = catalog.find(TRIXIE, "pkg", "1.0")
    assert found is not None and found.code is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ([], "a list"),
        ({"wheel": WHEEL, "sha256": "00"}, "no build_key"),
        ({"wheel": WHEEL, "sha256": "00", "build_key": "k", "code": "fast"}, "code 'fast'"),
    ],
)
def test_a_file_that_is_no_entry_is_named_by_store_verify(
    tmp_path: Path, data: object, said: str
) -> None:
    store = Store(tmp_path / "store")
    catalog = BuiltCatalog(store)
    path = catalog.path(TRIXIE, "pkg", "1.0")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    assert catalog.find(TRIXIE, "pkg", "1.0") is None
    [(named, why)] = catalog.problems()
    assert named == path and said in why


def test_an_entry_its_record_does_not_name_is_removed_when_a_build_asks(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    catalog, entry = BuiltCatalog(store), _built(store)
    catalog.add(TRIXIE, "pkg", "1.0", CatalogEntry(wheel="other-1.0-py3-none-any.whl",
                                                   sha256=entry.sha256,
                                                   build_key=entry.build_key))  # fmt: skip
    assert [why for _, why in catalog.problems()] == [
        f"its build record {entry.build_key} does not name other-1.0-py3-none-any.whl "
        f"({entry.sha256})"
    ]
    with pytest.raises(StoreError, match="damaged"):
        catalog.checked(TRIXIE, "pkg", "1.0")
    assert not catalog.path(TRIXIE, "pkg", "1.0").exists()


def test_a_wheel_is_lent_only_where_the_target_python_installs_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    catalog, entry = BuiltCatalog(store), _built(store)
    catalog.add(TRIXIE, "pkg", "1.0", entry)
    assert catalog.lend("pkg", "1.0", source=TRIXIE, target=BOOKWORM) is None
    assert catalog.find(BOOKWORM, "pkg", "1.0") is None, "cp313 does not install on 3.11"
    assert catalog.lend("pkg", "1.0", source=TRIXIE, target=TRIXIE_EXTRA) == entry
    assert catalog.find(TRIXIE_EXTRA, "pkg", "1.0") == entry
