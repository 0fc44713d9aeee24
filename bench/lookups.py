"""The gate's look-ups on the index: a list's flagged names one after the other, against
LOOK_UPS at once (builder/gate/check.py), in the same run.

A JSON index (PEP 691, PEP 700 upload times) on 127.0.0.1 answers every project page
after a fixed delay, as a distant index would; the gate checks a list of flagged names
(popular names with a letter added, and with a word) with its policy's defaults, first
with one look-up at a time, then as it runs.

    python3 bench/lookups.py [--names 60] [--delay-ms 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from builder.gate import check
from builder.gate.policy import GatePolicy
from builder.gate.typosquat import shipped_popular


class SlowIndex(BaseHTTPRequestHandler):
    """Every project exists, first uploaded three days ago, with one release."""

    delay_s: ClassVar[float] = 0.1

    def do_GET(self) -> None:
        time.sleep(self.delay_s)  # the network's round trip
        name = self.path.strip("/").split("/")[-1]
        when = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        page = {
            "meta": {"api-version": "1.1"}, "name": name, "versions": ["1.0"],
            "files": [{"filename": f"{name.replace('-', '_')}-1.0-py3-none-any.whl",
                       "url": f"../../files/{name}.whl", "hashes": {"sha256": "0" * 64},
                       "upload-time": when}],
        }  # fmt: skip
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def timed(names: list[str], at_once: int) -> tuple[float, int]:
    """Seconds to check `names` with `at_once` look-ups at a time, and the issues found."""
    check.LOOK_UPS = at_once
    gate = check.Gate(GatePolicy())
    started = time.perf_counter()
    issues = gate.check(names)
    return time.perf_counter() - started, len(issues)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=60)
    parser.add_argument("--delay-ms", type=int, default=100)
    args = parser.parse_args()
    SlowIndex.delay_s = args.delay_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["BUILDER_INDEX_URL"] = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    popular = [p for p in shipped_popular()[:1000] if len(p) >= 6]
    half = args.names // 2
    names = [p + "x" for p in popular[:half]] + [p + "-beta" for p in popular[half : args.names]]
    at_once = check.LOOK_UPS
    try:
        timed(names[:2], 1)  # imports and first connections, out of both figures
        alone, found = timed(names, 1)
        together, found_together = timed(names, at_once)
    finally:
        server.shutdown()
        server.server_close()
    print(f"{len(names)} flagged names, index delay {args.delay_ms} ms: one at a time "
          f"{alone:.2f} s, {at_once} at once {together:.2f} s, ratio {alone / together:.1f} "
          f"({found} and {found_together} issues)")  # fmt: skip
    return 0 if found == found_together else 1


if __name__ == "__main__":
    sys.exit(main())
