"""Start-up of `builder check` for one name, against the interpreter's own start-up.

The gate sits in front of every resolution, so one name at the command line must cost
little more than starting Python: measured in the same run, as the median of N runs each,
with byte code written once first (as a regular install has it).

    python3 bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def median_s(argv: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=False)  # byte code, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    python = median_s([sys.executable, "-c", "pass"], args.runs, env)
    check = median_s([sys.executable, "-m", "builder", "check", "--name", "requests"],
                     args.runs, env)  # fmt: skip
    typo = median_s([sys.executable, "-m", "builder", "check", "--name", "reqeusts"],
                    args.runs, env)  # fmt: skip
    print(f"python3 -c pass:                     {python:.3f} s")
    print(f"builder check --name requests:       {check:.3f} s ({check / python:.1f}x python)")
    print(f"builder check --name reqeusts (hit): {typo:.3f} s ({typo / python:.1f}x python)")
    print(f"builder's own share: {check - python:.3f} s (target: total under 0.3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
