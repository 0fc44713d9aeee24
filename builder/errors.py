"""The whole error model: one root, one subclass per stage, each with a stable exit code.

`builder.cli.main` is the only place that catches these; it prints ``error: <message>``
then ``hint: <hint>`` and exits with the class's code. `exit_codes()` is the one table of
codes: `builder --help` prints it, and a test holds docs/cli.md to it.
"""

from __future__ import annotations

from typing import ClassVar


class BuilderError(Exception):
    exit_code: ClassVar[int] = 1
    # What to do next when the raise site knows nothing more specific.
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint


class UsageError(BuilderError):
    """The command line is wrong: an unknown command or option, a missing or bad
    argument, or a file named on it that does not exist."""

    exit_code = 2
    default_hint = "`builder --help` lists the commands, `builder COMMAND --help` their options"


class InputError(BuilderError):
    """An input file (a recipe, an image definition, a policy, a requirements list, a
    graph) is missing, malformed or inconsistent."""

    exit_code = 3
    default_hint = "docs/recipes.md, docs/images.md, docs/gate.md and docs/plan.md list every key"


class RecipeError(InputError):
    """A recipe is missing, malformed or inconsistent."""

    default_hint = "docs/recipes.md lists every key of a recipe"


class FetchError(BuilderError):
    """An input could not be downloaded, or its bytes do not match the pinned sha256."""

    exit_code = 4
    default_hint = "check the index (BUILDER_INDEX_URL, pip's configuration) and the pins"


class ArchiveError(BuilderError):
    """An archive is unsafe to unpack (traversal, links out, devices, bombs, duplicates)."""

    exit_code = 5
    default_hint = "builder unpacks nothing it refuses; the file is damaged, or hostile"


class ImageError(BuilderError):
    """A build image cannot be made, found or trusted."""

    exit_code = 6
    default_hint = "`builder image build NAME` makes an image; docs/images.md"


class SandboxUnavailable(BuilderError):
    """No isolation backend can run (e.g. the Docker daemon does not answer)."""

    exit_code = 7
    default_hint = "`--backend docker` needs a Docker daemon, `--backend sandbox` bubblewrap"


class BuildFailed(BuilderError):
    """The build ran and did not produce a wheel (its log says why)."""

    exit_code = 8
    default_hint = "the build's log says why"


class StoreError(BuilderError):
    """The content-addressed store holds something it should not (corruption)."""

    exit_code = 9
    default_hint = "delete the object named, or run `builder store verify`"


class NotReproducible(BuilderError):
    """A rebuild's wheel (or a compared wheel) has another sha256 than the reference."""

    exit_code = 10
    default_hint = "`builder diff A.whl B.whl` explains the difference"


class KeyProblem(BuilderError):
    """A signing or verification key is missing, unreadable or of the wrong kind."""

    exit_code = 11
    default_hint = (
        "`builder key new` makes a key pair; --key names the private (build) or public (verify) key"
    )


class VerificationFailed(BuilderError):
    """An attestation is malformed, its signature does not verify, or it is not about the
    wheel at hand (payload type, subject, predicate type)."""

    exit_code = 12
    default_hint = "the attestation is damaged, not for this wheel, or signed with another key"


class PolicyViolation(BuilderError):
    """A verified attestation does not satisfy the policy (builder, reproducibility,
    sources, images, age)."""

    exit_code = 13
    default_hint = "the policy file's [verify] table says what is required (docs/attestations.md)"


class GateFailed(BuilderError):
    """A name looks like a typosquat, or could be taken by dependency confusion."""

    exit_code = 14
    default_hint = "a false alarm? add the name to names.allow in the policy (docs/gate.md)"


class PublishError(BuilderError):
    """The index cannot take a file: another file is published under its name, the
    wheel is malformed, or the index's pages are damaged."""

    exit_code = 15
    default_hint = "docs/index.md describes the index's layout; a published file never changes"


class ClusterError(BuilderError):
    """The cluster cannot take a build: its scheduler does not answer, no worker offers
    what a build needs, a worker's result does not match its record, or workers kept
    dying under a build."""

    exit_code = 16
    default_hint = "docs/cluster.md: how to start a scheduler and workers, and what they offer"


class AdvisoryError(BuilderError):
    """The advisory snapshot is damaged or truncated, or an OSV source cannot be read."""

    exit_code = 17
    default_hint = "`builder advisories refresh --from FILE|URL` replaces it (docs/gate.md)"


OK_CODES = {0: "success (a cache hit is a success)"}
SIGNAL_CODES = {
    130: "interrupted (Ctrl-C); containers and sandboxes are removed all the same",
    143: "terminated (SIGTERM); containers and sandboxes are removed all the same",
}


def exit_codes() -> list[tuple[int, str, str]]:
    """(code, class name or "", meaning) for every code builder exits with, in order."""
    classes: list[type[BuilderError]] = [BuilderError, *BuilderError.__subclasses__()]
    rows = [(c.exit_code, c.__name__, " ".join((c.__doc__ or "").split())) for c in classes]
    rows[0] = (1, "BuilderError", "any other error")
    rows += [(code, "", text) for code, text in (OK_CODES | SIGNAL_CODES).items()]
    return sorted(rows)
