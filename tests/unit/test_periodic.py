"""`repeat`: the registry and watchdog thread outlives failures and stops on its event."""

from __future__ import annotations

import logging
import threading

import pytest

from exmado_tui.job.liveness.presence import repeat


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
