"""The shared libraries a wheel takes from the machine it is installed on.

auditwheel copies into the wheel every library its compiled code needs, except those a
manylinux policy lets a wheel expect from the host: glibc's, GCC's runtime, and a few
more (libglib-2.0, libGL, libX11, ...). The first two are on every Linux machine that
runs Python; the others are not on a slim container image. This names them, so that a
wheel that needs one says so (upstream's wheel of the same release may bundle its own
copy built without it, as matplotlib's bundles a HarfBuzz without GLib).
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from io import BytesIO
from pathlib import Path, PurePosixPath

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

# Always there: glibc's libraries, the GCC runtime a C++ or Fortran build links, and zlib
# (required in Debian and in every RHEL).
EVERYWHERE = frozenset({
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
    "libresolv.so.2", "libanl.so.1", "libmvec.so.1", "libcrypt.so.1", "libnsl.so.1",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld-linux.so.2", "ld64.so.2",
    "ld64.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libz.so.1",
})  # fmt: skip


def host_libraries(wheel: Path) -> tuple[str, ...]:
    """The libraries the wheel's ELF files need that neither the wheel holds nor every
    Linux machine has (sorted; empty for a pure wheel or a fully bundled one)."""
    stat = wheel.stat()
    return _host_libraries(str(wheel), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _host_libraries(wheel: str, _size: int, _mtime_ns: int) -> tuple[str, ...]:
    """Read once per file as it is: the summary, the JSON and the table each ask, for
    every wheel of a graph (the cache holds more wheels than a large closure has)."""
    needed: set[str] = set()
    held: set[str] = set()
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            with zf.open(info) as member:
                if info.is_dir() or member.read(4) != b"\x7fELF":
                    continue
            held.add(PurePosixPath(info.filename).name)
            needed |= _needed(zf.read(info))
    return tuple(sorted(needed - held - EVERYWHERE))


def _needed(data: bytes) -> set[str]:
    """An ELF file's DT_NEEDED names (none where it cannot be read)."""
    try:
        elf = ELFFile(BytesIO(data))
        return {
            str(tag.needed)  # type: ignore[attr-defined]  # set from the dynamic entry
            for section in elf.iter_sections()
            if isinstance(section, DynamicSection)
            for tag in section.iter_tags("DT_NEEDED")
        }
    except (ELFError, ValueError):
        return set()
