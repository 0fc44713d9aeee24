"""cargo's refusal of a rustc too old, read from a build log (the lines of a real refusal,
maturin 1.16.0 in trixie's rustc 1.85.1), and the image it says to build in instead."""

from __future__ import annotations

import json
from pathlib import Path

from packaging.version import Version

from builder.build.toolchain import advice, debian_upstream, images_for_rust, rust_too_old
from builder.images import find_definition
from builder.store import Store
from tests.conftest import REPO

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


def test_the_advice_names_an_image_whose_rustc_is_new_enough(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    search = [REPO / "containers"]
    unmade = images_for_rust(Version("1.89"), store, search, but="trixie-py")
    assert unmade == ["trixie-backports-py (not made here yet)"], "bookworm-py has no rustc"
    # Made here: its package list in the store says which rustc it has.
    defn = find_definition("trixie-backports-py", search)
    digest = store.add_bytes(b"a root filesystem")
    rustc = {"name": "rustc", "version": "1.96.1+dfsg1-2~bpo13+1", "architecture": "amd64"}
    made = {"name": defn.name, "digest": digest, "definition_sha256": defn.rootfs_sha256,
            "packages": [rustc], "tools": [], "made_on": "2026-11-26"}  # fmt: skip
    (store.root / "images").mkdir(parents=True, exist_ok=True)
    (store.root / "images" / "trixie-backports-py.json").write_text(json.dumps(made))
    assert images_for_rust(Version("1.89"), store, search) == [
        "trixie-backports-py (rustc 1.96.1)", "trixie-py (not made here yet)"]  # fmt: skip
    assert images_for_rust(Version("1.200"), store, search, but="trixie-py") == []
    refusal = rust_too_old(["rustc 1.85.1 is not supported by the following package:",
                            "  tiny@0.1.0 requires rustc 1.200"])  # fmt: skip
    assert refusal is not None and "no image here has rustc 1.200" in advice(
        refusal, "trixie-py", store
    )
