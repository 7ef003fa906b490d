"""A row without a key that reaches the row engine fails as at import: a retry leaves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.errors import TransitionError
from exmado_tui.store.models import Job, JobRow
from tests.pipeline_harness import Pipeline


@pytest.fixture
def pipeline(tmp_path: Path, redis_url: str) -> Pipeline:
    return Pipeline(tmp_path, redis_url)


def test_a_retried_row_without_a_key_is_left_failed_by_the_next_retry(
    pipeline: Pipeline,
) -> None:
    """Older retries set rows refused at ingest pending again; once the row engine fails them
    again they count as failed at import (attempts 0), so `retry` has nothing to run."""
    job_id = pipeline.create([100001, None, "#N/A"])
    pipeline.run(job_id)
    JobRow.update(status="pending", error="").where(JobRow.status == "failed").execute()
    Job.update(status="PENDING").where(Job.id == job_id).execute()
    pipeline.run(job_id, token="m2")
    failed = JobRow.select().where(JobRow.status == "failed")
    assert sorted((r.row_number, r.attempts) for r in failed) == [(3, 0), (4, 0)]
    with pytest.raises(TransitionError, match="has nothing to retry: its 2 failed row"):
        pipeline.service.retry(job_id)
    rows = {r.row_number: r.status for r in JobRow.select()}
    assert rows == {2: "done", 3: "failed", 4: "failed"}
