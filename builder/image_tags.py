"""Which wheels an image's Python installs: the tags pip accepts there, worked out from the
image's own package list (python3's version, libc6's version, the architecture), so that
a wheel built in one image can be judged for another without running either.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from builder.errors import ImageError
from builder.images import Image

# Debian's architecture names, as wheel platform tags spell them.
_ARCHITECTURES = {"amd64": "x86_64", "arm64": "aarch64", "i386": "i686", "ppc64el": "ppc64le",
                  "s390x": "s390x", "armhf": "armv7l"}  # fmt: skip
# The manylinux tags older than PEP 600, each the glibc it stands for.
_LEGACY = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}


@lru_cache(maxsize=16)
def accepted_tags(image: Image) -> frozenset[Tag]:
    """Every tag the image's CPython installs, as pip there would accept them."""
    python = _version(image, "python3")
    glibc = _version(image, "libc6")
    arch = _architecture(image)
    platforms = [*_manylinux(glibc[1], arch), f"linux_{arch}"]
    abi = f"cp{python[0]}{python[1]}"
    return frozenset(
        [
            *cpython_tags(python, abis=[abi], platforms=platforms),
            *compatible_tags(python, interpreter=abi, platforms=platforms),
        ]
    )


def installs(image: Image, wheel: str) -> bool:
    """Whether the image's Python installs the wheel named `wheel` (a file name)."""
    try:
        tags = parse_wheel_filename(wheel)[3]
    except InvalidWheelFilename:
        return False
    return not tags.isdisjoint(accepted_tags(image))


def _manylinux(glibc_minor: int, arch: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    return tags + [f"{name}_{arch}" for name, minor in _LEGACY.items() if minor <= glibc_minor]


def _version(image: Image, package: str) -> tuple[int, int]:
    found = image.package(package)
    match = re.match(r"(?:\d+:)?(\d+)\.(\d+)", found.version) if found else None
    if match is None:
        raise ImageError(
            f"image {image.name} ({image.digest[:12]}) has no {package} package whose "
            "version says which wheels it installs",
            hint=f"an image that builds wheels installs {package} (containers/<name>/image.toml)",
        )
    return int(match[1]), int(match[2])


def _architecture(image: Image) -> str:
    libc = image.package("libc6")
    debian = libc.architecture if libc else ""
    return _ARCHITECTURES.get(debian, debian)
