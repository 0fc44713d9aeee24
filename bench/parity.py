"""Parity: builder's wheels against upstream's wheels of the same version, at run time.

For each package of bench/data/parity.toml (one or more of each kind: setuptools C, C++,
Cython, meson, CMake, Rust, numpy with its BLAS), as a user would:
`builder recipe new NAME==VERSION` (plus what the data file adds: an extra Debian package,
meson's BLAS options), then `builder build` (a warm store makes it a cache hit). Upstream's
wheel comes from the configured index (pip download, for the image's Python).

Then, in one container of the build image (same Python, network off, the same thread
count for both: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS), two venvs: builder's wheel in one,
upstream's in the other, runtime dependencies from upstream in both. Each workload runs
best of --repeat, the two venvs alternating round by round, each round a fresh process
timing the same number of loops. Prints built/upstream per workload, the median per
package, and the median and worst over all; targets: every workload <= 1.10, median <=
1.05.

    python3 bench/parity.py [--only NAME ...] [--skip NAME ...] [--repeat 5]
                            [--threads 2] [--work DIR] [--json FILE] [--build-only]
                            [--wheel NAME=FILE ...]

`--wheel NAME=FILE` takes builder's wheel of NAME from a build made elsewhere (a graph
build's dist: the ML stack's or the closure's scipy) instead of building it here; its
version must be the data file's.

The build log of each package is in WORK/logs/; --json writes every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.images import docker_image
from builder.store import Store, default_store_root

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data" / "parity.toml"
IMAGE = "trixie-py"
PYTHON = ("3.13", "cp313")  # the image's
GLIBC = 41  # the image's glibc minor: upstream wheels it could install
TARGET_EACH, TARGET_MEDIAN = 1.10, 1.05


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    kind: str
    setup: str
    workloads: dict[str, str]
    recipe: dict[str, Any] = field(default_factory=dict)
    deps: tuple[str, ...] = ()


def load_packages(path: Path = DATA) -> list[Package]:
    data = tomllib.loads(path.read_text())
    return [_package(name, p) for name, p in data.items()]


def _package(name: str, p: dict[str, Any]) -> Package:
    return Package(
        name=name, version=p["version"], kind=p["kind"], setup=p["setup"],
        workloads=dict(p["workloads"]), recipe=dict(p.get("recipe", {})),
        deps=tuple(p.get("deps", ())),
    )  # fmt: skip


def builder(*argv: str, log: Path) -> subprocess.CompletedProcess[str]:
    with log.open("a") as out:
        return subprocess.run(
            [sys.executable, "-m", "builder", *argv],
            stdout=subprocess.PIPE, stderr=out, text=True, check=False,
        )  # fmt: skip


def recipe_for(pkg: Package, work: Path, log: Path) -> Path:
    """`recipe new`, then what the data file adds (kept: a second run reuses it)."""
    path = work / "recipes" / f"{pkg.name}.toml"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = [a for p in pkg.recipe.get("extra-packages", ()) for a in ("--extra-package", p)]
    env = [a for k, v in pkg.recipe.get("env", {}).items() for a in ("--env", f"{k}={v}")]
    image = ["--image", pkg.recipe["image"]] if "image" in pkg.recipe else []
    done = builder("recipe", "new", f"{pkg.name}=={pkg.version}", "-o", str(path), "-q",
                   *extra, *env, *image, log=log)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"recipe new {pkg.name}: exit {done.returncode} (see {log})")
    doc = tomlkit.parse(path.read_text())
    for key in ("config-settings", "compiled"):
        if key in pkg.recipe:
            doc["build"][key] = pkg.recipe[key]
    if "limits" in pkg.recipe:
        doc["limits"] = pkg.recipe["limits"]
    path.write_text(tomlkit.dumps(doc))
    return path


def built_wheel(recipe: Path, work: Path, log: Path) -> Path:
    dist = work / "dist"
    done = builder("build", str(recipe), "--no-attest", "--dist", str(dist), "-q", "--json",
                   log=log)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"build {recipe.stem}: exit {done.returncode} (see {log})")
    return Path(json.loads(done.stdout)["wheel"])


def given_wheels(pairs: list[str], packages: list[Package]) -> dict[str, Path]:
    """NAME=FILE pairs: builder's wheels built elsewhere, each of the data file's version."""
    versions = {p.name: p.version for p in packages}
    given = {}
    for pair in pairs:
        name, _, file = pair.partition("=")
        wheel = Path(file).resolve()
        _, version, _, _ = parse_wheel_filename(wheel.name)
        if name not in versions or str(version) != versions[name] or not wheel.is_file():
            raise SystemExit(f"--wheel {pair}: not a wheel of {name} {versions.get(name)} "
                             "among the packages chosen")  # fmt: skip
        given[name] = wheel
    return given


def download(requirement: str, folder: Path) -> Path:
    """Upstream's wheel for the image's Python and glibc, from the configured index."""
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(GLIBC, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
         "--python-version", PYTHON[0], "--implementation", "cp", "--abi", PYTHON[1],
         "--abi", "abi3", "--abi", "none", *(a for p in platforms for a in ("--platform", p)),
         "-d", str(folder), requirement],
        check=True,
    )  # fmt: skip
    wanted = Requirement(requirement)
    (wheel,) = [
        w for w in folder.glob("*.whl")
        if parse_wheel_filename(w.name)[0] == canonicalize_name(wanted.name)
        and parse_wheel_filename(w.name)[1] in wanted.specifier
    ]  # fmt: skip
    return wheel


# What runs in the container (the image's python3, standard library only): make the two
# venvs, then time each workload, alternating venvs round by round.
RUNNER = r"""
import json, os, subprocess, sys, venv
spec = json.load(open("/bench/spec.json"))
TIMER = '''
import sys, time
ns = {}
exec(sys.argv[1], ns)
stmt = compile(sys.argv[2], "<workload>", "exec")
n = int(sys.argv[3])
if n == 0:  # find a loop count that takes >= 0.2 s
    n = 1
    while True:
        t = time.perf_counter(); [exec(stmt, ns) for _ in range(n)]; t = time.perf_counter() - t
        if t >= 0.2: break
        n *= 2 if t > 0.05 else 10
    print(n); sys.exit()
exec(stmt, ns)  # warm
t = time.perf_counter()
for _ in range(n): exec(stmt, ns)
print((time.perf_counter() - t) / n)
'''
def make(side, wheels):
    path = f"/tmp/{side}"
    venv.create(path, with_pip=True)
    subprocess.run([f"{path}/bin/python", "-m", "pip", "install", "-q", "--no-index",
                    "--disable-pip-version-check", "--no-deps", *wheels], check=True)
    return f"{path}/bin/python"
for pkg in spec["packages"]:
    pythons = {side: make(f"{pkg['name']}-{side}", pkg["wheels"][side])
               for side in ("built", "upstream")}
    for name, stmt in pkg["workloads"].items():
        def run(side, n):
            out = subprocess.run([pythons[side], "-c", TIMER, pkg["setup"], stmt, str(n)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"{pkg['name']} {name} ({side}): {out.stderr[-2000:]}")
            return float(out.stdout)
        n = int(run("upstream", 0))
        times = {"built": [], "upstream": []}
        for r in range(spec["repeat"]):
            order = ("built", "upstream") if r % 2 == 0 else ("upstream", "built")
            for side in order:
                times[side].append(run(side, n))
        print(json.dumps({"package": pkg["name"], "workload": name, "loops": n,
                          **{s: min(t) for s, t in times.items()}}), flush=True)
"""


def run_in_image(reference: str, spec: dict[str, Any], wheels: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        folder = Path(tmp)
        (folder / "spec.json").write_text(json.dumps(spec))
        (folder / "runner.py").write_text(RUNNER)
        folder.chmod(0o755)
        threads = str(spec["threads"])
        argv = [
            "docker", "run", "--rm", "--network", "none", "--user", "1000:1000",
            "--tmpfs", "/tmp:rw,exec,size=8g", "-e", "HOME=/tmp",
            "-e", f"OPENBLAS_NUM_THREADS={threads}", "-e", f"OMP_NUM_THREADS={threads}",
            "-v", f"{folder}:/bench:ro", "-v", f"{wheels}:/wheels:ro",
            reference, "python3", "/bench/runner.py",
        ]  # fmt: skip
        results = []
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                result = json.loads(line)
                result["ratio"] = result["built"] / result["upstream"]
                print(f"  {result['package']:<12} {result['workload']:<15} "
                      f"built {result['built'] * 1e3:9.3f} ms  upstream "
                      f"{result['upstream'] * 1e3:9.3f} ms  ratio {result['ratio']:.2f}",
                      flush=True)  # fmt: skip
                results.append(result)
        if proc.returncode != 0:
            raise RuntimeError(f"the timing run failed (exit {proc.returncode})")
        return results


def summary(packages: list[Package], results: list[dict[str, Any]]) -> bool:
    print("\npackage       kind                                   median  worst")
    for pkg in packages:
        ratios = [r["ratio"] for r in results if r["package"] == pkg.name]
        if ratios:
            print(f"{pkg.name:<13} {pkg.kind:<38} {statistics.median(ratios):6.2f} "
                  f"{max(ratios):6.2f}")  # fmt: skip
    ratios = [r["ratio"] for r in results]
    median, worst = statistics.median(ratios), max(ratios)
    over = [f"{r['package']} {r['workload']} {r['ratio']:.2f}" for r in results
            if r["ratio"] > TARGET_EACH]  # fmt: skip
    print(f"\nall {len(ratios)} workloads: median {median:.2f} (target <= {TARGET_MEDIAN}), "
          f"worst {worst:.2f} (target <= {TARGET_EACH})")  # fmt: skip
    print("over the target: " + ("; ".join(over) if over else "none"))
    return median <= TARGET_MEDIAN and not over


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "parity")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--wheel", nargs="*", default=[], metavar="NAME=FILE",
                        help="builder's wheel of NAME from a build made elsewhere")  # fmt: skip
    parser.add_argument("--build-only", action="store_true",
                        help="build (or take from the store) and fetch, time nothing")  # fmt: skip
    args = parser.parse_args(argv)
    packages = [p for p in load_packages()
                if (not args.only or p.name in args.only) and p.name not in args.skip]  # fmt: skip
    work: Path = args.work.resolve()
    given = given_wheels(args.wheel, packages)
    wheels = work / "wheels"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    specs: list[dict[str, Any]] = []
    for pkg in packages:
        log = work / "logs" / f"{pkg.name}.log"
        print(f"==> {pkg.name} {pkg.version} ({pkg.kind})", flush=True)
        ours = given.get(pkg.name) or built_wheel(recipe_for(pkg, work, log), work, log)
        side = wheels / pkg.name
        (side / "built").mkdir(parents=True, exist_ok=True)
        (side / "built" / ours.name).write_bytes(ours.read_bytes())
        theirs = download(f"{pkg.name}=={pkg.version}", side / "upstream")
        deps = [download(d, wheels / "deps") for d in pkg.deps]
        container = f"/wheels/{pkg.name}"
        specs.append({
            "name": pkg.name, "setup": pkg.setup, "workloads": pkg.workloads,
            "wheels": {
                "built": [f"{container}/built/{ours.name}",
                          *(f"/wheels/deps/{d.name}" for d in deps)],
                "upstream": [f"{container}/upstream/{theirs.name}",
                             *(f"/wheels/deps/{d.name}" for d in deps)],
            },
        })  # fmt: skip
    if args.build_only:
        return 0
    reference = docker_image(IMAGE, Store(default_store_root()))
    print(f"==> timing in {reference}: best of {args.repeat}, {args.threads} threads",
          flush=True)  # fmt: skip
    spec = {"packages": specs, "repeat": args.repeat, "threads": args.threads}
    results = run_in_image(reference, spec, wheels)
    ok = summary(packages, results)
    if args.json:
        figures = {
            "measured_on": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "image": reference, "threads": args.threads, "repeat": args.repeat,
            "packages": {s["name"]: {"version": p.version, "kind": p.kind,
                                     "wheels": {k: Path(v[0]).name for k, v in s["wheels"].items()}}
                         for s, p in zip(specs, packages, strict=True)},
            "results": results,
        }  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
