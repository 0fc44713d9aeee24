"""The compilers a build finds on its PATH: the image's own, each behind a wrapper that adds
the build's prefix map and the recipe's flags to every call. Standard library only.

builder exports no CFLAGS, CXXFLAGS, FFLAGS or RUSTFLAGS. Set, CFLAGS replaces the flags
setuptools takes from the image's Python (-O2, -DNDEBUG, ...), and comes after, and so
overrides, meson's and CMake's release flags; RUSTFLAGS replaces the rustflags of a
project's .cargo/config.toml. With the wrappers every build system chooses its own flags,
as it would on upstream's build machine, and builder's come on top.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from builder.inside.layout import HOME, PREFIX_SPECS

Language = Literal["c", "cxx", "fortran", "rust"]
# A fixed folder, before the image's own on the build's PATH.
WRAPPERS = f"{HOME}/.config/builder/bin"
REAL = Path("/usr/bin")
# The image's compilers by name: cc, gcc, gcc-14, x86_64-linux-gnu-gcc-14, ... (gcc-ar and
# gcc-nm are not compilers).
NAMES: Mapping[Language, re.Pattern[str]] = {
    "c": re.compile(r"(?:\w+-linux-gnu-)?(?:cc|gcc)(?:-\d+)?"),
    "cxx": re.compile(r"(?:\w+-linux-gnu-)?(?:c\+\+|g\+\+)(?:-\d+)?"),
    "fortran": re.compile(r"(?:\w+-linux-gnu-)?gfortran(?:-\d+)?"),
    "rust": re.compile(r"rustc"),
}
# The variable of a recipe's env that holds each language's flags: added to every call of
# that language's compilers, never exported.
VARIABLES: Mapping[str, Language] = {
    "CFLAGS": "c",
    "CXXFLAGS": "cxx",
    "FFLAGS": "fortran",
    "RUSTFLAGS": "rust",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CompilerFlags:
    """What every compiler call of a build gets after its own arguments, per language."""

    c: tuple[str, ...] = ()
    cxx: tuple[str, ...] = ()
    fortran: tuple[str, ...] = ()
    rust: tuple[str, ...] = ()

    @classmethod
    def of_env(cls, env: Mapping[str, str]) -> CompilerFlags:
        """The flags a recipe's env names (CFLAGS, ...), split as a shell would."""
        return cls(**{lang: tuple(shlex.split(env.get(v, ""))) for v, lang in VARIABLES.items()})

    def of(self, language: Language) -> tuple[str, ...]:
        flags: tuple[str, ...] = getattr(self, language)
        return flags


def builder_flags(language: Language, root: str) -> tuple[str, ...]:
    """builder's own flags, before the build's arguments: the prefix map of `root`.

    For the GCC family a specs file at a fixed path holds -ffile-prefix-map, so that a
    build that records its compiler's command line records no build root."""
    if language == "rust":
        return (f"--remap-path-prefix={root}=.",)
    return (f"-specs={PREFIX_SPECS}",)


def arguments(root: str, flags: CompilerFlags) -> dict[str, tuple[str, ...]]:
    """What each language's wrapper passes its compiler, "$@" standing for the build's own
    arguments (for the build record)."""
    return {
        language: (*builder_flags(language, root), "$@", *flags.of(language)) for language in NAMES
    }


def language_of(name: str) -> Language | None:
    return next((lang for lang, names in NAMES.items() if names.fullmatch(name)), None)


def wrapper(name: str, language: Language, root: str, flags: CompilerFlags) -> str:
    """The shell script that stands for /usr/bin/`name`."""
    words = [str(REAL / name), *builder_flags(language, root)]
    words = [*map(shlex.quote, words), '"$@"', *map(shlex.quote, flags.of(language))]
    return (
        "#!/bin/sh\n"
        "# builder: the image's compiler, with the build's prefix map and the recipe's flags\n"
        f"exec {' '.join(words)}\n"
    )


def wrappers(names: Iterable[str], root: str, flags: CompilerFlags) -> dict[str, str]:
    """A wrapper for each of `names` (what the image's /usr/bin holds) that is a compiler."""
    return {
        name: wrapper(name, language, root, flags)
        for name in sorted(names)
        if (language := language_of(name)) is not None
    }
