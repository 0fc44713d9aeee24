"""The driver writes a rebuild's root as /buildroot in a wheel's text members (SBOMs, installed
build configurations), RECORD kept true, compiled code untouched."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from builder.inside.build_paths import remap_build_paths

pytestmark = pytest.mark.unit

SBOM = "tiny-0.1.0.dist-info/sboms/tiny.cyclonedx.json"
RECORD = "tiny-0.1.0.dist-info/RECORD"


def wheel_at(tmp_path: Path, root: str) -> Path:
    sbom = f'{{"bom-ref": "path+file://{root}/unpacked/tiny-0.1.0#tiny@0.1.0"}}'.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(sbom).digest()).rstrip(b"=").decode()
    path = tmp_path / "tiny-0.1.0-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tiny/__init__.py", "")
        zf.writestr(SBOM, sbom)
        zf.writestr(RECORD, f"tiny/__init__.py,,\n{SBOM},sha256={digest},{len(sbom)}\n"
                            f"{RECORD},,\n")  # fmt: skip
    return path


def test_a_rebuild_root_is_written_as_build_and_record_follows(tmp_path: Path) -> None:
    wheel = wheel_at(tmp_path, "/buildroot-rebuild-1")
    assert remap_build_paths(wheel, "/buildroot-rebuild-1") == (SBOM,)
    (tmp_path / "ref").mkdir()
    reference = wheel_at(tmp_path / "ref", "/buildroot")
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(reference) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
        assert a.read(SBOM).decode().count("/buildroot/unpacked/") == 1


def test_at_the_fixed_root_or_without_the_root_nothing_is_touched(tmp_path: Path) -> None:
    wheel = wheel_at(tmp_path, "/buildroot")
    before = wheel.read_bytes()
    assert remap_build_paths(wheel, "/buildroot") == ()
    assert remap_build_paths(wheel, "/elsewhere") == ()
    assert wheel.read_bytes() == before


def test_a_build_configuration_is_remapped_and_compiled_code_is_not(tmp_path: Path) -> None:
    config = "pk/_build_config.py"
    text = ('source_dir=r"/buildroot-rebuild-1/unpacked/pk"\n'
            'build_options=r"-Db=/buildroot-rebuild-1"\n')  # fmt: skip
    binary = b"\x7fELF\0/buildroot-rebuild-1/unpacked/pk/x.c\0"
    near = 'other = "/buildroot-rebuild-10/x /buildroot-rebuild-1.d"\n'  # longer: not the root
    path = tmp_path / "pk-1.0-cp313-cp313-linux_x86_64.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(config, text)
        zf.writestr("pk/_x.so", binary)
        zf.writestr("pk/near.py", near)
        zf.writestr("pk-1.0.dist-info/RECORD", f"{config},,\npk/_x.so,,\npk/near.py,,\n")
    assert remap_build_paths(path, "/buildroot-rebuild-1") == (config,)
    with zipfile.ZipFile(path) as zf:
        assert zf.read(config).decode() == text.replace("/buildroot-rebuild-1", "/buildroot")
        assert zf.read("pk/_x.so") == binary and zf.read("pk/near.py").decode() == near
        assert zf.read("pk-1.0.dist-info/RECORD").decode().startswith(f"{config},sha256=")
