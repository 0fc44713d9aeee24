"""The slow tier's files in the order CI runs them (`order`: cheapest first, any file not
listed here before the ML stack, which is last), and CI's result from its JUnit report
and the exit status of `timeout ... pytest`: a failure or an error fails; a run cut at
the deadline (timeout's 124, or 137 after its SIGKILL) passes if nothing that ran
failed, and says which files did not finish. Standard library only."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SLOW = Path(__file__).resolve().parent.parent / "tests" / "container" / "slow"
CHEAPEST = ("test_reference_recipes.py", "test_extra_packages.py", "test_two_pythons.py")
LAST = "test_ml_stack.py"
TIMED_OUT = (124, 137)


def order() -> list[str]:
    files = sorted(p.name for p in SLOW.glob("test_*.py"))
    rest = [f for f in files if f not in CHEAPEST and f != LAST]
    chosen = [*(f for f in CHEAPEST if f in files), *rest, *([LAST] if LAST in files else [])]
    return [str(SLOW.relative_to(SLOW.parent.parent.parent) / f) for f in chosen]


def main(report: str, status: int) -> int:
    try:
        suite = ET.parse(report).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"ci: the slow tier left no readable report ({exc}); pytest exited {status}")
        return status or 1
    ran, bad = set(), []
    for case in suite.iter("testcase"):
        module = str(case.get("classname", "")).rsplit(".", 1)[-1]
        ran.add(module)
        if case.find("failure") is not None or case.find("error") is not None:
            bad.append(f"{module}::{case.get('name')}")
    if bad:
        print(f"ci: the slow tier failed: {', '.join(bad)}")
        return 1
    if status in (0, 5):
        print(f"ci: the slow tier passed ({', '.join(sorted(ran))})")
        return 0
    if status in TIMED_OUT:
        left = sorted(p.name for p in SLOW.glob("test_*.py") if p.stem not in ran)
        print(
            "ci: the slow tier was cut at CI's deadline; nothing that ran failed; not run or "
            f"not finished: {', '.join(left) or 'none'} (`python3 -m pytest -m slow` runs them)"
        )
        return 0
    print(f"ci: the slow tier ended with pytest status {status}")
    return status


if __name__ == "__main__":
    if sys.argv[1:] == ["order"]:
        print(" ".join(order()))
        sys.exit(0)
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
