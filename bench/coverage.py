"""Coverage: build the newest releases of the most-downloaded native-code projects.

The corpus (bench/data/coverage-corpus.tsv) is chosen by a rule, not by hand: walk the
popular-projects list that ships with builder (most downloaded first) and keep each
project whose newest final, unyanked release has an sdist and at least one wheel with a
platform tag (compiled code), until there are COUNT of them.

Each project is then built as a user would: `builder recipe new NAME==VERSION`, then
`builder build RECIPE --rebuilds 1` (the default variations). One JSON result per project
goes to bench/data/coverage/ (the run resumes: a project with a result is skipped unless
--again); `table` writes docs/coverage.md from them, each failure with its class of cause.

    python3 bench/coverage.py select [--count 50]
    python3 bench/coverage.py run [--jobs N] [--only NAME ...] [--again] [--work DIR]
    python3 bench/coverage.py table

A project may carry what a user would add after reading the first failure
(bench/data/coverage-additions.toml: Debian -dev packages, given to `recipe new` as
--extra-package; `compiled = true`); the table says so where it did.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from builder.gate.typosquat import shipped_popular
from builder.index import Index, IndexFile
from builder.names import normalize

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CORPUS = BENCH / "data" / "coverage-corpus.tsv"
RESULTS = BENCH / "data" / "coverage"
ADDITIONS = BENCH / "data" / "coverage-additions.toml"
TABLE = REPO / "docs" / "coverage.md"


# -- choosing the corpus ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Release:
    rank: int
    name: str
    version: str
    sdist: str


def newest_native_release(files: Iterable[IndexFile]) -> tuple[str, str] | None:
    """(version, sdist file name) of the newest final, unyanked release that has an sdist
    and a compiled wheel; None when the newest such release has no compiled wheel."""
    sdists: dict[Version, str] = {}
    native: set[Version] = set()
    for f in files:
        if f.yanked:
            continue
        try:
            if f.filename.endswith(".whl"):
                _, version, _, tags = parse_wheel_filename(f.filename)
                if any(t.platform != "any" for t in tags):
                    native.add(version)
            else:
                _, version = parse_sdist_filename(f.filename)
                sdists[version] = f.filename
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
    finals = [v for v in sdists if not v.is_prerelease and not v.is_devrelease]
    if not finals:
        return None
    newest = max(finals)
    return (str(newest), sdists[newest]) if newest in native else None


def select(count: int) -> list[Release]:
    index = Index()
    chosen: list[Release] = []
    for rank, name in enumerate(shipped_popular(), start=1):
        try:
            found = newest_native_release(index.files(normalize(name)))
        except Exception as exc:  # an unreachable project is skipped, and said
            print(f"{name}: skipped ({exc})", file=sys.stderr)
            continue
        if found is not None:
            chosen.append(Release(rank, name, *found))
            print(f"{len(chosen):3} #{rank} {name} {found[0]}", file=sys.stderr)
            if len(chosen) == count:
                break
    return chosen


def write_corpus(releases: list[Release]) -> None:
    lines = [
        "# The most-downloaded PyPI projects whose newest release has an sdist and a compiled",
        "# wheel, in download order (bench/coverage.py select). rank: place in",
        "# builder/data/popular-pypi.txt.",
        "rank\tname\tversion\tsdist",
        *(f"{r.rank}\t{r.name}\t{r.version}\t{r.sdist}" for r in releases),
    ]
    CORPUS.write_text("\n".join(lines) + "\n")


def read_corpus() -> list[Release]:
    rows = [ln for ln in CORPUS.read_text().splitlines() if ln and not ln.startswith("#")]
    return [Release(int(r[0]), r[1], r[2], r[3]) for r in (ln.split("\t") for ln in rows[1:])]


# -- building --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    version: str
    kind: str
    result: str  # reproducible | differs | fails
    cause: str  # empty when reproducible
    seconds: float
    image: str
    additions: str  # what the recipe got beyond `recipe new`, or empty
    exit_code: int
    wheel: str = ""  # the wheel built, where one was


def kind_of(sdist: Path) -> str:
    """The compiled languages an sdist carries, by its members' suffixes."""
    suffixes = {
        ".rs": "Rust", ".pyx": "Cython", ".f": "Fortran", ".f90": "Fortran",
        ".cpp": "C++", ".cc": "C++", ".cxx": "C++", ".c": "C",
    }  # fmt: skip
    names: list[str] = []
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            names = zf.namelist()
    else:
        with tarfile.open(sdist) as tf:
            names = tf.getnames()
    counts = Counter(suffixes[s] for n in names if (s := Path(n).suffix.lower()) in suffixes)
    if counts["Cython"] and counts["C"]:
        counts["C"] = 0  # Cython's generated C is not the project's own language
    order = ["Rust", "Fortran", "Cython", "C++", "C"]
    found = [k for k in order if counts[k]]
    return ", ".join(found) if found else "none found"


def builder(*args: str, log: Path, timeout: int) -> tuple[int, str]:
    """Run the builder CLI; (exit code, its stderr) with stdout and stderr kept in `log`.
    Past `timeout` it is interrupted as Ctrl-C would (builder ends its sandboxes and
    cleans up), and killed only if it has not ended a minute later."""
    with log.open("a") as out:
        out.write(f"$ builder {' '.join(args)}\n")
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "builder", *args], stdout=out, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            err = f"{err}\nthe bench's time limit: timed out after {timeout} s\n"
            out.write(err)
            return -1, err
        out.write(err)
        return proc.returncode, err


def apply_additions(recipe: Path, additions: dict[str, Any]) -> str:
    """What a user adds after the first failure, or to get the compiled build PyPI ships:
    the image, Debian packages and environment opt-ins went to `recipe new` (--image,
    --extra-package, --env, which write them); `compiled = true` and PEP 517 config
    settings go into [build] here, a longer time limit into [limits]."""
    said = [f"extra-packages = {json.dumps(additions['extra-packages'])}"] if (
        "extra-packages" in additions) else []  # fmt: skip
    if image := additions.get("image"):
        said.append(f"image = {json.dumps(image)}")
    if env := additions.get("env"):
        said.append("env = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in env.items())
                    + " }")  # fmt: skip
    lines = []
    if additions.get("compiled"):
        lines.append("compiled = true")
    if settings := additions.get("config-settings"):
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in settings.items())
        lines.append(f"config-settings = {{ {pairs} }}")
    text = _add_to_table(recipe.read_text(), "build", lines)
    if limits := additions.get("limits"):
        pairs = [f"{k} = {json.dumps(v)}" for k, v in limits.items()]
        lines.append("limits = { " + ", ".join(pairs) + " }")
        text = _add_to_table(text, "limits", pairs)
    recipe.write_text(text)
    return "; ".join([*said, *lines])


def _add_to_table(text: str, table: str, lines: list[str]) -> str:
    """The recipe's text with `lines` at the top of [table] (the table added if need be)."""
    if not lines:
        return text
    header, body = f"[{table}]\n", "".join(f"{line}\n" for line in lines)
    return text.replace(header, header + body, 1) if header in text else f"{text}\n{header}{body}"


def build_one(release: Release, work: Path, timeout: int) -> Result:
    folder = work / release.name
    shutil.rmtree(folder, ignore_errors=True)  # --again: no wheel of an earlier run
    folder.mkdir(parents=True)
    log = folder / "coverage.log"
    log.write_text("")
    recipe = folder / f"{release.name}.toml"
    started = time.monotonic()
    spec = f"{release.name}=={release.version}"
    additions = additions_for(release.name)
    extra = [a for p in additions.get("extra-packages", []) for a in ("--extra-package", p)]
    extra += [a for k, v in additions.get("env", {}).items() for a in ("--env", f"{k}={v}")]
    extra += ["--image", additions["image"]] if "image" in additions else []
    code, err = builder("recipe", "new", spec, "--output", str(recipe), "--force", "--quiet",
                        *extra, log=log, timeout=timeout)  # fmt: skip
    image = added = ""
    kind = additions.get("kind", "")  # known where `recipe new` fails before the sdist is read
    if code == 0:
        parsed = tomllib.loads(recipe.read_text())
        image = parsed["build"]["image"]
        kind = additions.get("kind") or kind_of(sdist_path(parsed["sdist"]["sha256"]))
        added = apply_additions(recipe, additions)
        code, err = builder(
            "build", str(recipe), "--rebuilds", "1", "--dist", str(folder / "dist"),
            "--attestations", str(folder / "attestations"), "--no-attest", "--quiet",
            log=log, timeout=timeout,
        )  # fmt: skip
    seconds = round(time.monotonic() - started, 1)
    outcome, cause = classify(code, err, folder)
    wheels = sorted(p.name for p in (folder / "dist").glob("*.whl"))
    return Result(release.name, release.version, kind, outcome, cause, seconds, image, added,
                  code, wheels[0] if wheels else "")  # fmt: skip


def is_pure(wheel: str) -> bool:
    return all(t.platform == "any" for t in parse_wheel_filename(wheel)[3])


def sdist_path(sha256: str) -> Path:
    from builder.names import Sha256
    from builder.store import Store, default_store_root

    store_root = Path(os.environ.get("BUILDER_STORE", default_store_root()))
    return Store(store_root).path_of(Sha256(sha256))


def additions_for(name: str) -> dict[str, Any]:
    if not ADDITIONS.exists():
        return {}
    table = tomllib.loads(ADDITIONS.read_text()).get(name, {})
    return {k: v for k, v in table.items() if k not in ("why", "note")}


def note_for(name: str) -> str:
    """A diagnosed cause the table shows beside the result."""
    if not ADDITIONS.exists():
        return ""
    return str(tomllib.loads(ADDITIONS.read_text()).get(name, {}).get("note", ""))


# -- classifying -----------------------------------------------------------------------

# (pattern over the build's log and builder's stderr, class of cause); first match wins.
CAUSES: list[tuple[str, str]] = [
    (
        r"its Cargo.toml needs rustc ([\d.]+) or newer.*\n.*no image here has one",
        "its Cargo.toml needs rustc {0}, newer than any image's here",
    ),
    (
        r"cargo needs rustc|rustc [\d.]+ is not supported",
        "Rust toolchain older than the crates need",
    ),
    (r"fatal error: ([\w/.+-]+\.h): No such file", "missing system headers: {0}"),
    (
        r"failed to run custom build command for `([\w-]+-sys) ",
        "missing system library for the crate {0}",
    ),
    (
        r"Dependency \"?([\w.+-]+)\"? not found"
        r"|Package '?([\w.+-]+)'?,? (?:was not found|not found)",
        "missing system library: {0}",
    ),
    (
        r"unable to find library -l([\w.+-]+)|cannot find -l([\w.+-]+)"
        # CMake's error, not its warnings (an optional package it looked for first)
        r"|CMake Error at [^\n]*\n(?:[^\n]*\n){0,8}?[^\n]*Could not find a package "
        r'configuration file provided by "([\w.+-]+)"',
        "missing system library: {0}",
    ),
    (
        r"[Ff]ortran compiler|gfortran: (?:not found|No such file)",
        "no Fortran compiler in the image",
    ),
    (
        r"(?:cmake|CMake)(?:: not found| must be installed| is not installed)|No CMAKE_",
        "no CMake in the image",
    ),
    (r"no matching package named", "crates missing offline (no Cargo.lock?)"),
    (
        r"error: no matching function for call to [\u2018']([\w:]+)",
        "does not compile against the system library's API: {0}",
    ),
    (
        r"failed to select a version for the requirement `([\w-]+)",
        "its Cargo.lock pins a version of {0} the crate index does not serve",
    ),
    (
        r"Temporary failure in name resolution|Network is unreachable|Could not resolve host",
        "the build reaches for the network",
    ),
    (r"Killed signal terminated|out of memory|MemoryError|exceeded its memory", "out of memory"),
    (r"the bench's time limit: timed out after (\d+) s", "the bench's time limit ({0} s)"),
    (r"timed out after|time limit", "time limit"),
    (r"member '[^']+' appears more than once", "the sdist repeats a member (refused as ambiguous)"),
    (
        r"Dependency lookup for ([\w.+-]+) .*Invalid version",
        "a system library older than the build needs: {0}",
    ),
    (r"holds no compiled code", "fell back to pure Python"),
    (r"repair failed", "auditwheel repair failed"),
]


def classify(code: int, err: str, folder: Path) -> tuple[str, str]:
    if code == 0:
        return "reproducible", ""
    if code == 10:
        return "differs", difference_cause(folder)
    text = err + "\n" + build_log_tail(err)
    for pattern, label in CAUSES:
        if found := re.search(pattern, text):
            groups = [g for g in found.groups() if g]
            return "fails", label.format(*groups) if groups else label
    if code == 14:
        return "fails", "the gate refused the name"
    error = next((ln for ln in err.splitlines() if ln.startswith("error:")), "")
    return "fails", f"exit {code}: {error.removeprefix('error: ')[:160]}"


def build_log_tail(err: str, lines: int = 400) -> str:
    found = re.search(r"the full log is (\S+)", err)
    if not found or not Path(found.group(1)).exists():
        return ""
    return "\n".join(Path(found.group(1)).read_text(errors="replace").splitlines()[-lines:])


def difference_cause(folder: Path) -> str:
    """What differs between the build and its rebuild, from the rebuild report."""
    reports = sorted((folder / "dist").glob("*.rebuild.json"))
    if not reports:
        return "rebuild differs (no report)"
    report = json.loads(reports[-1].read_text())
    members: list[str] = []
    for diff in report.get("differences", []):
        for m in diff.get("members", []):
            if m.get("name", "").endswith("/RECORD"):
                continue
            members.append(f"{m.get('name')} ({m.get('category', m.get('kind', '?'))})")
    variations = ", ".join(report.get("variations", {}))
    return f"under {variations}: " + ("; ".join(members[:4]) or "RECORD only")


def reclassify(corpus: list[Release], work: Path) -> None:
    """The failures' causes again, from the logs a run kept (after CAUSES grew)."""
    for release in corpus:
        path = RESULTS / f"{release.name}.json"
        log = work / release.name / "coverage.log"
        if not path.exists() or not log.exists():
            continue
        result = Result(**json.loads(path.read_text()))
        if result.result != "fails":
            continue
        _, cause = classify(result.exit_code, log.read_text(errors="replace"), work / release.name)
        path.write_text(json.dumps(asdict(replace(result, cause=cause)), indent=1) + "\n")


# -- the table -------------------------------------------------------------------------


def write_table(corpus: list[Release]) -> None:
    results = {r.name: Result(**json.loads((RESULTS / f"{r.name}.json").read_text()))
               for r in corpus if (RESULTS / f"{r.name}.json").exists()}  # fmt: skip
    n = len(corpus)
    built = sum(r.result != "fails" for r in results.values())
    same = sum(r.result == "reproducible" for r in results.values())
    rows = []
    for rel in corpus:
        r = results.get(rel.name)
        if r is None:
            rows.append(f"| {rel.rank} | {rel.name} | {rel.version} | | not run yet | | |")
            continue
        result = {"reproducible": "reproducible", "differs": "builds, differs",
                  "fails": "fails"}[r.result]  # fmt: skip
        note = r.cause + (f" (recipe: {r.additions})" if r.additions else "")
        if diagnosed := note_for(rel.name):
            note = f"{note}. Why: {diagnosed}" if note else f"Why: {diagnosed}"
        if r.wheel and is_pure(r.wheel):
            note = "; ".join(filter(None, [note, f"pure wheel {r.wheel}: no compiled code"]))
        rows.append(f"| {rel.rank} | {rel.name} | {r.version} | {r.kind} | {result} | "
                    f"{note} | {r.seconds:.0f} s |")  # fmt: skip
    causes = Counter(r.cause.split(":")[0] for r in results.values() if r.result == "fails")
    pure = sorted(r.name for r in results.values() if r.wheel and is_pure(r.wheel))
    text = [
        "# Coverage: the most-downloaded native-code projects, built from source",
        "",
        "Generated by `python3 bench/coverage.py table` from the results of",
        "`python3 bench/coverage.py run` (bench/data/coverage/). The corpus",
        "(bench/data/coverage-corpus.tsv) is chosen by rule: the most-downloaded projects",
        "whose newest final release has an sdist and a compiled wheel. Each is built as a",
        "user would: `builder recipe new NAME==VERSION`, then `builder build RECIPE",
        "--rebuilds 1` under the default variations; a recipe addition, where one was",
        "needed, is shown (bench/data/coverage-additions.toml says why).",
        "",
        f"Run: {len(results)} of {n}. Builds: {built} of {n} ({100 * built / n:.0f}%); of "
        f"those run, {built} of {len(results)} ({100 * built / max(len(results), 1):.0f}%). "
        f"Rebuild bit-for-bit: {same} of {n} ({100 * same / n:.0f}%); of those run, {same} "
        f"of {len(results)} ({100 * same / max(len(results), 1):.0f}%).",
        "",
        "Failures by class: "
        + (", ".join(f"{c} ({k})" for c, k in causes.most_common()) or "none"),
        "",
        f"Of those built, {len(pure)} gave a wheel without compiled code, as upstream's for "
        "this Python is (its compiled wheels are for another): "
        f"{', '.join(pure) or 'none'}. Where upstream has compiled wheels for this Python, "
        "recipe new writes compiled = true, and a build that falls back to pure Python "
        "fails (the sdist compiles only with an opt-in, or a library Debian lacks).",
        "",
        "| rank | project | version | kind | result | cause | time |",
        "| ---: | --- | --- | --- | --- | --- | ---: |",
        *rows,
    ]
    TABLE.write_text("\n".join(text) + "\n")


# -- the command line ------------------------------------------------------------------


INTERRUPTED = 130  # builder's exit status after Ctrl-C (docs/cli.md)


def run(corpus: list[Release], jobs: int, work: Path, timeout: int, again: bool) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    todo = [r for r in corpus if again or not (RESULTS / f"{r.name}.json").exists()]
    print(f"{len(todo)} of {len(corpus)} to build, {jobs} at once", file=sys.stderr)

    def one(release: Release) -> None:
        result = build_one(release, work, timeout)
        if result.exit_code == INTERRUPTED:  # Ctrl-C is not a result: keep the last one
            print(f"{release.name} {release.version}: interrupted, nothing recorded",
                  file=sys.stderr, flush=True)  # fmt: skip
            return
        path = RESULTS / f"{release.name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(result), indent=1) + "\n")
        tmp.replace(path)
        print(f"{release.name} {release.version}: {result.result} {result.cause} "
              f"({result.seconds:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, todo))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("select")
    s.add_argument("--count", type=int, default=50)
    r = sub.add_parser("run")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--only", nargs="*", default=None, help="these projects, in this order")
    r.add_argument("--again", action="store_true")
    r.add_argument("--timeout", type=int, default=3600, help="per command, seconds")
    r.add_argument("--work", type=Path, default=Path.home() / ".cache" / "builder-coverage")
    c = sub.add_parser("classify", help="classify the failures again from their logs")
    c.add_argument("--work", type=Path, default=Path.home() / ".cache" / "builder-coverage")
    sub.add_parser("table")
    args = p.parse_args()
    if args.command == "select":
        write_corpus(select(args.count))
        return 0
    corpus = read_corpus()
    if args.command == "classify":
        reclassify(corpus, args.work)
    if args.command == "run":
        by_name = {c.name: c for c in corpus}
        chosen = corpus if args.only is None else [by_name[n] for n in args.only]  # in order
        run(chosen, args.jobs, args.work, args.timeout, args.again)
    write_table(corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
