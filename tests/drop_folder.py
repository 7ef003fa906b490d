"""A drop folder on a manual clock, for tests that drive its ticks themselves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from exmado_tui.config.settings import Settings
from exmado_tui.dropfolder.watch import DropFolder, Outcome
from exmado_tui.job.service import JobService
from exmado_tui.store.models import Job
from tests.clocks import ManualClock


def prepared_folder(store: Settings, clock: ManualClock) -> DropFolder:
    drop = DropFolder(store.dropfolder, JobService(store), clock=clock)
    drop.prepare()
    return drop


def settle(folder: DropFolder, clock: ManualClock) -> list[Outcome]:
    """Let what was dropped be seen, then quiet for `stable_s`: the outcomes of the second look."""
    folder.tick()
    clock.now += folder.settings.stable_s + 0.1
    return folder.tick()


def watch_until_a_job(drop: DropFolder, dropped: Callable[[], object], seconds: float = 15) -> int:
    """Run `drop.watch` in a thread, call `dropped()` (which drops a file), and stop once a job
    exists or `seconds` have passed; the number of jobs then. The loop must stop when asked."""
    drop.prepare()  # the profile folders are there to drop into
    stop = threading.Event()
    thread = threading.Thread(target=drop.watch, args=(stop,))
    thread.start()
    try:
        dropped()
        deadline = time.monotonic() + seconds
        while Job.select().count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive(), "the watch loop did not stop when asked"
    return int(Job.select().count())
