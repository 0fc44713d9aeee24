"""A URL as a place: a prefix of scheme, host, port and path segments, with `.`, `..` and
their escapes resolved, so that a URL on an index's host but outside its path is not the
index's (gate/binding.py holds names to places)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Place:
    """A URL as a prefix: scheme, host, port and path segments (dot segments resolved)."""

    scheme: str
    host: str
    port: int | None
    path: tuple[str, ...]

    @classmethod
    def of(cls, url: str) -> Place:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        try:
            port = parts.port or _PORTS.get(scheme)
        except ValueError:
            port = -1  # not a port: matches no declared index
        path = posixpath.normpath("/" + unquote(parts.path))
        segments = tuple(s for s in path.split("/") if s)
        return cls(scheme=scheme, host=(parts.hostname or "").lower(), port=port, path=segments)

    def holds(self, other: Place) -> bool:
        """Whether `other` is this place or under it."""
        same = (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)
        return same and other.path[: len(self.path)] == self.path

    @property
    def parent(self) -> Place:
        """The folder holding this one (an index's files: `…/files/` beside `…/simple/`)."""
        return Place(scheme=self.scheme, host=self.host, port=self.port, path=self.path[:-1])
