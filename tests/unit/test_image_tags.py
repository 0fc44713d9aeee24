"""Which wheels an image's Python installs, from its package list alone: what decides that
a wheel built in one image serves another's builds (docs/plan.md, several images)."""

from __future__ import annotations

import pytest

from builder.errors import ImageError
from builder.images import Image
from builder.images.tags import installs
from builder.names import Sha256
from tests.unit.conftest import debian_image

BOOKWORM = debian_image("3.11.2-1+b1", "2.36-9+deb12u14")
TRIXIE = debian_image("3.13.5-1", "2.41-12+deb13u5")


@pytest.mark.parametrize(
    ("wheel", "bookworm", "trixie"),
    [
        ("a-1.0-py3-none-any.whl", True, True),
        ("a-1.0-py2.py3-none-any.whl", True, True),
        ("a-1.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl", True, False),
        ("a-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False, True),
        ("a-1.0-cp37-abi3-manylinux_2_34_x86_64.whl", True, True),  # abi3, old enough glibc
        ("a-1.0-cp37-abi3-manylinux_2_39_x86_64.whl", False, True),  # built on a newer glibc
        ("a-1.0-cp313-abi3-manylinux_2_17_x86_64.whl", False, True),  # abi3 from 3.13 on
        ("a-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", False, False),  # another machine
        ("a-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", False, False),
        ("not a wheel name", False, False),
    ],
)
def test_an_images_python_installs_what_pip_there_would(
    wheel: str, bookworm: bool, trixie: bool
) -> None:
    assert (installs(BOOKWORM, wheel), installs(TRIXIE, wheel)) == (bookworm, trixie)


def test_an_image_without_python3_says_it_cannot_judge_wheels() -> None:
    bare = Image(
        name="bare", digest=Sha256("12" * 32), definition_sha256=Sha256("ab" * 32),
        packages=(), tools=(), made_on="2026-11-01T00:00:00+00:00",
    )  # fmt: skip
    with pytest.raises(ImageError, match=r"image bare .* has no python3 package"):
        installs(bare, "a-1.0-py3-none-any.whl")


def test_a_wheels_platform_says_the_oldest_glibc_its_tags_install_on() -> None:
    from builder.images.tags import wheel_platform
    from builder.names import parse_glibc

    legacy = wheel_platform("m-1-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
    assert legacy.glibc == (2, 17)
    assert legacy.describe() == "manylinux_2_17_x86_64: glibc 2.17 or newer"
    several = wheel_platform("m-1-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
    assert several.glibc == (2, 27), "it installs wherever its oldest tag does"
    assert wheel_platform("s-1-cp310-abi3-manylinux_2_34_x86_64.whl").glibc_text == "2.34"
    pure = wheel_platform("t-1-py3-none-any.whl")
    assert pure.pure and pure.glibc is None
    raw = wheel_platform("r-1-cp313-cp313-linux_x86_64.whl")
    assert raw.glibc is None and "not repaired" in raw.describe()
    assert parse_glibc("2.36") == (2, 36) and parse_glibc("2") is None
