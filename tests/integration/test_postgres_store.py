"""The job store on PostgreSQL: schema, transitions, text filters and the service.

Runs on the session's private PostgreSQL (or EXMADO_TEST_PG_URL); a throw-away database is
created for each test and dropped afterwards.
"""

from __future__ import annotations

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
