"""Publishing into a static index: time per wheel, and whether adding a wheel grows with
the index.

Makes N small signed wheels (synthetic, pure Python, one per project), publishes them one
by one into an empty index (the time per wheel, verification included, and the part that
is the index's own work), then times adding a wheel to that index of N projects against
adding one to an index of 10, alternately: a new version of a known project (its two
pages are rewritten, nothing else) and a new project (the root pages too, which list every
project). The ratios say whether the work grows with the index.

    python3 bench/publish.py [--wheels 1000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder.provenance.bundle import attest, bundle_path  # noqa: E402
from builder.provenance.signing import load_public_key, load_signer, new_key  # noqa: E402
from builder.provenance.verify import verify  # noqa: E402
from builder.publish.static import StaticIndex  # noqa: E402
from tests.local.conftest import make_wheel  # noqa: E402
from tests.unit.conftest import record_for  # noqa: E402


def signed_wheels(folder: Path, count: int, prefix: str) -> list[Path]:
    pair = new_key(folder / "key.pem")
    signer = load_signer(pair.private)
    wheels = []
    for i in range(count):
        wheel = make_wheel(folder, f"{prefix}{i:05}", "1.0", who="bench")
        attest(wheel, record_for(wheel), None, signer=signer, folder=folder)
        wheels.append(wheel)
    return wheels


def publish_all(index: StaticIndex, wheels: list[Path], key_file: Path) -> tuple[float, float]:
    """(seconds verifying, seconds in the index) for publishing `wheels` one by one."""
    key = load_public_key(key_file)
    verifying = adding = 0.0
    with index.locked():
        for wheel in wheels:
            bundle = bundle_path(wheel.parent, wheel.name)
            started = time.perf_counter()
            verify(wheel, bundle, key).raise_for_failures()
            checked = time.perf_counter()
            index.add(wheel, bundle)
            adding += time.perf_counter() - checked
            verifying += checked - started
    return verifying, adding


def add_one(index: StaticIndex, wheel: Path) -> float:
    started = time.perf_counter()
    with index.locked():
        index.add(wheel, bundle_path(wheel.parent, wheel.name))
    return time.perf_counter() - started


def versions(folder: Path, name: str, count: int) -> list[Path]:
    """New versions of a project that is in the index already."""
    signer = load_signer(new_key(folder / "key.pem").private)
    wheels = []
    for i in range(count):
        wheel = make_wheel(folder, name, f"2.{i}", who="bench")
        attest(wheel, record_for(wheel), None, signer=signer, folder=folder)
        wheels.append(wheel)
    return wheels


def interleaved(big: StaticIndex, small: StaticIndex, wheels: list[Path]) -> tuple[float, float]:
    """Median ms of adding to each index, alternately, so that drift hits both alike."""
    into_big = [add_one(big, w) for w in wheels[0::2]]
    into_small = [add_one(small, w) for w in wheels[1::2]]
    return statistics.median(into_big) * 1000, statistics.median(into_small) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    n = args.wheels
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        many = signed_wheels(root / "many", n, "benchpkg")
        key_file = root / "many" / "key.pub.json"
        big, small = StaticIndex(root / "big"), StaticIndex(root / "small")
        verifying, adding = publish_all(big, many, key_file)
        publish_all(small, many[:10], key_file)
        new_projects = interleaved(big, small, signed_wheels(root / "new", 2 * args.repeat, "new"))
        new_versions = interleaved(
            big, small, versions(root / "versions", "benchpkg00000", 2 * args.repeat)
        )
    print(f"published {n} wheels one by one: {1000 * (verifying + adding) / n:.2f} ms per wheel")
    print(f"  verifying (signature, subject):  {1000 * verifying / n:.2f} ms per wheel")
    print(f"  the index's own work:            {1000 * adding / n:.2f} ms per wheel")
    print(f"median of {args.repeat}, index of {n} projects vs index of 10:")
    for what, (big_ms, small_ms) in (("a new project", new_projects),
                                     ("a new version", new_versions)):  # fmt: skip
        print(f"  {what:14} {big_ms:7.2f} ms vs {small_ms:7.2f} ms: ratio {big_ms / small_ms:.2f}")


if __name__ == "__main__":
    main()
