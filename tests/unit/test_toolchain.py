"""cargo's refusal of a rustc too old, read from a build log (the lines of a real refusal,
maturin 1.16.0 in trixie's rustc 1.85.1), and the image it says to build in instead."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from packaging.version import Version

from builder.fetch.cargo_lock import rust_version
from builder.images import find_definition
from builder.images.toolchain import (
    advice,
    debian_upstream,
    images_for_rust,
    rust_too_old,
)
from builder.store import Store
from tests.conftest import REPO, make_sdist

LOG = """\
cargo build --manifest-path Cargo.toml --message-format=json-render-diagnostics --release
error: rustc 1.85.1 is not supported by the following packages:
  cargo-platform@0.3.2 requires rustc 1.88
  icu_collections@2.2.0 requires rustc 1.86
  maturin@1.16.0 requires rustc 1.89
  maturin@1.16.0 requires rustc 1.89

error: `cargo build ...` failed with code 101
""".splitlines()


def test_cargos_refusal_names_the_newest_rustc_needed_and_each_crate_once() -> None:
    refusal = rust_too_old(LOG)
    assert refusal is not None
    assert (refusal.have, refusal.need) == ("1.85.1", Version("1.89"))
    assert refusal.crates == ("cargo-platform@0.3.2 requires rustc 1.88",
                              "icu_collections@2.2.0 requires rustc 1.86",
                              "maturin@1.16.0 requires rustc 1.89")  # fmt: skip
    assert "cargo needs rustc 1.89 or newer" in refusal.message("trixie-py")
    assert "the image trixie-py has rustc 1.85.1" in refusal.message("trixie-py")
    single = ["error: rustc 1.85.1 is not supported by the following package:",
              "  tiny@0.1.0 requires rustc 1.200"]  # fmt: skip
    assert rust_too_old(single) is not None
    assert rust_too_old(["error[E0425]: cannot find value", "  x@1 requires rustc 2"]) is None


def test_debian_versions_give_their_upstream_part() -> None:
    assert debian_upstream("1.96.1+dfsg1-2~bpo13+1") == Version("1.96.1")
    assert debian_upstream("1:22.1.8-1~deb13u5") == Version("22.1.8")
    assert debian_upstream("1.85.1+dfsg1-1+deb13u1") == Version("1.85.1")


def _made(store: Store, name: str, rustc: str) -> None:
    """An image as if made here: its record and a root filesystem in the store."""
    defn = find_definition(name, [REPO / "containers"])
    digest = store.add_bytes(f"the root filesystem of {name}".encode())
    package = {"name": "rustc", "version": rustc, "architecture": "amd64"}
    made = {"name": defn.name, "digest": digest, "definition_sha256": defn.rootfs_sha256,
            "packages": [package], "tools": [], "made_on": "2026-11-26"}  # fmt: skip
    (store.root / "images").mkdir(parents=True, exist_ok=True)
    (store.root / "images" / f"{name}.json").write_text(json.dumps(made))


def test_the_advice_names_an_image_whose_rustc_is_new_enough_and_python_the_same(
    tmp_path: Path,
) -> None:
    from builder.images import current_image

    store = Store(tmp_path / "store")
    search = [REPO / "containers"]
    everywhere = images_for_rust(Version("1.89"), store, search)
    assert everywhere == ["bookworm-py (not made here yet)", "trixie-backports-py (not made "
                          "here yet)", "trixie-py (not made here yet)"]  # fmt: skip
    _made(store, "trixie-py", "1.85.1+dfsg1-1+deb13u1")
    trixie = current_image(find_definition("trixie-py", search), store)
    assert trixie is not None
    # bookworm-py has a new rustc too, but another Python (another suite): not named.
    unmade = images_for_rust(Version("1.89"), store, search, current=trixie)
    assert unmade == ["trixie-backports-py (not made here yet)"]
    # Made here: its package list in the store says which rustc it has.
    _made(store, "trixie-backports-py", "1.96.1+dfsg1-2~bpo13+1")
    assert images_for_rust(Version("1.89"), store, search, current=trixie) == [
        "trixie-backports-py (rustc 1.96.1)"]  # fmt: skip
    assert images_for_rust(Version("1.200"), store, search, current=trixie) == []
    refusal = rust_too_old(["rustc 1.85.1 is not supported by the following package:",
                            "  tiny@0.1.0 requires rustc 1.200"])  # fmt: skip
    assert refusal is not None and "no image here has rustc 1.200" in advice(refusal, trixie, store)


def test_the_rust_version_is_that_of_the_projects_the_python_build_compiles(
    tmp_path: Path,
) -> None:
    files = {
        "pyproject.toml": '[tool.maturin]\nmanifest-path = "bindings/Cargo.toml"\n',
        "Cargo.toml": '[workspace]\nmembers = ["bindings"]\n[workspace.package]\n'
        'rust-version = "1.83"\n',
        "bindings/Cargo.toml": '[package]\nname = "b"\nrust-version.workspace = true\n',
        "tests/fixture/Cargo.toml": '[package]\nname = "f"\nrust-version = "1.99"\n',
        "broken/Cargo.toml": "not toml [",
    }
    sdist = make_sdist(tmp_path / "x-1.0.tar.gz", files, top="x-1.0")
    assert rust_version(sdist) == Version("1.83"), "inherited; the fixture is not built"
    own = {**files, "bindings/Cargo.toml": '[package]\nname = "b"\nrust-version = "1.89"\n'}
    assert rust_version(make_sdist(tmp_path / "y-1.0.tar.gz", own, top="y-1.0")) == Version("1.89")
    plain = make_sdist(tmp_path / "z-1.0.tar.gz", {"setup.py": ""}, top="z-1.0")
    assert rust_version(plain) is None


def test_planning_a_package_whose_cargo_toml_needs_a_newer_rustc_fails_naming_the_image(
    tmp_path: Path,
) -> None:
    import pytest

    from builder.errors import RecipeError
    from builder.images import DebPackage, Image
    from builder.recipe import PinnedFile
    from builder.resolve.new_recipe import _check_rust
    from builder.resolve.sdist_facts import SdistFacts

    manifest = {"Cargo.toml": '[package]\nrust-version = "1.89"\n'}
    sdist = make_sdist(tmp_path / "maturin-1.16.0.tar.gz", manifest, top="maturin-1.16.0")
    pin = PinnedFile(name="maturin", version="1.16.0", file=sdist.name, sha256="0" * 64)  # type: ignore[arg-type]
    rustc = DebPackage(name="rustc", version="1.85.1+dfsg1-1+deb13u1", architecture="amd64")
    old = Image(name="trixie-py", digest="1" * 64, definition_sha256="2" * 64,  # type: ignore[arg-type]
                packages=(rustc,), tools=(), made_on="")  # fmt: skip
    store = Store(tmp_path / "store")
    declared = SdistFacts.read(sdist).rust_version
    with pytest.raises(RecipeError) as info:
        _check_rust(pin, declared, old, store)
    assert "needs rustc 1.89 or newer, and the image trixie-py has rustc 1.85.1" in str(info.value)
    assert info.value.hint is not None and "trixie-backports-py" in info.value.hint
    newer = DebPackage(name="rustc", version="1.96.1+dfsg1-2~bpo13+1", architecture="amd64")
    _check_rust(pin, declared, replace(old, packages=(newer,)), store)  # no error
    # No image here is new enough (ruff 0.17.6 needs 1.98): the hint names the newest one.
    _made(store, "trixie-py", "1.85.1+dfsg1-1+deb13u1")
    _made(store, "trixie-backports-py", "1.96.1+dfsg1-2~bpo13+1")
    manifest = {"Cargo.toml": '[package]\nrust-version = "1.98"\n'}
    sdist = make_sdist(tmp_path / "ruff-0.17.6.tar.gz", manifest, top="ruff-0.17.6")
    with pytest.raises(RecipeError) as info:
        _check_rust(replace(pin, name="ruff", version="0.17.6"),  # type: ignore[arg-type]
                    SdistFacts.read(sdist).rust_version, old, store)  # fmt: skip
    assert info.value.hint is not None
    assert (
        "no image here has one (the newest: trixie-backports-py, rustc 1.96.1)" in info.value.hint
    )


def test_recipe_new_takes_the_image_whose_rustc_the_sdist_needs_unless_one_is_named(
    tmp_path: Path,
) -> None:
    from builder.progress import Silent
    from builder.recipe import PinnedFile
    from builder.resolve.new_recipe import _image_for

    store = Store(tmp_path / "store")
    _made(store, "trixie-py", "1.85.1+dfsg1-1+deb13u1")
    _made(store, "trixie-backports-py", "1.96.1+dfsg1-2~bpo13+1")
    search = (REPO / "containers",)

    def pinned(rust_version: str) -> PinnedFile:
        manifest = {"Cargo.toml": f'[package]\nrust-version = "{rust_version}"\n'}
        sdist = make_sdist(tmp_path / f"r{rust_version}-1.0.tar.gz", manifest, top="r-1.0")
        return PinnedFile(name="r", version="1.0", file=sdist.name,  # type: ignore[arg-type]
                          sha256=store.add_file(sdist))  # fmt: skip

    def chosen(pin: PinnedFile, named: str | None = None) -> str:
        return _image_for(pin, named, store, Silent(), search).name

    assert chosen(pinned("1.80")) == "trixie-py"
    assert chosen(pinned("1.89")) == "trixie-backports-py"
    assert chosen(pinned("1.89"), "trixie-py") == "trixie-py", "named: pin_recipe says why not"
    assert chosen(pinned("1.200")) == "trixie-py", "none has it: pin_recipe says so"


def test_recipe_new_takes_the_image_whose_rustc_a_locked_crate_needs(tmp_path: Path) -> None:
    """The sdist's own Cargo.toml says nothing (hf-xet's case); a crate its lock pins says
    `rust-version = "1.95"` in its Cargo.toml: the recipe moves to an image with such a rustc,
    reading the crates from the store (fetched there once, the build's fetch finds them)."""
    import pytest

    from builder.images import current_image
    from builder.progress import Silent
    from builder.recipe import PinnedFile
    from builder.resolve.new_recipe import NewRecipe, _image_for_crates

    store = Store(tmp_path / "store")
    _made(store, "trixie-py", "1.85.1+dfsg1-1+deb13u1")
    _made(store, "trixie-backports-py", "1.96.1+dfsg1-2~bpo13+1")
    trixie = current_image(find_definition("trixie-py", [REPO / "containers"]), store)
    assert trixie is not None

    def crate(name: str, version: str, rust: str | None) -> str:
        declared = f'rust-version = "{rust}"\n' if rust else ""
        manifest = f'[package]\nname = "{name}"\nversion = "{version}"\n{declared}'
        made = make_sdist(tmp_path / f"{name}-{version}.crate", {"Cargo.toml": manifest},
                          top=f"{name}-{version}")  # fmt: skip
        sha = store.add_file(made)
        return (f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
                f'source = "registry+https://crates.test/index"\nchecksum = "{sha}"\n')  # fmt: skip

    def recipe_locking(*crates: tuple[str, str, str | None]) -> NewRecipe:
        lock = "version = 4\n" + "".join(crate(*c) for c in crates)
        files = {"Cargo.toml": '[package]\nname = "r"\nversion = "1.0.0"\n', "Cargo.lock": lock}
        sdist = make_sdist(tmp_path / "r-1.0.tar.gz", files, top="r-1.0")
        pin = PinnedFile(name="r", version="1.0", file=sdist.name,  # type: ignore[arg-type]
                         sha256=store.add_file(sdist))  # fmt: skip
        return NewRecipe(name=pin.name, version="1.0", sdist=pin, image="trixie-py",
                         build_system_requires=(), requires=())  # fmt: skip

    def chosen(recipe: NewRecipe) -> str | None:
        def no_fetch() -> NoReturn:
            pytest.fail("the crates are in the store: nothing to fetch")

        found = _image_for_crates(recipe, trixie, store, no_fetch, Silent(), (REPO / "containers",))
        return found.name if found is not None else None

    needs_new = recipe_locking(("konst", "0.3.16", "1.95"), ("libc", "0.2.1", "1.63"),
                               ("itoa", "1.0.0", None))  # fmt: skip
    assert chosen(needs_new) == "trixie-backports-py"
    assert chosen(recipe_locking(("libc", "0.2.1", "1.63"), ("itoa", "1.0.0", None))) is None
    assert chosen(recipe_locking(("far", "9.0.0", "1.200"))) is None, "none will: the build says"


# tiktoken 0.14.0 in trixie's rustc 1.85.1: its Cargo.toml declares no rust-version.
COMPILE_LOG = """\
   Compiling tiktoken v0.14.0 (/build/src/tiktoken-0.14.0)
error[E0658]: `let` expressions in this position are unstable
   --> src/lib.rs:42:12
warning: unused import
error[E0658]: `let` expressions in this position are unstable
error: could not compile `tiktoken` (lib) due to 2 previous errors
""".splitlines()


def test_a_crate_rustc_could_not_compile_names_an_image_with_a_newer_rustc(
    tmp_path: Path,
) -> None:
    from builder.images import current_image
    from builder.images.toolchain import newer_rust, rust_failed

    failed = rust_failed(COMPILE_LOG)
    assert failed is not None and failed.crate == "`tiktoken`"
    assert failed.error == "error[E0658]: `let` expressions in this position are unstable"
    assert rust_failed(["error: could not find `Cargo.toml`"]) is None
    store = Store(tmp_path / "store")
    _made(store, "trixie-py", "1.85.1+dfsg1-1+deb13u1")
    image = current_image(find_definition("trixie-py", [REPO / "containers"]), store)
    assert image is not None
    # trixie-backports-py not made here yet: named as such.
    reason, hint = newer_rust(failed, image, store) or ("", "")
    assert reason == (
        "rustc 1.85.1 of the image trixie-py could not compile `tiktoken`: "
        "error[E0658]: `let` expressions in this position are unstable"
    )
    assert "trixie-backports-py (not made here yet)" in hint
    _made(store, "trixie-backports-py", "1.96.1+dfsg1-2~bpo13+1")
    assert "trixie-backports-py (rustc 1.96.1)" in (newer_rust(failed, image, store) or ("", ""))[1]
    # The same rustc everywhere: nothing to suggest.
    _made(store, "trixie-backports-py", "1.85.1+dfsg1-1+deb13u1")
    assert newer_rust(failed, image, store) is None


def test_rustc_web_is_the_images_rustc() -> None:
    """Debian's older suites carry a newer rustc for browsers, as rustc-web (bullseye-
    security: 1.96), which installs /usr/bin/rustc."""
    from builder.images import DebPackage, Image
    from builder.images.toolchain import image_rustc
    from builder.names import Sha256

    package = DebPackage(name="rustc-web", version="1.96.0+dfsg1-1~deb11u2", architecture="amd64")
    image = Image(name="old", digest=Sha256("1" * 64), definition_sha256=Sha256("2" * 64),
                  packages=(package,), tools=(), made_on="2026-12-06")  # fmt: skip
    assert image_rustc(image) == Version("1.96.0")
