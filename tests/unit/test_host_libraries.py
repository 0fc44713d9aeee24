"""What a wheel's compiled code takes from the host: real ELF files, linked by gcc."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from builder.wheelbuild.host_libraries import host_libraries
from tests.conftest import unavailable

pytestmark = pytest.mark.unit


def shared_library(folder: Path, soname: str, *links: Path) -> Path:
    """A real shared library named `soname` that needs each of `links` (DT_NEEDED)."""
    if shutil.which("gcc") is None:
        unavailable("gcc", "the test links real shared libraries")
    source = folder / f"{soname}.c"
    symbol = "".join(c if c.isalnum() else "_" for c in soname)
    source.write_text(f"int {symbol}(void) {{ return 1; }}\n")
    out = folder / soname
    argv = ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(out), str(source),
            "-Wl,--no-as-needed", *(str(link) for link in links), "-lm"]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    return out


def test_a_library_neither_bundled_nor_everywhere_is_named_and_the_rest_are_not(
    tmp_path: Path,
) -> None:
    host_only = shared_library(tmp_path, "libhostonly.so.1")
    bundled = shared_library(tmp_path, "libbundled-0a1b2c3d.so.1")
    ext = shared_library(tmp_path, "_ext.cpython-313-x86_64-linux-gnu.so", host_only, bundled)
    wheel = tmp_path / "pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(ext, f"pkg/{ext.name}")
        zf.write(bundled, f"pkg.libs/{bundled.name}")  # as auditwheel grafts it
        zf.writestr("pkg/__init__.py", "")
    assert host_libraries(wheel) == ("libhostonly.so.1",)  # not libm, libc, nor the graft


def test_a_pure_wheel_needs_nothing_from_the_host(tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/__init__.py", "\x7fELF is text here, not a header\n")
    assert host_libraries(wheel) == ()
