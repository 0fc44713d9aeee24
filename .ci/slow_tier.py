"""CI's result from the slow tier's JUnit report and pytest's exit status: a failure or an
error fails; a run cut at the deadline (SIGINT: pytest exits 2; timeout 124) passes if
nothing that ran failed, and says which test files did not run. Standard library only."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SLOW = Path(__file__).resolve().parent.parent / "tests" / "container" / "slow"


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
    if status in (2, 124, 130):
        left = sorted(p.name for p in SLOW.glob("test_*.py") if p.stem not in ran)
        print(
            "ci: the slow tier was cut at CI's deadline; nothing that ran failed; not run or "
            f"not finished: {', '.join(left) or 'none'} (`python3 -m pytest -m slow` runs them)"
        )
        return 0
    print(f"ci: the slow tier ended with pytest status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
