"""builder's build images in docker, for the benches that run something in one."""

from __future__ import annotations

from pathlib import Path

from builder.images import ensure_image, find_definition
from builder.progress import Silent
from builder.sandbox.docker import DockerSandbox, connect
from builder.store import Store

CONTAINERS = Path(__file__).resolve().parent.parent / "containers"


def docker_image(name: str, store: Store, extra_packages: tuple[str, ...] = ()) -> str:
    """Make builder's image `name` (with `extra_packages`, an image of its own) in `store`,
    load it into docker as a build does, and give its reference."""
    definition = find_definition(name, [CONTAINERS]).with_packages(extra_packages)
    image = ensure_image(definition, store, Silent())
    DockerSandbox(connect()).prepare(image, store, Silent())
    return image.reference
