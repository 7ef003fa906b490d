"""A drop folder on a manual clock, for tests that drive its ticks themselves."""

from __future__ import annotations

from exmado_tui.dropfolder import DropFolder, Outcome
from exmado_tui.jobs import JobService
from exmado_tui.settings import Settings
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
