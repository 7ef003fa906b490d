"""The clocks of liveness come from [jobs] heartbeat_s and stale_after_s in one place
(`job.liveness.Clocks`), the worker's slots take their lease from there, and the rule in the
package's docstring names every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.job import liveness
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


def test_the_rule_names_every_clock() -> None:
    """A clock added to `Clocks` (or a period constant) without its why in the rule fails."""
    derived = [name for name, value in vars(Clocks).items() if isinstance(value, property)]
    constants = [name for name in vars(liveness) if name.endswith("_S") and name.isupper()]
    clocks = [*Clocks.__dataclass_fields__, *derived, *constants]
    assert len(clocks) >= 9
    assert [name for name in clocks if f"`{name}`" not in (liveness.__doc__ or "")] == []
