"""The job store on PostgreSQL: schema, transitions, text filters and the service.

Runs on the session's private PostgreSQL (or EXMADO_TEST_PG_URL); a throw-away database is
created for each test and dropped afterwards.
"""

from __future__ import annotations

import multiprocessing

import pytest

from exmado_tui.errors import TransitionError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.job.service import JobService
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.store import migrations
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from exmado_tui.store.queries import list_jobs, status_counts
from tests.environment import make_settings
from tests.postgres import empty_database
from tests.workbooks import write_workbook


def test_the_store_works_on_postgresql(pg_url, tmp_path, redis_url):
    settings = make_settings(tmp_path, EXMADO_DB_URL=pg_url, REDIS_URL=redis_url)
    db = open_database(settings.database_url)
    try:
        assert migrations.current_version(db) == migrations.LATEST
        service = JobService(settings)
        workbook = write_workbook(tmp_path / "Lieferanten.xlsx", [["100001"]])
        job = service.create(JobRequest(workbook, profile="invoices", name="März", start=True))
        transition(job.id, JobStatus.VALIDATING)
        with pytest.raises(TransitionError, match="is VALIDATING"):
            transition(job.id, JobStatus.VALIDATING)
        assert [j.id for j in list_jobs(text="märz")] == [job.id]
        assert status_counts()[JobStatus.VALIDATING] == 1
        assert Job.get_by_id(job.id).config["cabinet"] == "Invoices"
    finally:
        db.close()


def _open_store(url: str) -> None:
    open_database(url)


def test_processes_opening_a_new_store_at_once_all_open_it(pg_url):
    """A host's worker and watcher open a new PostgreSQL store at the same moment: CREATE
    TABLE IF NOT EXISTS races there, so the schema's steps are taken one process at a time."""
    spawn = multiprocessing.get_context("spawn")
    for _ in range(4):
        empty_database(pg_url)
        with spawn.Pool(4) as pool:
            pool.map(_open_store, [pg_url] * 4)  # a process that failed raises here
    assert migrations.current_version(open_database(pg_url)) == migrations.LATEST
