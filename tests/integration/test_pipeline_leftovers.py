"""A run killed while writing leaves temporary files; the job's next run removes them."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.output.report import MANIFEST_NAME, REPORT_NAME
from exmado_tui.store.models import Job, JobRow
from exmado_tui.store.queries import job_events
from tests.pipeline_harness import Pipeline


def test_a_report_and_a_download_cut_by_kill_9_are_removed_by_the_next_run(
    tmp_path: Path, redis_url: str
) -> None:
    pipeline = Pipeline(tmp_path, redis_url)
    job_id = pipeline.create(["100001", "100002"])
    out = Path(pipeline.run(job_id).output_dir)
    left = [
        out / f".{REPORT_NAME}.4242.exmado-part",
        out / f".{MANIFEST_NAME}.4242.exmado-part",
        out / f".exmado-{job_id}-0123.part",
    ]
    for path in left:
        path.write_bytes(b"half")
    # as after a kill -9 in the report: RUNNING, held by nobody alive, one row redone
    Job.update(status="RUNNING", worker="").where(Job.id == job_id).execute()
    JobRow.update(status="pending").where(JobRow.row_number == 2).execute()

    assert pipeline.run(job_id, token="m2").status == "COMPLETED"
    assert not [path for path in left if path.exists()]
    assert "Removed 3 unfinished file(s) of a past run." in [e.message for e in job_events(job_id)]
