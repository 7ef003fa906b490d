"""A worker process known alive (`job.liveness.presence`): the thread that refreshes its
registry key (and runs the watchdog) outlives failures and stops on its event, and the key's
lifetime follows [jobs] stale_after_s, within 3 to 10 seconds."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from exmado_tui.job.liveness.presence import Registry, repeat
from tests.environment import make_settings
from tests.pipeline_harness import host_config
from workers.runtime import Runtime


def test_runs_at_once_survives_a_failure_and_stops_when_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []
    third = threading.Event()

    def action() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("Redis went away")
        if len(calls) == 3:
            third.set()

    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="exmado.workers"):
        thread = repeat(action, 0.01, stop, "exmado-test")
        assert third.wait(5), "the action was not repeated after its failure"
        stop.set()
        thread.join(5)
    assert not thread.is_alive() and thread.daemon and thread.name == "exmado-test"
    assert "exmado-test failed; trying again in 0.0 s" in caplog.text
    assert "Redis went away" in caplog.text
    count = len(calls)
    stop.wait(0.05)
    assert len(calls) == count  # nothing runs after the stop


@pytest.mark.parametrize(("stale", "ttl"), [(1.5, 3), (5, 5), (60, 10)])
def test_a_killed_worker_looks_alive_no_longer_than_its_staleness(
    tmp_path: Path, stale: float, ttl: int
) -> None:
    config = host_config(tmp_path, heartbeat_s=0.5, stale_after_s=stale)
    runtime = Runtime.from_settings(make_settings(tmp_path, EXMADO_CONFIG=str(config)))
    registry = Registry(runtime, holder=None)  # type: ignore[arg-type] - ttl_s reads no holder
    assert registry.ttl_s == ttl
