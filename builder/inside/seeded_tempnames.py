"""Copied into every build venv and imported when its Python starts (a .pth line): the
names tempfile makes come from a fixed seed, so that a build that compiles in a temporary
folder (a backend's own, meson-python's .mesonpy-*) compiles at the same path in every
build, as PYTHONHASHSEED fixes str hashes. The names stay unique: tempfile creates each
exclusively and takes the next name when one exists. The build's TMPDIR is under its
root, which the compilers' prefix map writes as ".". Standard library only.
"""

from __future__ import annotations

import os
import random
import tempfile

SEED = 0
MODULE = "_builder_seeded_tempnames"  # its name in the venv's site-packages
PTH_LINE = f"import {MODULE}\n"


class SeededNames(tempfile._RandomNameSequence):  # type: ignore[name-defined,misc]
    """tempfile's name sequence, seeded afresh in each process (a fork starts over)."""

    @property
    def rng(self) -> random.Random:
        if getattr(self, "_rng_pid", None) != os.getpid():
            self._rng = random.Random(SEED)
            self._rng_pid = os.getpid()
        return self._rng


def install() -> None:
    tempfile._name_sequence = SeededNames()  # type: ignore[attr-defined]


if __name__ == MODULE:
    install()
