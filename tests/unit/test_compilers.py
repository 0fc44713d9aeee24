"""The compiler wrappers: which of the image's programs get one, and what each passes on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from builder.inside.compilers import CompilerFlags, language_of, wrapper, wrappers
from builder.inside.layout import PREFIX_SPECS

USR_BIN = [
    "cc", "c++", "gcc", "g++", "gcc-14", "x86_64-linux-gnu-gcc-14", "x86_64-linux-gnu-g++",
    "gfortran", "rustc", "gcc-ar", "x86_64-linux-gnu-gcc-nm-14", "cpp", "python3", "ccache",
    "rustdoc", "cargo",
]  # fmt: skip


def test_every_c_cxx_fortran_and_rust_compiler_is_wrapped_and_nothing_else() -> None:
    wrapped = wrappers(USR_BIN, "/buildroot", CompilerFlags())
    assert sorted(wrapped) == sorted(
        ["cc", "c++", "gcc", "g++", "gcc-14", "x86_64-linux-gnu-gcc-14",
         "x86_64-linux-gnu-g++", "gfortran", "rustc"]
    )  # fmt: skip
    assert language_of("x86_64-linux-gnu-g++") == "cxx"
    assert language_of("gcc-ar") is None


def test_a_wrapper_passes_the_builds_arguments_between_builders_flags_and_the_recipes(
    tmp_path: Path,
) -> None:
    """Run for real with /bin/sh: the build's own arguments come through word for word,
    the recipe's flags after them (so they win), quoted as one word each."""
    flags = CompilerFlags(c=("-DNAME=a b", "-O3"), rust=("-Cdebuginfo=0",))
    script = wrapper("gcc", "c", "/buildroot", flags)
    script = script.replace("exec /usr/bin/gcc", "exec printf '%s\\n'")
    (tmp_path / "gcc").write_text(script)
    out = subprocess.run(
        ["sh", str(tmp_path / "gcc"), "-c", "a file.c", "-o", "x.o"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out == [f"-specs={PREFIX_SPECS}", "-c", "a file.c", "-o", "x.o", "-DNAME=a b", "-O3"]
    rustc = wrapper("rustc", "rust", "/buildroot-rebuild-1", flags)
    assert '--remap-path-prefix=/buildroot-rebuild-1=. "$@" -Cdebuginfo=0' in rustc
