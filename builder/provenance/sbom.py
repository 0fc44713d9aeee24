"""A CycloneDX SBOM of a built wheel, made with cyclonedx-python-lib.

It lists what is inside the wheel (Python files, compiled modules, libraries auditwheel
grafted in, each by sha256) and what went into the compiled code that the wheel cannot
show: for Rust wheels, the crates of the sdist's Cargo.lock, each by its checksum.
Deterministic: the serial number and timestamp derive from the wheel and the record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from builder.wheelbuild.record import BuildRecord

COMPILED = (".so", ".pyd", ".dylib")


def _sha256(data: bytes) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=hashlib.sha256(data).hexdigest())


def _kind(member: str) -> str | None:
    top = member.split("/", 1)[0]
    if top.endswith(".libs") and "/" in member:
        return "grafted-library"
    if member.endswith(COMPILED) or ".so." in member.rsplit("/", 1)[-1]:
        return "compiled-module"
    if member.endswith((".py", ".pyi")):
        return "python"
    return None


def _file_components(wheel: Path) -> list[Component]:
    components = []
    with zipfile.ZipFile(wheel) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            kind = _kind(info.filename)
            if kind is None or info.is_dir():
                continue
            components.append(
                Component(
                    name=info.filename,
                    type=ComponentType.LIBRARY if kind == "grafted-library" else ComponentType.FILE,
                    hashes=[_sha256(zf.read(info))],
                    properties=[Property(name="builder:kind", value=kind)],
                    bom_ref=BomRef(f"file:{info.filename}"),
                )
            )
    return components


def _crate_components(record: BuildRecord) -> list[Component]:
    return [
        Component(
            name=c.name,
            version=c.version,
            type=ComponentType.LIBRARY,
            purl=PackageURL("cargo", None, c.name, c.version),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=c.sha256)],
            properties=[Property(name="builder:kind", value="crate-from-cargo-lock")],
            bom_ref=BomRef(f"pkg:cargo/{c.name}@{c.version}"),
        )
        for c in record.inputs.crates
    ]


def wheel_sbom(wheel: Path, record: BuildRecord) -> dict[str, Any]:
    sdist, output = record.inputs.sdist, record.output
    purl = PackageURL("pypi", None, sdist.name, sdist.version)
    root = Component(
        name=sdist.name,
        version=sdist.version,
        type=ComponentType.LIBRARY,
        purl=purl,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=output.sha256)],
        properties=[Property(name="builder:wheel", value=output.wheel)],
        bom_ref=BomRef(str(purl)),
    )
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"sha256:{output.sha256}"))
    bom.metadata.component = root
    bom.metadata.timestamp = dt.datetime.fromisoformat(record.finished_on)
    parts = [*_file_components(wheel), *_crate_components(record)]
    bom.components.update(parts)
    # What Bom.register_dependency(root, parts) makes, without its scan of the graph per
    # part (quadratic: seconds for a wheel of thousands of files, at each cache hit).
    bom.dependencies.update([
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=p.bom_ref) for p in parts]),
        *(Dependency(ref=p.bom_ref) for p in parts),
    ])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns about optional fields
        data: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    return data
