"""Build images: root filesystems made locally from Debian packages, named by content.

There is no container registry: an image is made with mmdebstrap from the mirror of the
machine's apt sources, with SOURCE_DATE_EPOCH fixed by its definition, so the root
filesystem tar is reproducible and its sha256 is the image's digest. The tar is kept in
the store (an image is an input like any other); its package list goes into every build
record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from builder.encoding import canonical_json, pretty_json
from builder.errors import ImageError, InputError
from builder.names import Sha256
from builder.problems import Problems, required_str
from builder.progress import Progress
from builder.recipe import PinnedFile, parse_pinned_wheels
from builder.store import Store, write_atomic

DEFINITION_FILE = "image.toml"
DEFAULT_IMAGE = "trixie-py"  # the reference recipes' image
_DEFINITION_KEYS = {
    "description",
    "suite",
    "extra-suites",
    "source-date-epoch",
    "packages",
    "tools",
}
_APT_SOURCES = Path("/etc/apt")
# What the in-container driver runs: pypa/installer, pypa/build and auditwheel.
REQUIRED_TOOLS = frozenset({"installer", "build", "auditwheel"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageDefinition:
    name: str
    path: Path
    description: str
    suite: str
    source_date_epoch: int
    packages: tuple[str, ...]
    tools: tuple[PinnedFile, ...]
    # More suites of the same mirror (e.g. trixie-backports); a package is taken from one
    # only where `packages` names it so: "rustc/trixie-backports".
    extra_suites: tuple[str, ...] = ()

    @property
    def rootfs_sha256(self) -> Sha256:
        """A digest of what goes into the root filesystem; the tools are staged per build."""
        fields: dict[str, object] = {
            "suite": self.suite, "sde": self.source_date_epoch, "packages": self.packages
        }  # fmt: skip
        if self.extra_suites:
            fields["extra_suites"] = self.extra_suites
        return Sha256(hashlib.sha256(canonical_json(fields)).hexdigest())

    def with_packages(self, extra: tuple[str, ...]) -> ImageDefinition:
        """This image with more Debian packages (a recipe's `extra-packages`, such as a
        -dev package a C extension needs): an image of its own, named after the base and
        a digest of the additions, made like any other and with its own digest."""
        added = tuple(sorted(set(extra) - set(self.packages)))
        if not added:
            return self
        tag = hashlib.sha256(canonical_json(added)).hexdigest()[:12]
        return replace(self, name=f"{self.name}+{tag}", packages=(*self.packages, *added))


@dataclass(frozen=True, slots=True, kw_only=True)
class DebPackage:
    name: str
    version: str
    architecture: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "architecture": self.architecture}


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """A made image: its digest is the sha256 of its root filesystem tar."""

    name: str
    digest: Sha256
    definition_sha256: Sha256
    packages: tuple[DebPackage, ...]
    tools: tuple[PinnedFile, ...]
    made_on: str

    def package(self, name: str) -> DebPackage | None:
        """The image's Debian package of that name, if it holds one."""
        return next((p for p in self.packages if p.name == name), None)

    @property
    def reference(self) -> str:
        """The local tag a container backend knows this image by."""
        return f"builder/{self.name.replace('+', '-plus-')}:{self.digest[:24]}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Image:
        return cls(
            name=data["name"],
            digest=Sha256(data["digest"]),
            definition_sha256=Sha256(data["definition_sha256"]),
            packages=tuple(DebPackage(**p) for p in data["packages"]),
            tools=tuple(PinnedFile(**t) for t in data["tools"]),
            made_on=data["made_on"],
        )


def default_search_path() -> tuple[Path, ...]:
    """containers/ in the working directory, then the one beside this checkout's package."""
    here = Path(__file__).resolve().parent.parent / "containers"
    return tuple(dict.fromkeys([Path.cwd() / "containers", here]))


def find_definition(name: str, search: Sequence[Path] | None = None) -> ImageDefinition:
    dirs = tuple(search) if search is not None else default_search_path()
    for base in dirs:
        candidate = base / name / DEFINITION_FILE
        if candidate.is_file():
            return load_definition(candidate)
    looked = ", ".join(str(d) for d in dirs)
    raise ImageError(
        f"no image definition named {name!r} (looked in {looked})",
        hint=f"image definitions are containers/<name>/{DEFINITION_FILE}",
    )


def load_definition(path: Path) -> ImageDefinition:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read image definition: {exc}") from exc
    p = Problems(
        path, hint="docs/images.md lists every key of an image definition", error=InputError
    )
    for unknown in sorted(set(data) - _DEFINITION_KEYS):
        p.add(unknown, f"unknown key (allowed: {', '.join(sorted(_DEFINITION_KEYS))})")
    suite = required_str(data, "suite", "suite", p)
    sde = data.get("source-date-epoch")
    if isinstance(sde, bool) or not isinstance(sde, int) or sde < 0:
        p.add("source-date-epoch", f"expected a non-negative integer, got {sde!r}")
    packages = data.get("packages")
    if not isinstance(packages, list) or not all(isinstance(x, str) and x for x in packages):
        p.add("packages", "expected an array of Debian package names")
        packages = []
    extra_suites = data.get("extra-suites", [])
    if not isinstance(extra_suites, list) or not all(
        isinstance(x, str) and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", x) for x in extra_suites
    ):
        p.add("extra-suites", "expected an array of Debian suite names")
        extra_suites = []
    tools = parse_pinned_wheels(data.get("tools", []), "tools", p)
    for missing in sorted(REQUIRED_TOOLS - {t.name for t in tools}):
        p.add("tools", f"no pinned {missing!r} wheel (a build needs {', '.join(REQUIRED_TOOLS)})")
    p.raise_if_any()
    return ImageDefinition(
        name=path.parent.name,
        path=path,
        description=str(data.get("description", "")),
        suite=suite,
        source_date_epoch=sde if isinstance(sde, int) else 0,
        packages=tuple(packages),
        tools=tools,
        extra_suites=tuple(extra_suites),
    )


def host_debian_mirror(apt_dir: Path = _APT_SOURCES) -> str | None:
    """The Debian mirror this machine's apt already uses, so no address is written in code."""
    for uri, signed_by in _apt_source_entries(apt_dir):
        if "security" in uri:
            continue
        if "debian-archive-keyring" in signed_by or uri.rstrip("/").endswith("/debian"):
            return uri
    return None


def host_debian_security_mirror(apt_dir: Path = _APT_SOURCES) -> str | None:
    """The Debian security mirror this machine's apt uses (the *-security suites)."""
    return next((uri for uri, _ in _apt_source_entries(apt_dir) if "security" in uri), None)


def _apt_source_entries(apt_dir: Path) -> Iterator[tuple[str, str]]:
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if path.suffix == ".sources":
            yield from _deb822_entries(text)
        else:
            for line in text.splitlines():
                match = re.match(r"\s*deb\s+(?:\[(?P<opts>[^]]*)\]\s+)?(?P<uri>\S+)", line)
                if match:
                    yield match["uri"], match["opts"] or ""


def _deb822_entries(text: str) -> Iterator[tuple[str, str]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (ln.partition(":") for ln in stanza.splitlines())
            if not k.startswith("#") and v
        )
        if "deb" in fields.get("types", "").split():
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("signed-by", "")


# The host's settings image making may read: where to reach the mirror, where to work.
PASSED_THROUGH = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                  "NO_PROXY", "TMPDIR")  # fmt: skip


def image_making_env(defn: ImageDefinition) -> dict[str, str]:
    """mmdebstrap's whole environment: fixed, so that the same packages give the same
    image on any machine. The host's environment reached the packages' maintainer scripts
    before (PYTHONDONTWRITEBYTECODE decided whether python3's byte code was in the image);
    byte code is left out, as in the reference images."""
    passed = {k: v for k in PASSED_THROUGH if (v := os.environ.get(k))}
    return passed | {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SOURCE_DATE_EPOCH": str(defn.source_date_epoch),
    }


# A mirror frozen at one moment (a snapshot) serves testing's and security's Release files
# past their Valid-Until, and apt refuses them as it should refuse a mirror replaying old
# metadata. Where the user says the mirror is a snapshot, the date is not checked (the
# signatures are) and the setting is left out of the image: its digest stays the same.
FROZEN_MIRROR_ENV = "BUILDER_DEBIAN_FROZEN_MIRROR"
_NO_VALID_UNTIL = 'Acquire::Check-Valid-Until "false"'


def mirror_is_frozen() -> bool:
    return os.environ.get(FROZEN_MIRROR_ENV, "") == "1"


def mmdebstrap_command(
    defn: ImageDefinition,
    out_tar: Path,
    mirror: str | None,
    *,
    frozen: bool = False,
    security_mirror: str | None = None,
) -> list[str]:
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise ImageError(
            "mmdebstrap is not installed; it makes images from Debian packages",
            hint="apt-get install mmdebstrap",
        )
    cmd = [tool, "--variant=apt", f"--include={','.join(defn.packages)}", defn.suite, str(out_tar)]
    if defn.extra_suites and not mirror:
        raise ImageError(
            f"image {defn.name}: extra-suites need the Debian mirror's address, and this "
            "machine's apt sources name none",
            hint="set BUILDER_DEBIAN_MIRROR to the Debian mirror to use",
        )
    if frozen:
        options = [f"--aptopt={_NO_VALID_UNTIL}",
                   '--customize-hook=rm -f "$1/etc/apt/apt.conf.d/99mmdebstrap"']  # fmt: skip
        cmd[1:1] = options
    security = [s for s in defn.extra_suites if s.endswith("-security")]
    if security and not security_mirror:
        raise ImageError(
            f"image {defn.name}: {', '.join(security)} come from Debian's security mirror, "
            "and this machine's apt sources name none",
            hint="set BUILDER_DEBIAN_SECURITY_MIRROR to the Debian security mirror to use",
        )
    if mirror:
        cmd += [f"deb {mirror} {suite} main" for suite in (defn.suite, *defn.extra_suites)
                if suite not in security]  # fmt: skip
    cmd += [f"deb {security_mirror} {suite} main" for suite in security]
    return cmd


def make_image(defn: ImageDefinition, store: Store, progress: Progress) -> Image:
    """Make the root filesystem, store it by digest and record its package list."""
    mirror = os.environ.get("BUILDER_DEBIAN_MIRROR") or host_debian_mirror()
    with store.temp_dir("image-") as tmp:
        tar_path = tmp / "rootfs.tar"
        frozen = mirror_is_frozen()
        security = (os.environ.get("BUILDER_DEBIAN_SECURITY_MIRROR")
                    or host_debian_security_mirror())  # fmt: skip
        cmd = mmdebstrap_command(defn, tar_path, mirror, frozen=frozen, security_mirror=security)
        env = image_making_env(defn)
        if frozen:
            said = "Release files past their Valid-Until are taken (signatures are checked)"
            progress.status(f"{FROZEN_MIRROR_ENV}=1: the mirror is a snapshot; {said}")
        progress.status(f"making image {defn.name} from Debian {defn.suite} with mmdebstrap")
        _run_streaming(cmd, env, progress, what=f"mmdebstrap for image {defn.name}")
        progress.status(f"hashing the root filesystem of {defn.name}")
        digest = store.add_file(tar_path, what=f"image {defn.name} root filesystem")
    packages = read_package_list(store.path_of(digest))
    image = Image(
        name=defn.name,
        digest=digest,
        definition_sha256=defn.rootfs_sha256,
        packages=packages,
        tools=defn.tools,
        made_on=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    write_atomic(_metadata_path(store, defn.name), pretty_json(image.to_json()))
    return image


def _run_streaming(cmd: list[str], env: dict[str, str], progress: Progress, what: str) -> None:
    tail: list[str] = []
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            progress.log(line.rstrip("\n"))
            tail = [*tail[-19:], line.rstrip("\n")]
    if proc.returncode != 0:
        expired = any("is expired" in line for line in tail)
        raise ImageError(
            f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail),
            hint=(
                "the mirror serves a Release file past its Valid-Until: it stopped updating, "
                f"or replays old metadata; if it is a snapshot you trust, {FROZEN_MIRROR_ENV}=1"
                if expired
                else "check the machine's apt sources, or set BUILDER_DEBIAN_MIRROR"
            ),
        )


def read_package_list(rootfs_tar: Path) -> tuple[DebPackage, ...]:
    """Installed packages, from dpkg's status file inside the root filesystem tar."""
    with tarfile.open(rootfs_tar) as tar:
        for member in tar:
            if member.name.lstrip("./") == "var/lib/dpkg/status" and member.isfile():
                f = tar.extractfile(member)
                assert f is not None
                return _parse_dpkg_status(f.read().decode())
    raise ImageError(f"{rootfs_tar}: no var/lib/dpkg/status; not a Debian root filesystem")


def _parse_dpkg_status(text: str) -> tuple[DebPackage, ...]:
    packages = []
    for stanza in text.split("\n\n"):
        fields = dict(
            (k, v.strip()) for k, _, v in (ln.partition(":") for ln in stanza.splitlines())
        )
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            packages.append(
                DebPackage(
                    name=fields["Package"],
                    version=fields.get("Version", ""),
                    architecture=fields.get("Architecture", ""),
                )
            )
    return tuple(sorted(packages, key=lambda p: (p.name, p.architecture)))


def _metadata_path(store: Store, name: str) -> Path:
    return store.root / "images" / f"{name}.json"


def current_image(defn: ImageDefinition, store: Store) -> Image | None:
    """The image last made from this exact definition, if its root filesystem is stored."""
    try:
        data = json.loads(_metadata_path(store, defn.name).read_text(encoding="utf-8"))
        image = Image.from_json(data)
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None
    if image.definition_sha256 != defn.rootfs_sha256 or not store.has(image.digest):
        return None
    return replace(image, tools=defn.tools)


def image_from_rootfs(defn: ImageDefinition, digest: Sha256, store: Store) -> Image:
    """An image whose root filesystem was fetched, not made here (an auditor's, from an
    index, by the digest a provenance names): the tar in the store is the image; its
    package list is read from it as for one made here. Not recorded as the current image
    of its definition: the next build makes (or finds) its own."""
    store.verified_path(digest, f"image {defn.name} root filesystem")
    return Image(
        name=defn.name,
        digest=digest,
        definition_sha256=defn.rootfs_sha256,
        packages=read_package_list(store.path_of(digest)),
        tools=defn.tools,
        made_on="fetched",
    )


def ensure_image(defn: ImageDefinition, store: Store, progress: Progress) -> Image:
    return current_image(defn, store) or make_image(defn, store, progress)
