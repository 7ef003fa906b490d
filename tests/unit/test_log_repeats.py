"""A log line that repeats — Redis down, a store that cannot be written — is said once, then
once a minute; a worker whose store folder cannot be written says so in one sentence."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import peewee
import pytest

from exmado_tui.formatting import OncePerMinute
from exmado_tui.job.liveness.presence import repeat
from exmado_tui.store.db import database, unwritable_store
from tests.clocks import ManualClock


def emitted(quiet: OncePerMinute, message: str, *args: object) -> str | None:
    record = logging.LogRecord("exmado.workers", logging.WARNING, __file__, 1, message, args, None)
    return record.getMessage() if quiet.filter(record) else None


def test_a_repeated_line_is_said_once_then_once_a_minute_with_its_count() -> None:
    clock = ManualClock()
    quiet = OncePerMinute(clock=clock)
    said = []
    for _ in range(180):  # three lines a second for a minute, as a worker with Redis down
        said.append(emitted(quiet, "Cannot announce this worker in Redis: %s", "refused"))
        clock.now += 1 / 3
    said.append(emitted(quiet, "Cannot announce this worker in Redis: %s", "refused"))
    lines = [line for line in said if line]
    assert lines == [
        "Cannot announce this worker in Redis: refused",
        "Cannot announce this worker in Redis: refused (and 179 times more in the last minute)",
    ]


def test_other_lines_are_not_held_back() -> None:
    quiet = OncePerMinute(clock=ManualClock())
    assert emitted(quiet, "job %s waits to be queued", "aaaa") is not None
    assert emitted(quiet, "job %s waits to be queued", "bbbb") is not None
    assert emitted(quiet, "job %s waits to be queued", "aaaa") is None


def unopenable(tmp_path: Path) -> tuple[str, peewee.OperationalError]:
    """A store in a folder SQLite cannot create its file in (root ignores a chmod)."""
    url = f"sqlite:///{tmp_path / 'gone' / 'exmado.db'}"
    with pytest.raises(peewee.OperationalError) as caught:
        peewee.SqliteDatabase(str(tmp_path / "gone" / "exmado.db")).connect()
    return url, caught.value


def test_a_store_that_cannot_be_written_is_one_sentence_naming_its_folder(tmp_path: Path) -> None:
    url, error = unopenable(tmp_path)
    assert unwritable_store(error, url) == (
        f"The job store cannot be written in {tmp_path / 'gone'} (unable to open database file): "
        "the folder is read-only or not this user's; make it writable, or set data_dir "
        "(EXMADO_DATA_DIR) to a folder that is."
    )
    assert unwritable_store(peewee.OperationalError("database is locked"), url) is None
    assert unwritable_store(error, "postgresql://db/exmado") is None


def test_a_periodic_task_on_an_unwritable_store_logs_the_sentence_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, error = unopenable(tmp_path)
    database.initialize(peewee.SqliteDatabase(str(tmp_path / "gone" / "exmado.db")))
    passes = threading.Semaphore(0)

    def tick() -> None:
        passes.release()
        database.connect(reuse_if_open=True)

    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="exmado.workers"):
        thread = repeat(tick, 0.01, stop, "exmado-watchdog", lambda e: unwritable_store(e, url))
        assert passes.acquire(timeout=5) and passes.acquire(timeout=5)
        stop.set()
        thread.join(5)
    database.initialize(None)
    assert caplog.records and all(r.exc_info is None for r in caplog.records)
    assert {r.getMessage() for r in caplog.records} == {unwritable_store(error, url)}
