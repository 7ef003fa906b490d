"""The clocks of "one runner per job" come from [jobs] heartbeat_s and stale_after_s in one place
(`job.liveness.Clocks`), and the worker's slots take their lease from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.job.liveness import Clocks
from tests.environment import make_settings
from tests.pipeline_harness import host_config
from workers.runtime import Runtime


@pytest.mark.parametrize(
    ("beat", "stale", "watchdog", "again"),
    [(0.1, 0.3, 0.2, 0.25), (5, 6, 3, 5), (30, 600, 30, 5)],
)
def test_every_period_follows_the_two_settings(
    beat: float, stale: float, watchdog: float, again: float
) -> None:
    clocks = Clocks(beat_s=beat, takeover_after_s=stale)
    assert clocks.lease_ttl_s == stale  # the slot lapses when the job is taken over
    assert clocks.lost_message_after_s == 3 * stale
    assert clocks.watchdog_every_s == pytest.approx(watchdog)
    assert clocks.again_s == again


def test_the_worker_s_slots_lease_for_the_takeover_age(tmp_path: Path) -> None:
    config = host_config(tmp_path, heartbeat_s=0.5, stale_after_s=7)
    runtime = Runtime.from_settings(make_settings(tmp_path, EXMADO_CONFIG=str(config)))
    assert runtime.clocks == Clocks(beat_s=0.5, takeover_after_s=7)
    assert runtime.slots.ttl_ms == 7000
