"""What the docker backend makes of a container it has already removed."""

from __future__ import annotations

import docker.errors

from builder.sandbox import docker as backend


class _Removed:
    """A container the backend removed after the driver said its output was ready."""

    def reload(self) -> None:
        raise docker.errors.NotFound("No such container")


def test_a_removed_container_is_not_said_to_have_been_killed_for_memory() -> None:
    """Seen under load: the output could not be copied out, the container was removed,
    and asking whether it was OOM-killed ended the build in an internal error (404)."""
    assert backend._oom_killed(_Removed()) is False  # type: ignore[arg-type]
