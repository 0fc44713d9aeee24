"""A Rust toolchain too old for the crates. Either cargo refuses a crate whose
`rust-version` is above the image's rustc, or, where no crate declares one, rustc fails to
compile it (a feature stable only in a newer Rust). Read either from the build's log and
say which image has a newer rustc (a made image's package list says its version; an image
not made here yet is named when its definition carries rustc at all)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from builder.errors import ImageError, InputError
from builder.images.definition import (
    DEFINITION_FILE,
    Image,
    ImageDefinition,
    default_search_path,
    find_definition,
    load_definition,
)
from builder.images.maker import current_image
from builder.store import Store

# cargo: "rustc 1.85.1 is not supported by the following package(s):" then one line each,
# "  maturin@1.16.0 requires rustc 1.89".
_REFUSED = re.compile(r"rustc (\S+) is not supported by the following packages?:")
_NEEDS = re.compile(r"^\s+(\S+@\S+) requires rustc (\S+)")
# rustc: "error[E0658]: `let` expressions in this position are unstable", then cargo:
# "error: could not compile `tiktoken` (lib) due to 2 previous errors".
_RUSTC_ERROR = re.compile(r"^error(?:\[E\d{4}\])?: (?!could not compile)(.+)")
_NOT_COMPILED = re.compile(r"^error: could not compile `([^`]+)`")


@dataclass(frozen=True, slots=True, kw_only=True)
class RustTooOld:
    have: str
    need: Version
    crates: tuple[str, ...]  # "maturin@1.16.0 requires rustc 1.89", each once

    def message(self, image: str) -> str:
        shown = "; ".join(self.crates[:3]) + ("; …" if len(self.crates) > 3 else "")
        return (
            f"cargo needs rustc {self.need} or newer ({shown}), and the image {image} has "
            f"rustc {self.have}"
        )


def rust_too_old(lines: Iterable[str]) -> RustTooOld | None:
    """cargo's refusal in a build log, if it is there."""
    have: str | None = None
    needs: dict[str, Version] = {}
    for line in lines:
        if have is None:
            if match := _REFUSED.search(line):
                have = match[1]
            continue
        if match := _NEEDS.match(line):
            with contextlib.suppress(InvalidVersion):  # a form packaging cannot read
                needs.setdefault(f"{match[1]} requires rustc {match[2]}", Version(match[2]))
    if have is None or not needs:
        return None
    return RustTooOld(have=have, need=max(needs.values()), crates=tuple(needs))


@dataclass(frozen=True, slots=True, kw_only=True)
class RustFailed:
    """rustc could not compile a crate: what it said first."""

    crate: str
    error: str


def rust_failed(lines: Iterable[str]) -> RustFailed | None:
    """The crate rustc could not compile in a build log, with its first error."""
    first: str | None = None
    for line in lines:
        if match := _NOT_COMPILED.match(line):
            return RustFailed(crate=f"`{match[1]}`", error=first or "see the log")
        if first is None and (match := _RUSTC_ERROR.match(line)):
            first = line.strip()
    return None


def newer_rust(failed: RustFailed, image: Image, store: Store) -> tuple[str, str] | None:
    """Where another image has a newer rustc (or one not made here yet), the reason and a
    hint that names it: a crate that declares no `rust-version` may need a newer Rust than
    the image has. None where no other image could have a newer rustc."""
    have = image_rustc(image)
    if have is None:
        return None
    others = [(d, v) for d, v in rust_images(store, like=image) if d.name != image.name]
    newer = [f"{d.name} (rustc {v})" for d, v in others if v is not None and v > have]
    newer += [f"{d.name} (not made here yet)" for d, v in others if v is None]
    if not newer:
        return None
    reason = (
        f"rustc {have} of the image {image.name} could not compile {failed.crate}: {failed.error}"
    )
    hint = (
        "a crate may need a newer Rust than its Cargo.toml declares; build in an image "
        f'with a newer rustc ({", ".join(newer)}): `image = "..."` in the recipe, or '
        "`builder recipe new --image ...`"
    )
    return reason, hint


def debian_upstream(version: str) -> Version | None:
    """The upstream part of a Debian version ("1:1.96.1+dfsg1-2~bpo13+1" -> 1.96.1)."""
    upstream = re.split(r"[+~-]", version.partition(":")[2] or version)[0]
    try:
        return Version(upstream)
    except InvalidVersion:
        return None


# Debian's rustc, and the newer one its older suites carry for browsers (/usr/bin/rustc too).
RUSTC_PACKAGES = ("rustc", "rustc-web")


def image_rustc(image: Image) -> Version | None:
    rustc = next((p for name in RUSTC_PACKAGES if (p := image.package(name))), None)
    return debian_upstream(rustc.version) if rustc is not None else None


def rust_images(
    store: Store, search: Sequence[Path] | None = None, *, like: Image | None = None
) -> list[tuple[ImageDefinition, Version | None]]:
    """Every image definition that carries rustc, with the rustc of the image made from it
    here (None: not made here yet); with `like`, only those with its Python (moving a
    recipe to another image must not change the Python its wheel is for)."""
    found = []
    for path in _definitions(search):
        try:
            defn = load_definition(path)
        except InputError:
            continue
        if any(p.split("/")[0] in RUSTC_PACKAGES for p in defn.packages):
            made = current_image(defn, store)
            if like is None or _same_python(defn, made, like, search):
                found.append((defn, image_rustc(made) if made is not None else None))
    return found


def _same_python(
    defn: ImageDefinition, made: Image | None, like: Image, search: Sequence[Path] | None
) -> bool:
    """Whether the image of `defn` has the Python of `like`: by their package lists where
    both are known, else by their Debian suites (one suite, one python3)."""
    ours, theirs = _python(like), _python(made) if made is not None else None
    if ours is not None and theirs is not None:
        return ours == theirs
    base = like.name.split("+", 1)[0]  # an image with a recipe's extra packages: its base
    try:
        return find_definition(base, search).suite == defn.suite
    except (ImageError, InputError):  # not defined here: say what is known
        return True


def _python(image: Image) -> str | None:
    python = image.package("python3")
    return ".".join(python.version.split(".")[:2]) if python is not None else None


def images_for_rust(
    need: Version,
    store: Store,
    search: Sequence[Path] | None = None,
    *,
    current: Image | None = None,
) -> list[str]:
    """The images but `current`, and with its Python, whose rustc is `need` or newer
    ("name (rustc 1.96.1)"), then those not made here yet that carry rustc ("name (not
    made here yet)"), each once."""
    but = current.name if current is not None else ""
    candidates = [(d, v) for d, v in rust_images(store, search, like=current) if d.name != but]
    new_enough = [f"{d.name} (rustc {v})" for d, v in candidates if v is not None and v >= need]
    unmade = [f"{d.name} (not made here yet)" for d, v in candidates if v is None]
    return new_enough + unmade


def advice(refusal: RustTooOld, image: Image, store: Store) -> str:
    found = images_for_rust(refusal.need, store, current=image)
    if not found:
        return (
            f"no image here has rustc {refusal.need}: define one whose Debian suites carry "
            "it (docs/images.md: extra-suites), or pin older crates"
        )
    return (
        f"build in an image whose rustc is new enough: {', '.join(found)}; "
        '`image = "..."` in the recipe, or `builder plan --image ...`'
    )


def _definitions(search: Sequence[Path] | None) -> list[Path]:
    dirs = tuple(search) if search is not None else default_search_path()
    found: dict[str, Path] = {}
    for base in dirs:
        for path in sorted(base.glob(f"*/{DEFINITION_FILE}")):
            found.setdefault(path.parent.name, path)
    return list(found.values())
