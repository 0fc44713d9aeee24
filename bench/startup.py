"""Start-up of `builder check` for one name, against the interpreter's own start-up.

The gate sits in front of every resolution, so one name at the command line must cost
little more than starting Python: measured in the same run, as the median of N runs each,
with byte code written once first (as a regular install has it).

    python3 bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def median_s(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of `runs` runs: on a busy
    machine the CPU time is what the run would take alone."""
    subprocess.run(argv, env=env, capture_output=True, check=False)  # byte code, caches
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    python = median_s([sys.executable, "-c", "pass"], args.runs, env)
    check = median_s([sys.executable, "-m", "builder", "check", "--name", "requests", "--offline"],
                     args.runs, env)  # fmt: skip
    typo = median_s([sys.executable, "-m", "builder", "check", "--name", "reqeusts", "--offline"],
                    args.runs, env)  # fmt: skip
    for label, (wall, cpu) in (
        ("python3 -c pass", python),
        ("builder check --name requests --offline", check),
        ("builder check --name reqeusts --offline (a hit)", typo),
    ):
        print(f"{label:48} wall {wall:.3f} s, cpu {cpu:.3f} s "
              f"({cpu / python[1]:.1f}x python's cpu)")  # fmt: skip
    print("target: under 0.3 s for one name (wall on an idle machine; cpu time on a busy one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
