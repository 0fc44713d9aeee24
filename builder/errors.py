"""The whole error model: one root, one subclass per stage, each with a stable exit code.

`builder.cli.main` is the only place that catches these; it prints ``error: <message>``
then ``hint: <hint>`` and exits with the class's code (documented in docs/cli.md).
"""

from __future__ import annotations

from typing import ClassVar


class BuilderError(Exception):
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class RecipeError(BuilderError):
    """A recipe (or image definition) is missing, malformed or inconsistent."""

    exit_code = 3


class FetchError(BuilderError):
    """An input could not be downloaded, or its bytes do not match the pinned sha256."""

    exit_code = 4


class ArchiveError(BuilderError):
    """An archive is unsafe to unpack (traversal, links out, devices, bombs, duplicates)."""

    exit_code = 5


class ImageError(BuilderError):
    """A build image cannot be made, found or trusted."""

    exit_code = 6


class SandboxUnavailable(BuilderError):
    """No isolation backend can run (e.g. the Docker daemon does not answer)."""

    exit_code = 7


class BuildFailed(BuilderError):
    """The build ran and did not produce a wheel (its log says why)."""

    exit_code = 8


class StoreError(BuilderError):
    """The content-addressed store holds something it should not (corruption)."""

    exit_code = 9


class NotReproducible(BuilderError):
    """A rebuild's wheel (or a compared wheel) has another sha256 than the reference."""

    exit_code = 10


class KeyProblem(BuilderError):
    """A signing or verification key is missing, unreadable or of the wrong kind."""

    exit_code = 11


class VerificationFailed(BuilderError):
    """An attestation is malformed, its signature does not verify, or it is not about the
    wheel at hand (payload type, subject, predicate type)."""

    exit_code = 12


class PolicyViolation(BuilderError):
    """A verified attestation does not satisfy the policy (builder, reproducibility,
    sources, images, age)."""

    exit_code = 13


class GateFailed(BuilderError):
    """A name looks like a typosquat, or could be taken by dependency confusion."""

    exit_code = 14
