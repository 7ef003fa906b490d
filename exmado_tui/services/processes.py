"""Processes seen through /proc (Linux): alive or not, found by environment, stopped in steps."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

POLL_S = 0.2
KILL_WAIT_S = 5


def alive(pid: int | None) -> bool:
    """Running and not a zombie (a container's init may never reap an orphan)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    """Poll `check` until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(POLL_S)
    return False


def wait_gone(pids: Iterable[int | None], seconds: float) -> bool:
    watched = list(pids)
    return wait_for(lambda: not any(alive(pid) for pid in watched), seconds)


def command_line(pid: int) -> list[str]:
    """argv of `pid`, empty when it cannot be read."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
    return [os.fsdecode(arg) for arg in argv if arg]


def working_folder(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def with_environment(entry: str) -> list[int]:
    """Live processes whose environment holds `entry` (`NAME=value`) exactly."""
    wanted, found = entry.encode(), []
    for folder in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if wanted in (folder / "environ").read_bytes().split(b"\0"):
                found.append(int(folder.name))
    return [pid for pid in found if alive(pid)]


def signal_all(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def stop(pids: list[int], grace_s: float) -> None:
    """SIGTERM, then SIGKILL what is still there after `grace_s`."""
    signal_all(pids, signal.SIGTERM)
    if not wait_gone(pids, grace_s):
        signal_all(pids, signal.SIGKILL)
        wait_gone(pids, KILL_WAIT_S)
