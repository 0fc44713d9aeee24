"""builder image build NAME / builder image list: make images from containers/."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subcommands,
    add_backend_option,
    add_store_option,
    open_store,
    sandbox_factory,
)
from builder.cli.output import err_console, print_json, terminal_progress
from builder.images import current_image, find_definition, make_image


def register(sub: Subcommands) -> None:
    p = sub.add_parser("image", help="make and inspect build images")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    b = verbs.add_parser("build", help="make an image from containers/NAME/image.toml")
    b.add_argument("name", help="an image definition, e.g. trixie-py")
    b.add_argument("--force", action="store_true", help="make it again even if it is current")
    b.add_argument("--json", action="store_true", help="print the image metadata on stdout")
    add_store_option(b)
    add_backend_option(b)
    b.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    store = open_store(args)
    progress = terminal_progress(args)
    defn = find_definition(args.name)
    image = None if args.force else current_image(defn, store)
    if image is None:
        image = make_image(defn, store, progress)
    sandbox_factory(args.backend)().prepare(image, store, progress)
    if args.json:
        print_json("image-build", image.to_json(), ok=True)
    err_console().print(f"[bold green]image {image.name}:[/] sha256:{image.digest}")
    err_console().print(f"  {len(image.packages)} Debian packages; docker {image.reference}")
    return 0
