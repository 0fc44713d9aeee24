"""Debian images, made locally with mmdebstrap from the mirror of the machine's apt
sources (no address is written in code), with SOURCE_DATE_EPOCH fixed by the definition:
the root filesystem tar is reproducible. The package list is dpkg's status file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

from builder.errors import ImageError
from builder.images.definition import DebPackage, ImageDefinition
from builder.progress import Progress

_APT_SOURCES = Path("/etc/apt")


class DebianMaker:
    """The ImageMaker of Debian root filesystems (images/maker.py)."""

    def make_rootfs(self, defn: ImageDefinition, out_tar: Path, progress: Progress) -> None:
        mirror = os.environ.get("BUILDER_DEBIAN_MIRROR") or host_debian_mirror()
        frozen = mirror_is_frozen()
        security = (os.environ.get("BUILDER_DEBIAN_SECURITY_MIRROR")
                    or host_debian_security_mirror())  # fmt: skip
        cmd = mmdebstrap_command(defn, out_tar, mirror, frozen=frozen, security_mirror=security)
        if frozen:
            said = "Release files past their Valid-Until are taken (signatures are checked)"
            progress.status(f"{FROZEN_MIRROR_ENV}=1: the mirror is a snapshot; {said}")
        progress.status(f"making image {defn.name} from Debian {defn.suite} with mmdebstrap")
        _run_streaming(cmd, image_making_env(defn), progress,
                       what=f"mmdebstrap for image {defn.name}")  # fmt: skip

    def packages(self, rootfs_tar: Path) -> tuple[DebPackage, ...]:
        return read_package_list(rootfs_tar)


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


DEBIAN = DebianMaker()
