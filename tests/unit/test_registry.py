"""The registry key's lifetime follows [jobs] stale_after_s, within 3 to 10 seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.job.liveness.presence import Registry
from tests.environment import make_settings
from tests.pipeline_harness import host_config
from workers.runtime import Runtime


@pytest.mark.parametrize(("stale", "ttl"), [(1.5, 3), (5, 5), (60, 10)])
def test_a_killed_worker_looks_alive_no_longer_than_its_staleness(
    tmp_path: Path, stale: float, ttl: int
) -> None:
    config = host_config(tmp_path, heartbeat_s=0.5, stale_after_s=stale)
    runtime = Runtime.from_settings(make_settings(tmp_path, EXMADO_CONFIG=str(config)))
    registry = Registry(runtime, holder=None)  # type: ignore[arg-type] - ttl_s reads no holder
    assert registry.ttl_s == ttl
