"""The package names a file asks for: requirements files, pyproject.toml, recipes, locks.

The gate checks names, and the releases pinned exactly against the advisories; markers
and hashes are read past. Options lines
of a requirements file (-r, --index-url...) are reported, not followed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the requirement parser loads when a file or a pin is read
    from packaging.requirements import Requirement

from builder.errors import InputError
from builder.names import NormalizedName, normalize


def names_in(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if path.suffix not in TOML:
        return _requirements_txt(text, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    if "package" in data and "sdist" in data:  # a recipe
        build = data.get("build", {})
        return [
            data["package"].get("name", ""),
            *(r.get("name", "") for r in build.get("requires", [])),
        ]
    if "packages" in data:  # pylock.toml (PEP 751)
        return [p.get("name", "") for p in data["packages"]]
    if isinstance(data.get("package"), list):  # uv.lock
        return [p.get("name", "") for p in data["package"] if isinstance(p, dict)]
    return _pyproject(data, path)


def releases_in(path: Path) -> list[tuple[str, str]]:
    """(name, version) of each release a file pins: `name==version` lines of a
    requirements file or pyproject.toml, a recipe's package and build requirements, a
    pylock.toml's packages. The advisories are checked against these."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if path.suffix not in TOML:
        return _pins(requirement(t, w) for t, w in _requirement_lines(text, path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    if "package" in data and "sdist" in data:
        found = [data["package"], *data.get("build", {}).get("requires", [])]
    elif "packages" in data:
        found = data["packages"]
    elif isinstance(data.get("package"), list):  # uv.lock
        found = data["package"]
    else:
        texts = pyproject_requirements(data, path)
        return _pins(requirement(t, str(path)) for t in texts)
    return [(str(f["name"]), str(f["version"])) for f in found
            if isinstance(f, dict) and f.get("name") and f.get("version")]  # fmt: skip


TOML = (".toml", ".lock")  # pyproject.toml, recipes, pylock.toml; uv.lock


def requirement_texts(path: Path) -> list[str]:
    """The requirements a requirements file or a pyproject.toml asks for (with its
    optional, development and build requirements): what a resolver is asked for."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".toml":
        return [t for t, _ in _requirement_lines(text, path)]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    return pyproject_requirements(data, path, optional=True)


def pin_of(text: str) -> tuple[str, str] | None:
    """(name, version) where a requirement pins exactly one version (`name==1.0`)."""
    if "=" not in text:
        return None  # a bare name: no parser needed
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        found = _pins([Requirement(text)])
    except InvalidRequirement:
        return None
    return found[0] if found else None


def _pins(requirements: Iterable[Requirement]) -> list[tuple[str, str]]:
    pins = []
    for r in requirements:
        exact = [s.version for s in r.specifier if s.operator in ("==", "===")]
        if len(exact) == 1 and "*" not in exact[0]:
            pins.append((r.name, exact[0]))
    return pins


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """A requirement that pins one version, with the sha256 digests it allows (none: any)."""

    name: NormalizedName
    version: str
    hashes: tuple[str, ...]


def read_pins(path: Path) -> list[Pin]:
    """Every requirement of a requirements file (a lock), each pinned `NAME==VERSION`, with
    its `--hash` digests; an unpinned one is an error naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the requirements file: {exc}") from exc
    pins = []
    for line, hashes, where in hashed_lines(text, path):
        pinned = pin_of(line)
        if pinned is None:
            raise InputError(
                f"{where}: {line!r} does not pin one version (NAME==VERSION)",
                hint="verify a lock: uv pip compile or pip-compile writes one",
            )
        pins.append(Pin(name=normalize(pinned[0]), version=pinned[1], hashes=tuple(hashes)))
    return pins


def requirements_in(path: Path) -> list[Requirement]:
    """The requirements a requirements file or a pyproject.toml ([project] dependencies)
    asks for: what `builder plan` builds the closure of."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if path.suffix != ".toml":
        return [requirement(t, w) for t, w in _requirement_lines(text, path)]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    dependencies = pyproject_requirements(data, path, build_system=False)
    if not dependencies:
        raise InputError(f"{path}: [project] lists no dependencies to plan")
    return [requirement(t, str(path)) for t in dependencies]


def direct_urls_in(path: Path) -> list[tuple[str, str, str]]:
    """(name, URL, where) of each requirement a requirements file or pyproject.toml asks
    for by a direct URL (`name @ https://...`): the gate checks where those point."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if path.suffix not in TOML:
        found = [(requirement(t, w), w) for t, w in _requirement_lines(text, path)]
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from exc
        texts = pyproject_requirements(data, path)
        found = [(requirement(t, str(path)), str(path)) for t in texts]
    return [(r.name, r.url, where) for r, where in found if r.url]


def requirement(text: str, where: str) -> Requirement:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(f"{where}: {text!r} is not a requirement: {exc}") from exc


def _requirement_name(text: str, where: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text).name
    except InvalidRequirement as exc:
        raise InputError(f"{where}: {text!r} is not a requirement: {exc}") from exc


def hashed_lines(text: str, path: Path) -> list[tuple[str, list[str], str]]:
    """(requirement, its --hash sha256 digests, where) for each requirement line of a
    requirements file (the digests empty where it pins none)."""
    lines = dict(_logical_lines(text))
    found = []
    for requirement_text, where in _requirement_lines(text, path):
        line = lines[int(where.rsplit(":", 1)[1])]
        digests = re.findall(r"--hash[= ]sha256:([0-9a-fA-F]{64})", line)
        found.append((requirement_text, [d.lower() for d in digests], where))
    return found


def _requirement_lines(text: str, path: Path) -> list[tuple[str, str]]:
    """(requirement, where) for each requirement line of a requirements file."""
    found = []
    for number, raw in _logical_lines(text):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise InputError(
                f"{path}:{number}: option lines ({line.split()[0]}) are not followed",
                hint="list only requirements here: name the indexes in the gate policy "
                "([indexes] internal and public, docs/gate.md) and in pip's or uv's own "
                "configuration (PIP_INDEX_URL, uv.toml), which builder check holds to the policy",
            )
        requirement = line.split(" --")[0].split(" \\")[0]  # per-requirement options
        found.append((requirement, f"{path}:{number}"))
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, as pip reads them:
    the multi-line `--hash` form of pip-compile and uv pip compile is one requirement."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        start, before = pending if pending else (number, "")
        line = before + raw
        if line.rstrip().endswith("\\"):
            pending = (start, line.rstrip()[:-1] + " ")
            continue
        pending = None
        joined.append((start, line))
    if pending:
        joined.append(pending)
    return joined


def _requirements_txt(text: str, path: Path) -> list[str]:
    return [_requirement_name(t, where) for t, where in _requirement_lines(text, path)]


def _pyproject(data: dict[str, Any], path: Path) -> list[str]:
    texts = pyproject_requirements(data, path, optional=True)
    names = [_requirement_name(t, str(path)) for t in texts]
    name = _table(data, "project", path).get("name")
    if name is not None:
        if not isinstance(name, str):
            raise InputError(f"{path}: project.name: expected a string, got {name!r}")
        names.insert(0, name)
    return names


def pyproject_requirements(
    data: dict[str, Any], path: Path, *, build_system: bool = True, optional: bool = False
) -> list[str]:
    """The requirement strings of a pyproject.toml: [build-system] requires (unless not
    `build_system`), [project] dependencies, and with `optional` its optional ones; each
    array checked to be one of strings (a string alone would be read letter by letter)."""
    project = _table(data, "project", path)
    texts = []
    if build_system:
        texts += _strings(_table(data, "build-system", path).get("requires", []),
                          "build-system.requires", path)  # fmt: skip
    texts += _strings(project.get("dependencies", []), "project.dependencies", path)
    if optional:
        groups = project.get("optional-dependencies", {})
        if not isinstance(groups, dict):
            raise InputError(f"{path}: project.optional-dependencies: expected a table")
        for group, items in groups.items():
            texts += _strings(items, f"project.optional-dependencies.{group}", path)
        texts += _development(data, path)
    return texts


def _development(data: dict[str, Any], path: Path) -> list[str]:
    """PEP 735 [dependency-groups] (an {include-group} entry adds nothing new) and uv's
    [tool.uv] dev-dependencies."""
    texts = []
    for group, items in _table(data, "dependency-groups", path).items():
        strings = (
            [i for i in items if not isinstance(i, dict)] if isinstance(items, list) else items
        )
        texts += _strings(strings, f"dependency-groups.{group}", path)
    uv = _table(_table(data, "tool", path), "uv", path)
    texts += _strings(uv.get("dev-dependencies", []), "tool.uv.dev-dependencies", path)
    return texts


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"{path}: {key}: expected a table, got {value!r}")
    return value


def _strings(value: Any, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(
            f"{path}: {key}: expected an array of requirement strings, got {value!r}",
            hint='write it as an array: dependencies = ["requests>=2"]',
        )
    return list(value)
