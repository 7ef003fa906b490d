"""Control characters from a hostile key never reach a log line or a job event raw."""

from __future__ import annotations

import io
import logging

import pytest

from exmado_tui.formatting import VisibleLogRecord, visible, visible_logs
from exmado_tui.job.transitions import record_event
from exmado_tui.store.models import Job, JobEvent
from tests.factories import insert_job


def test_visible_writes_controls_as_escapes_and_keeps_what_it_is_told() -> None:
    assert visible("A\x00B\x1b[2J\nC\tD\x85") == "A\\x00B\\x1b[2J\\x0aC\\x09D\\x85"
    assert visible("a\tb\nc", keep="\t\n") == "a\tb\nc"
    assert visible("Société 😀") == "Société 😀"


def test_a_job_event_and_its_log_line_carry_no_raw_control_character(
    store, caplog: pytest.LogCaptureFixture
) -> None:
    visible_logs()
    try:
        job_id = insert_job("j-ctl")
        with caplog.at_level(logging.INFO):
            record_event(job_id, "Row 2: key INV\x00\x1b[31m\nforged line")
            logging.getLogger("exmado.test").warning("key %s", "A\x00\r\nB")
        event = JobEvent.get(JobEvent.job == job_id)
        assert event.message == "Row 2: key INV\\x00\\x1b[31m\\x0aforged line"
        text = caplog.text
        assert "\x00" not in text and "\x1b" not in text and "\r" not in text
        assert "key A\\x00\\x0d\\x0aB" in text
    finally:
        logging.setLogRecordFactory(logging.LogRecord)
    assert Job.get_by_id(job_id)
    assert issubclass(VisibleLogRecord, logging.LogRecord)


def test_a_traceback_in_a_log_line_carries_no_raw_control_character() -> None:
    visible_logs()
    try:
        log, stream = logging.getLogger("exmado.test.traceback"), io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        log.addHandler(handler)
        try:
            raise ValueError("key INV\x1b[31m\x00")
        except ValueError:
            log.exception("row %s failed", 2, stack_info=True)
        finally:
            log.removeHandler(handler)
    finally:
        logging.setLogRecordFactory(logging.LogRecord)
    text = stream.getvalue()
    assert "\x1b" not in text and "\x00" not in text
    assert "ERROR row 2 failed\nTraceback (most recent call last):\n" in text
    assert "ValueError: key INV\\x1b[31m\\x00\n" in text
    assert "Stack (most recent call last):\n" in text
