from __future__ import annotations

import pytest

from builder.errors import FetchError
from builder.fetch.sources import parse_cargo_lock

LOCK = b"""
version = 4

[[package]]
name = "mine"
version = "0.1.0"

[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://example.invalid/index"
checksum = "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"
"""


def test_registry_crates_are_pinned_by_checksum_and_path_crates_skipped() -> None:
    crates = parse_cargo_lock(LOCK, "Cargo.lock")
    assert [(c.name, c.version, c.file) for c in crates] == [
        ("itoa", "1.0.15", "itoa-1.0.15.crate")
    ]


def test_git_dependencies_are_refused_with_the_package_named() -> None:
    lock = LOCK.replace(b"registry+https://example.invalid/index", b"git+https://x/y?rev=1#abc")
    with pytest.raises(FetchError, match=r"package\[1\] 'itoa' comes from 'git\+"):
        parse_cargo_lock(lock, "Cargo.lock")


def test_a_crate_without_checksum_is_refused() -> None:
    lock = LOCK.replace(b'checksum = "4a5f', b'#checksum = "4a5f')
    with pytest.raises(FetchError, match="has no sha256 checksum"):
        parse_cargo_lock(lock, "Cargo.lock")


def test_only_locks_of_cargo_projects_count_not_stray_fixture_locks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from builder.fetch.sources import cargo_locks
    from tests.conftest import make_sdist

    files = {
        "Cargo.toml": '[package]\nname = "mine"\nversion = "0.1.0"\n',
        "Cargo.lock": LOCK.decode(),
        "vendored/test cases/25 cargo lock/Cargo.lock": LOCK.decode(),
    }
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", files, top="p-1.0")
    locks = cargo_locks(sdist)
    assert list(locks) == ["Cargo.lock"]
    assert [c.name for c in locks["Cargo.lock"]] == ["itoa"]


def test_a_vendored_crates_own_lock_is_not_the_builds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """orjson ships its patched crates under include/cargo/, each with its own Cargo.lock
    (their dev-dependencies): only the locks of the projects the build compiles count."""
    from builder.fetch.sources import cargo_locks
    from tests.conftest import make_sdist

    files = {
        "Cargo.toml": '[package]\nname = "mine"\nversion = "0.1.0"\n',
        "Cargo.lock": LOCK.decode(),
        "include/cargo/cache-3.0.1/Cargo.toml": '[package]\nname = "cache"\nversion = "3.0.1"\n',
        "include/cargo/cache-3.0.1/Cargo.lock": LOCK.decode(),
        "bindings/Cargo.toml": '[package]\nname = "py"\nversion = "0.1.0"\n',
        "bindings/Cargo.lock": LOCK.decode(),
        "pyproject.toml": '[tool.maturin]\nmanifest-path = "bindings/Cargo.toml"\n',
    }
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", files, top="p-1.0")
    assert sorted(cargo_locks(sdist)) == ["Cargo.lock", "bindings/Cargo.lock"]


def test_crates_the_sdist_carries_behind_its_own_source_replacement_are_not_fetched(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from builder.fetch.cargo_lock import vendored_in_sdist
    from tests.conftest import make_sdist

    files = {
        "Cargo.toml": '[package]\nname = "mine"\nversion = "0.1.0"\n',
        ".cargo/config.toml": '[source.crates-io]\nreplace-with = "vendored"\n\n'
                              '[source.vendored]\ndirectory = "include/cargo"\n',
        "include/cargo/itoa-1.0.15/Cargo.toml": '[package]\nname = "itoa"\nversion = "1.0.15"\n',
        "include/cargo/itoa-1.0.15/.cargo-checksum.json": "{}",
    }  # fmt: skip
    sdist = make_sdist(tmp_path / "p-1.0.tar.gz", files, top="p-1.0")
    assert vendored_in_sdist(sdist) == {("itoa", "1.0.15")}
    del files[".cargo/config.toml"]
    plain = make_sdist(tmp_path / "q-1.0.tar.gz", files, top="q-1.0")
    assert vendored_in_sdist(plain) == set()
