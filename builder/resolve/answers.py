"""The answers of the image's runs that pin a plan, kept in the store by their inputs.

A lock (the wheels a set of build requirements resolves to, for an image, from an index)
and a backend's answer (what an sdist's build backend asks for, with its locked
requirements installed) each cost a run of the image. A re-plan that asks the same
question of the same image, with the same in-sandbox code, reads the answer instead:
`answers/<key>.json`, the key being the sha256 of every input. A lock's answer is what the
index served when it was asked: `builder plan --update` asks again. An answer whose
files are no longer in the store, or that does not read, is asked again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from builder.encoding import canonical_json
from builder.images import Image
from builder.recipe import PinnedFile
from builder.resolve.sdist_facts import SdistFacts
from builder.sandbox.staging import driver_digest
from builder.store import Store, write_atomic

T = TypeVar("T")
VERSION = 1
FACTS_VERSION = 1  # how pinning reads an sdist (resolve/sdist_facts.py): a change
# to that reading is a new version


class Answers:
    """The store's kept answers; `fresh` asks every question again (and keeps the new
    answers)."""

    def __init__(self, store: Store, *, fresh: bool = False) -> None:
        self.store = store
        self.fresh = fresh
        self.asked = 0  # questions a run of the image answered
        self.kept = 0  # questions a kept answer answered
        self._counting = threading.Lock()  # a plan asks from several threads

    def lock(
        self, image: Image, index_url: str, requirements: Sequence[str],
        ask: Callable[[], tuple[PinnedFile, ...]],
    ) -> tuple[PinnedFile, ...]:  # fmt: skip
        """The lock of `requirements` for `image` from the index at `index_url`."""
        key = _key("lock", image.digest, index_url, list(requirements))
        return self._answer(key, ask, _pins_json, _pins_of)

    def backend(
        self, image: Image, sdist: PinnedFile, pins: Sequence[PinnedFile],
        env: Mapping[str, str], ask: Callable[[], list[str]],
    ) -> list[str]:  # fmt: skip
        """What the sdist's backend asks for, in `image` with `pins` installed."""
        key = _key("backend", image.digest, sdist.sha256, sorted(p.sha256 for p in pins),
                   dict(sorted(env.items())))  # fmt: skip
        return self._answer(key, ask, list, _texts_of)

    def closure(
        self, image: Image, index_url: str, requirements: Sequence[str],
        ask: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:  # fmt: skip
        """pip's installation report of `requirements` for `image` from the index."""
        key = _key("closure", image.digest, index_url, list(requirements))
        return self._answer(key, ask, dict, _report_of)

    def facts(self, sdist: PinnedFile, ask: Callable[[], SdistFacts]) -> SdistFacts:
        """What pinning reads from the sdist's files (a function of its bytes: kept even
        when the plan asks fresh questions of the index)."""
        key = _key("facts", FACTS_VERSION, sdist.sha256)
        return self._answer(key, ask, SdistFacts.to_json, _facts_of, always=True)

    def sdist(
        self, index_url: str, name: str, version: str, ask: Callable[[], PinnedFile]
    ) -> PinnedFile:
        """The sdist the index serves for NAME VERSION."""
        key = _key("sdist", index_url, name, version)
        return self._answer(key, ask, PinnedFile.as_dict, _pin_of)

    def _answer(
        self, key: str, ask: Callable[[], T], to_json: Callable[[T], Any],
        read: Callable[[Any, Store], T | None], *, always: bool = False,
    ) -> T:  # fmt: skip
        """The kept answer to the question `key` (unless fresh answers are asked for, and
        the answer is not `always` the same), else `ask`'s, kept."""
        path = self.store.root / "answers" / f"{key}.json"
        if always or not self.fresh:
            try:
                found = read(json.loads(path.read_bytes()), self.store)
            except (OSError, ValueError, KeyError, TypeError):
                found = None
            if found is not None:
                with self._counting:
                    self.kept += 1
                return found
        answer = ask()
        with self._counting:
            self.asked += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, canonical_json(to_json(answer)))
        return answer

    def said(self) -> str:
        return f"{self.asked} asked of the image, {self.kept} kept from earlier plans"


def _key(kind: str, *inputs: object) -> str:
    text = json.dumps([VERSION, kind, driver_digest(), *inputs], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _pins_json(pins: tuple[PinnedFile, ...]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in pins]


def _pins_of(data: Any, store: Store) -> tuple[PinnedFile, ...] | None:
    """The kept pins, where every file is still in the store (else None: ask again)."""
    pins = tuple(PinnedFile.from_json(d) for d in data)
    return pins if all(store.has(p.sha256) for p in pins) else None


def _facts_of(data: Any, store: Store) -> SdistFacts | None:
    return SdistFacts.from_json(data)


def _pin_of(data: Any, store: Store) -> PinnedFile | None:
    return PinnedFile.from_json(data)


def _report_of(data: Any, store: Store) -> dict[str, Any] | None:
    return data if isinstance(data, dict) and isinstance(data.get("install"), list) else None


def _texts_of(data: Any, store: Store) -> list[str] | None:
    if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
        return None
    return list(data)
