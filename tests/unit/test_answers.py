"""A plan's questions to the image, answered once: kept by every input, asked again when
an input changes, when a kept file is gone, or when the plan asks for fresh answers."""

from __future__ import annotations

from pathlib import Path

from builder.images import Image
from builder.recipe import PinnedFile
from builder.resolve.answers import Answers
from builder.store import Store


def _image(digest: str) -> Image:
    return Image(name="trixie-py", digest=digest, definition_sha256="d" * 64,  # type: ignore[arg-type]
                 packages=(), tools=(), made_on="2026-12-07")  # fmt: skip


def test_a_lock_is_asked_once_per_inputs_and_again_when_its_files_are_gone(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    sha = store.add_bytes(b"a wheel")
    pin = PinnedFile(name="setuptools", version="80.0", file="setuptools-80.0-py3-none-any.whl",  # type: ignore[arg-type]
                     sha256=sha, index="https://index.example/simple/")  # fmt: skip
    asked: list[str] = []

    def ask() -> tuple[PinnedFile, ...]:
        asked.append("lock")
        return (pin,)

    answers = Answers(store)
    image = _image("a" * 64)
    for _ in range(3):
        assert answers.lock(image, "https://index.example/simple/", ["setuptools"], ask) == (pin,)
    assert len(asked) == 1 and (answers.asked, answers.kept) == (1, 2)
    answers.lock(_image("b" * 64), "https://index.example/simple/", ["setuptools"], ask)
    answers.lock(image, "https://other.example/simple/", ["setuptools"], ask)
    answers.lock(image, "https://index.example/simple/", ["setuptools>=80"], ask)
    assert len(asked) == 4, "another image, index or requirement: asked"
    store.path_of(sha).unlink()
    answers.lock(image, "https://index.example/simple/", ["setuptools"], ask)
    assert len(asked) == 5, "a pinned file no longer in the store: asked again"
    Answers(store, fresh=True).lock(image, "https://index.example/simple/", ["setuptools"], ask)
    assert len(asked) == 6, "fresh: asked again (plan --update)"


def test_a_backends_answer_is_kept_by_sdist_pins_and_environment(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    sdist = PinnedFile(name="x", version="1", file="x-1.tar.gz", sha256="c" * 64)  # type: ignore[arg-type]
    asked: list[int] = []

    def ask() -> list[str]:
        asked.append(1)
        return ["ninja>=1.8"]

    answers = Answers(store)
    image = _image("a" * 64)
    assert answers.backend(image, sdist, (), {}, ask) == ["ninja>=1.8"]
    assert answers.backend(image, sdist, (), {}, ask) == ["ninja>=1.8"]
    answers.backend(image, sdist, (), {"WITH_CYTHON": "1"}, ask)
    assert len(asked) == 2
