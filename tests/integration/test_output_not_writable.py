"""An output folder the workers may not write: refused at create and at start in one sentence,
and met mid-job it pauses the job as a full disk does. Tests run as root, which permission bits
do not stop: a read-only mount (a tmpfs remounted ro) and a file where the folder should be."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from exmado_tui.errors import NotWritableError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.models import Job, JobRow
from tests.pipeline_harness import Pipeline, invoice_docs
from tests.small_disk import small_disk

ROWS = 30


def remount(folder: Path, mode: str, *, check: bool = True) -> bool:
    """Whether the mount now has `mode` (unchecked, a remount read-only may meet a file open
    for writing and be refused: "mount point is busy")."""
    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=check)
    return done.returncode == 0


def test_a_file_where_the_output_folder_should_be_is_refused_at_create(service, workbook, tmp_path):
    (tmp_path / "exports").write_text("not a folder")
    with pytest.raises(NotWritableError) as caught:
        service.create(
            JobRequest(workbook, profile="invoices", output=tmp_path / "exports" / "march")
        )
    assert str(caught.value) == (
        f"The output folder {tmp_path / 'exports' / 'march'} cannot be created: "
        f"{tmp_path / 'exports'} is a file, not a folder; make it writable for the user the "
        "workers run as, or choose another output folder (--output, or [jobs] output_root)."
    )
    assert Job.select().count() == 0


def test_a_read_only_output_folder_is_refused_at_create_and_at_start(service, workbook, tmp_path):
    with small_disk(tmp_path / "out") as out:
        job = service.create(JobRequest(workbook, profile="invoices", output=out / "march"))
        remount(out, "ro")
        with pytest.raises(NotWritableError, match=r"cannot be written by user \w+ \(Read-only"):
            service.create(JobRequest(workbook, profile="invoices", output=out / "april"))
        with pytest.raises(NotWritableError, match=r"Read-only file system\); make it writable"):
            service.start(job.id)
        assert Job.select().count() == 1 and Job.get_by_id(job.id).queued_at is None


def test_an_output_folder_made_read_only_mid_job_pauses_it_and_resume_completes_it(
    tmp_path: Path, redis_url: str
) -> None:
    with small_disk(tmp_path / "out", "8m") as out:
        pipeline = Pipeline(tmp_path, redis_url)
        pipeline.client.docs = invoice_docs(ROWS)
        job_id = pipeline.create([str(100000 + i) for i in range(1, ROWS + 1)])
        Job.update(output_dir=str(out / "job")).where(Job.id == job_id).execute()
        pipeline.service.start(job_id)
        download = pipeline.client.download

        remounted: list[bool] = []

        async def read_only_after_five(doc: Any, dest: Path, **options: Any) -> Any:
            # >=, once: downloads side by side can pass 5 between two calls; a download
            # still writing makes the remount busy, and the next call tries again
            due = pipeline.client.downloads.total() >= 5 and not remounted
            if due and remount(out, "ro", check=False):
                remounted.append(True)
            return await download(doc, dest, **options)

        pipeline.client.download = read_only_after_five  # type: ignore[method-assign]
        job = pipeline.run(job_id)

        assert job.status == "PAUSED" and job.wait_reason == "paused: output folder not writable"
        assert job.last_error.startswith(
            f"The output folder {out / 'job'} cannot be written (Read-only file system): paused"
        )
        assert job.last_error.endswith(
            f"make it writable for the user the workers run as, then `exmado jobs resume "
            f"{job_id[:8]}`."
        )
        assert {r.status for r in JobRow.select()} == {"done", "pending"}

        remount(out, "rw")
        pipeline.client.download = download  # type: ignore[method-assign]
        pipeline.service.resume(job_id)
        job = pipeline.run(job_id, token="m2")
        assert job.status == "COMPLETED" and job.found_rows == ROWS
