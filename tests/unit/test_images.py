from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from builder.errors import ImageError, InputError
from builder.images import find_definition, load_definition
from builder.images.debian import (
    _parse_dpkg_status,
    host_debian_mirror,
    host_debian_security_mirror,
)
from tests.conftest import REPO


def test_the_mirror_comes_from_deb822_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: x-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    assert host_debian_mirror(tmp_path) == "http://mirror.example/debian"
    assert host_debian_security_mirror(tmp_path) == "http://mirror.example/debian-security"


def test_the_mirror_comes_from_one_line_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://local.example/debian bookworm main\n"
    )
    assert host_debian_mirror(tmp_path) == "http://local.example/debian"


def test_no_apt_sources_leaves_the_choice_to_mmdebstrap(tmp_path: Path) -> None:
    assert host_debian_mirror(tmp_path) is None


def test_package_list_keeps_installed_packages_only_sorted() -> None:
    status = (
        "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.3\nArchitecture: amd64\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\n"
        "Package: bash\nStatus: install ok installed\nVersion: 5.2\nArchitecture: amd64\n"
    )
    names = [(p.name, p.version) for p in _parse_dpkg_status(status)]
    assert names == [("bash", "5.2"), ("zlib1g", "1:1.3")]


def test_the_reference_image_definition_is_valid() -> None:
    defn = find_definition("trixie-py", [REPO / "containers"])
    assert defn.suite == "trixie"
    assert {"python3-dev", "rustc", "cargo", "patchelf"} <= set(defn.packages)
    assert {"auditwheel", "build", "installer"} <= {t.name for t in defn.tools}


def test_the_second_cpython_image_pins_tools_its_own_packages_can_run() -> None:
    """bookworm's patchelf (0.14.3) is older than auditwheel 6.8 accepts: the pin says 6.7."""
    defn = find_definition("bookworm-py", [REPO / "containers"])
    assert defn.suite == "bookworm"
    assert {"python3-dev", "build-essential", "patchelf"} <= set(defn.packages)
    assert {t.name: t.version for t in defn.tools}["auditwheel"] == "6.7.0"
    assert all(len(t.sha256) == 64 for t in defn.tools)


def test_tools_are_not_part_of_the_root_filesystem_digest() -> None:
    defn = find_definition("trixie-py", [REPO / "containers"])
    fewer = replace(defn, tools=defn.tools[:1])
    more_packages = replace(defn, packages=(*defn.packages, "ninja-build"))
    assert fewer.rootfs_sha256 == defn.rootfs_sha256
    assert more_packages.rootfs_sha256 != defn.rootfs_sha256


def test_an_unknown_image_name_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no image definition named 'nope'"):
        find_definition("nope", [tmp_path])


def test_a_bad_definition_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "x" / "image.toml"
    path.parent.mkdir()
    path.write_text('suite = "trixie"\nsource-date-epoch = "soon"\npackages = "python3"\n')
    with pytest.raises(InputError) as info:
        load_definition(path)
    assert f"{path}: source-date-epoch: expected a non-negative integer" in info.value.message
    assert f"{path}: packages: expected an array" in info.value.message


def test_the_backports_image_takes_rust_from_backports_and_the_rest_from_the_suite(
    tmp_path: Path,
) -> None:
    from builder.images.debian import mmdebstrap_command

    defn = find_definition("trixie-backports-py", [REPO / "containers"])
    assert (defn.suite, defn.extra_suites) == ("trixie", ("trixie-backports",))
    assert {"rustc/trixie-backports", "cargo/trixie-backports", "python3-dev"} <= set(defn.packages)
    base = find_definition("trixie-py", [REPO / "containers"])
    assert defn.rootfs_sha256 != replace(defn, extra_suites=()).rootfs_sha256
    assert replace(base, extra_suites=()).rootfs_sha256 == base.rootfs_sha256
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    cmd = mmdebstrap_command(defn, tmp_path / "r.tar", "http://mirror.example/debian")
    assert cmd[-2:] == ["deb http://mirror.example/debian trixie main",
                        "deb http://mirror.example/debian trixie-backports main"]  # fmt: skip
    with pytest.raises(ImageError, match="extra-suites need the Debian mirror"):
        mmdebstrap_command(defn, tmp_path / "r.tar", None)


def test_a_frozen_mirror_skips_the_release_date_and_leaves_no_setting_in_the_image(
    tmp_path: Path,
) -> None:
    """testing's Release files carry a Valid-Until a snapshot mirror outlives: only where
    the user says the mirror is frozen is the date not checked, and mmdebstrap's setting
    file is removed from the root filesystem (the same packages, the same digest)."""
    from builder.images.debian import mmdebstrap_command

    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    defn = find_definition("forky-py", [REPO / "containers"])
    plain = mmdebstrap_command(defn, tmp_path / "r.tar", "http://mirror.example/debian")
    assert not [a for a in plain if "Valid-Until" in a or "customize-hook" in a]
    frozen = mmdebstrap_command(defn, tmp_path / "r.tar", None, frozen=True)
    assert '--aptopt=Acquire::Check-Valid-Until "false"' in frozen
    assert '--customize-hook=rm -f "$1/etc/apt/apt.conf.d/99mmdebstrap"' in frozen
    assert frozen[-2:] == ["forky", str(tmp_path / "r.tar")]


def test_extra_suites_must_be_suite_names(tmp_path: Path) -> None:
    text = (REPO / "containers" / "trixie-backports-py" / "image.toml").read_text()
    (tmp_path / "x").mkdir()
    bad = tmp_path / "x" / "image.toml"
    bad.write_text(text.replace('["trixie-backports"]', '["trixie main contrib"]'))
    with pytest.raises(InputError, match="extra-suites: expected an array of Debian suite"):
        load_definition(bad)


def test_image_making_reads_no_host_setting_but_the_proxy_and_tmpdir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The host's PYTHONDONTWRITEBYTECODE once decided whether python3's byte code was in
    the image (another digest on a machine that sets it); mmdebstrap's environment is
    fixed now (made both ways here: the reference digest)."""
    from builder.images.debian import image_making_env

    defn = find_definition("trixie-py", [REPO / "containers"])
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:3128")
    env = image_making_env(defn)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and "PIP_INDEX_URL" not in env
    assert env["https_proxy"] == "http://127.0.0.1:3128"
    assert env["SOURCE_DATE_EPOCH"] == str(defn.source_date_epoch)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "")
    assert image_making_env(defn) == env


def test_a_security_suite_comes_from_the_security_mirror(tmp_path: Path) -> None:
    """bullseye's newest rustc (rustc-web) is in bullseye-security, which Debian serves
    from another mirror than the suite's own: each suite line names its own mirror."""
    from builder.images.debian import mmdebstrap_command

    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    defn = replace(find_definition("trixie-py", [REPO / "containers"]), suite="bullseye",
                   extra_suites=("bullseye-security",))  # fmt: skip
    cmd = mmdebstrap_command(defn, tmp_path / "r.tar", "http://m.example/debian",
                             security_mirror="http://m.example/debian-security")  # fmt: skip
    assert cmd[-2:] == ["deb http://m.example/debian bullseye main",
                        "deb http://m.example/debian-security bullseye-security main"]  # fmt: skip
    with pytest.raises(ImageError, match="come from Debian's security mirror"):
        mmdebstrap_command(defn, tmp_path / "r.tar", "http://m.example/debian")
