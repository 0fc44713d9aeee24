"""Build images: root filesystems made locally, named by content (docs/images.md).

There is no container registry: an image is made from its definition with a pinned
epoch, so its root filesystem tar is reproducible and its sha256 is the image's digest.
The tar is kept in the store (an image is an input like any other); its package list goes
into every build record. definition.py says what an image is, maker.py how it is made and
found again (the ImageMaker protocol), debian.py the one maker (mmdebstrap), tags.py which
wheels an image's Python installs, toolchain.py which image has which rustc.
"""

from builder.images.definition import (
    DEFAULT_IMAGE,
    DEFINITION_FILE,
    DebPackage,
    Image,
    ImageDefinition,
    default_search_path,
    find_definition,
    load_definition,
)
from builder.images.maker import (
    ImageMaker,
    current_image,
    ensure_image,
    image_from_rootfs,
    make_image,
)

__all__ = [
    "DEFAULT_IMAGE",
    "DEFINITION_FILE",
    "DebPackage",
    "Image",
    "ImageDefinition",
    "ImageMaker",
    "current_image",
    "default_search_path",
    "ensure_image",
    "find_definition",
    "image_from_rootfs",
    "load_definition",
    "make_image",
]
