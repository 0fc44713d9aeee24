"""Owners of what runs leave behind: a process of this boot that is gone, or not."""

from __future__ import annotations

import subprocess
from dataclasses import replace

from builder import owner
from builder.store import Store


def _dead_owner() -> owner.Owner:
    """The owner token of a real process that has since exited."""
    proc = subprocess.Popen(["sleep", "30"])
    try:
        start = owner._start_time(proc.pid)
        assert start is not None
    finally:
        proc.kill()
        proc.wait()
    return owner.Owner(boot=owner.current().boot, pid=proc.pid, start=start)


def test_this_process_is_not_gone_and_a_dead_one_is() -> None:
    me = owner.current()
    assert not me.gone()
    assert owner.Owner.find(f"build-{me.token}-x1y2") == me
    assert _dead_owner().gone()
    assert replace(me, start=me.start + 1).gone(), "a recycled pid is not the owner"


def test_what_another_boot_or_machine_left_is_never_taken_for_dead() -> None:
    other = replace(_dead_owner(), boot="ffffffff" if owner.current().boot != "ffffffff" else "0")
    assert not other.gone()


def test_the_store_removes_only_the_scratch_files_of_dead_runs(store: Store) -> None:
    dead = _dead_owner()
    left = store.root / "tmp" / f"build-{dead.token}-abc"
    (left / "inputs" / "sdist").mkdir(parents=True)
    (left / "inputs" / "sdist" / "x.tar.gz").write_bytes(b"x")
    (left / "inputs").chmod(0o555)  # as staged: read-only folders
    with store.temp_dir("build-") as mine:
        other_boot = store.root / "tmp" / f"obj-{replace(dead, boot='0' * 8).token}-z.tmp"
        other_boot.write_bytes(b"")
        removed = store.reap_leftovers()
        assert removed == [f"{left} (builder pid {dead.pid})"]
        assert not left.exists() and mine.is_dir() and other_boot.exists()
