"""A workbook that takes long to read is still a job under control: cancel is heard mid-read."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.models import Job, JobRow
from tests.pipeline_harness import Pipeline, control_later
from tests.reliability.hostile import CASES


def test_cancel_is_heard_while_a_sheet_of_a_million_rows_is_read(
    tmp_path: Path, redis_url: str
) -> None:
    pipe = Pipeline(tmp_path, redis_url, heartbeat_s=0.2, stale_after_s=2)
    sheet = next(c for c in CASES if c.name == "1,048,576-row sheet")
    path = sheet.build(tmp_path, ["100001", "100002", "100003"])
    job_id = pipe.service.create(JobRequest(path, profile="invoices")).id
    control_later(job_id, 0.3, control="cancel")
    job = pipe.run(job_id)
    assert job.status == "CANCELLED"
    # Stopped inside the read: its three keys were never stored, as they are once it ends.
    assert (job.total_rows, JobRow.select().where(JobRow.job == job_id).count()) == (0, 0)
    assert Job.get_by_id(job_id).worker == ""
