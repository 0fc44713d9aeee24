"""Which builder process owns a container, a sandbox's cgroup or a folder in the store's
tmp/, and whether that process still runs.

Everything a run makes outside its own process is named or labelled with its owner: this
machine's boot id, the pid and the pid's start time (so a recycled pid is not mistaken for
the owner). A later builder removes what belongs to an owner of this boot that is gone
(killed by SIGKILL, the OOM killer, a CI time-out) and says so. What another machine or an
earlier boot made is left alone: whether its owner runs cannot be told from here.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_TOKEN = re.compile(r"(?P<boot>[0-9a-f]{8})\.(?P<pid>\d+)\.(?P<start>\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Owner:
    boot: str
    pid: int
    start: int

    @property
    def token(self) -> str:
        """A short name part: `<boot id prefix>.<pid>.<start time>`."""
        return f"{self.boot}.{self.pid}.{self.start}"

    @classmethod
    def find(cls, text: str) -> Owner | None:
        """The owner named in `text` (a label, a folder name), if any."""
        match = _TOKEN.search(text)
        if match is None:
            return None
        return cls(boot=match["boot"], pid=int(match["pid"]), start=int(match["start"]))

    def on_this_boot(self) -> bool:
        return self.boot == _boot_id()

    def gone(self) -> bool:
        """True only when this boot's process is known not to run any more."""
        return self.on_this_boot() and _start_time(self.pid) != self.start


def current() -> Owner:
    """This process (computed each time: a forked child is an owner of its own)."""
    pid = os.getpid()
    return Owner(boot=_boot_id(), pid=pid, start=_start_time(pid) or 0)


@functools.cache
def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip().replace("-", "")[:8]
    except OSError:
        return "00000000"


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (field 22 of /proc/PID/stat);
    None when it does not run: no such process, or a zombie (killed, not yet waited for
    by its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])
