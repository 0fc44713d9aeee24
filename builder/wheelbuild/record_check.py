"""A stored build record is trusted only as far as it agrees with what it names.

A cache hit serves the wheel a record names, so the record is checked first: stored
under its own build key, made of the inputs this build has, naming a wheel of its
package whose archive says so too, and a log and rebuild report the store holds.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from builder.fetch.sources import Sources
from builder.names import Sha256
from builder.store import Store
from builder.wheelbuild.record import BuildRecord


def record_problems(record: BuildRecord, key: Sha256, store: Store) -> list[str]:
    """How the record stored under `key` disagrees with itself and with the store."""
    problems = []
    if record.build_key != key:
        problems.append(f"it says build key {record.build_key}, and is stored under {key}")
    problems += _wheel_problems(record, store)
    if not store.has(record.log_sha256):
        problems.append(f"its log {record.log_sha256} is not in the store")
    if record.rebuild is not None and not store.has(record.rebuild.report_sha256):
        problems.append(f"its rebuild report {record.rebuild.report_sha256} is not in the store")
    return problems


def input_problems(record: BuildRecord, parameters: object, sources: Sources) -> list[str]:
    """How the record's recipe and inputs differ from the build at hand (whose key it is
    stored under: they cannot differ unless it was edited)."""
    inputs = record.inputs
    pairs = {
        "recipe": (dict(record.parameters), parameters),
        "sdist": (inputs.sdist.sha256, sources.sdist.sha256),
        "requires": ([r.sha256 for r in inputs.requires], [r.sha256 for r in sources.requires]),
        "tools": ([t.sha256 for t in inputs.tools], [t.sha256 for t in sources.tools]),
        "crates": ([c.sha256 for c in inputs.crates], [c.sha256 for c in sources.crates]),
    }
    return [f"its {what} differ from this build's" for what, (a, b) in pairs.items() if a != b]


def _wheel_problems(record: BuildRecord, store: Store) -> Iterator[str]:
    output, parameters = record.output, record.parameters
    try:
        name, version, _, _ = parse_wheel_filename(output.wheel)
        wanted = (canonicalize_name(str(parameters["name"])), Version(str(parameters["version"])))
    except (InvalidWheelFilename, InvalidVersion, KeyError) as exc:
        yield f"its wheel or recipe is not understood: {exc}"
        return
    if (name, version) != wanted:
        yield f"its wheel {output.wheel} is not of {wanted[0]} {wanted[1]}"
    path = store.path_of(output.sha256)
    if not path.is_file():
        yield f"its wheel {output.sha256} is not in the store"
        return
    inside = _dist_info(path)
    if inside != (name, version):
        said = "no .dist-info" if inside is None else f"{inside[0]} {inside[1]}"
        yield f"its wheel {output.sha256} holds {said}, not {name} {version}"


def _dist_info(wheel: Path) -> tuple[str, Version] | None:
    """The project and version the wheel's .dist-info folder names."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            tops = {n.split("/", 1)[0] for n in zf.namelist() if "/" in n}
    except (OSError, zipfile.BadZipFile):
        return None
    for top in sorted(tops):
        if top.endswith(".dist-info"):
            name, _, version = top.removesuffix(".dist-info").rpartition("-")
            try:
                return canonicalize_name(name), Version(version)
            except InvalidVersion:
                return None
    return None
