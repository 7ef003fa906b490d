"""`exmado store migrate --to URL`: an existing SQLite store moves to PostgreSQL whole."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from exmado_tui.cli import main
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.notify import outbox
from exmado_tui.notify.targets import NoticeKind
from exmado_tui.store import migrations
from exmado_tui.store.copy import bound, copy_store
from exmado_tui.store.db import database, make_database, open_database
from exmado_tui.store.models import (
    Job,
    JobEvent,
    JobFile,
    JobRow,
    JobWorkbook,
    NotifyDelivery,
    NotifyEvent,
    ScheduleRun,
)
from tests.environment import make_settings
from tests.workbooks import write_workbook


@pytest.fixture
def sqlite_store(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch):
    """A SQLite store with three jobs, their rows, a file and events, as `exmado` sees it."""
    for name, value in {
        "EXMADO_DATA_DIR": str(tmp_path / "data"),
        "EXMADO_OUTPUT_ROOT": str(tmp_path / "out"),
        "REDIS_URL": redis_url,
    }.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(tmp_path, REDIS_URL=redis_url)
    open_database(settings.database_url)
    service = JobService(settings)
    for n in range(3):
        book = write_workbook(tmp_path / f"{n}.xlsx", [[f"10000{n}"], [f"20000{n}"]])
        job = service.create(JobRequest(book, profile="invoices", name=f"job {n}"))
        first = JobRow.create(job=job.id, row_number=2, key=f"10000{n}", values={"k": n})
        JobRow.create(
            job=job.id,
            row_number=3,
            key=f"20000{n}",
            values={"k": n},
            status="failed",
            failed_at_import=True,
        )
        JobFile.create(job=job.id, row=first.id, document_id=str(n), path=f"{n}.pdf", size=3)
    outbox.add(NoticeKind.REJECTED, {"summary": "notes.txt was rejected"})
    NotifyDelivery.create(event=NotifyEvent.get(), target="ops", attempts=2)  # receiver down
    ScheduleRun.create(name="nightly", last_run_at=datetime(2026, 3, 1, 1), job_id=job.id)
    return settings


def migrate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["store", "migrate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def counts(db) -> list[int]:
    with bound(db):
        return [m.select().count() for m in (Job, JobRow, JobFile, JobEvent, JobWorkbook)]


def test_every_job_moves_with_its_rows_files_events_and_workbook(sqlite_store, pg_url, capsys):
    source = database.obj
    code, out, err = migrate(capsys, "--to", pg_url)
    assert code == 0, err
    target = make_database(pg_url)
    assert counts(target) == counts(source) == [3, 6, 3, 3, 3]
    with bound(target):  # a notice still waiting for delivery moved with its tries
        [waiting] = NotifyDelivery.select()
        assert waiting.attempts == 2 and "notes.txt was rejected" in str(waiting.event.body)
        [run] = ScheduleRun.select()  # made once: a moved store does not make it again
        assert (run.name, run.last_run_at) == ("nightly", datetime(2026, 3, 1, 1))
    assert "Copied 3 job(s) (0 already there" in out
    assert f"schema version {migrations.LATEST}" in out
    with bound(target):
        row = JobRow.select().where(JobRow.key == "200001").get()
        assert row.values == {"k": 1} and row.job.name == "job 1"
        assert (row.status, row.failed_at_import) == ("failed", True)
        assert JobRow.select().where(JobRow.failed_at_import).count() == 3
        JobRow.create(job=row.job_id, row_number=99, values={})  # the id sequence moved on
        stored = JobWorkbook.get(JobWorkbook.job == row.job_id).content
    assert bytes(stored) == Path(Job.get_by_id(row.job_id).workbook_path).read_bytes()


def test_a_target_holding_other_jobs_is_refused_unless_replaced(sqlite_store, pg_url, capsys):
    other = make_settings(sqlite_store.data_dir.parent / "other", EXMADO_DB_URL=pg_url)
    open_database(other.database_url)
    book = write_workbook(sqlite_store.data_dir.parent / "x.xlsx", [["1"]])
    JobService(other).create(JobRequest(book, profile="invoices"))
    open_database(sqlite_store.database_url)
    code, _, err = migrate(capsys, "--to", pg_url)
    assert code == 1 and "already holds 1 job(s) that are not in this store" in err
    assert "--replace" in err
    code, out, err = migrate(capsys, "--to", pg_url, "--replace")
    assert code == 0, err
    assert counts(make_database(pg_url))[0] == 3


def test_an_interrupted_copy_finishes_when_run_again(sqlite_store, pg_url, capsys):
    source, target = database.obj, make_database(pg_url)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_store(source, target, progress=interrupt)
    assert counts(target)[0] == 1  # one whole job, nothing half
    code, out, err = migrate(capsys, "--to", pg_url)
    assert code == 0, err
    assert "Copied 2 job(s) (1 already there" in out
    assert counts(target) == counts(source)


def test_a_running_job_stops_the_move(sqlite_store, pg_url, capsys):
    job = Job.select().first()
    transition(job.id, JobStatus.VALIDATING)
    code, _, err = migrate(capsys, "--to", pg_url)
    assert code == 1 and "1 job(s) are running" in err and "exmado down" in err


def test_a_password_on_the_command_line_is_refused(sqlite_store, capsys):
    code, _, err = migrate(capsys, "--to", "postgresql://ana:s3cret@db.example/exmado")
    assert code == 2 and "EXMADO_DB_PASSWORD" in err and "s3cret" not in err
