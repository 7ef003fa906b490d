"""The job detail screen's Verify (`v`): the job's files checked against the manifest its real
writer wrote, the result shown and kept in the job's events with who ran it; dimmed for a job
that has not ended."""

from __future__ import annotations

import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

from exmado_tui.output.report import write_report
from exmado_tui.store.models import Job, JobFile, JobRow
from tests.tui.pilot_steps import SIZE, notices, open_detail, settled, wait_for
from tests.tui.seed import job_id

COMPLETED, RUNNING = job_id(3), job_id(0)


def exported(folder: Path) -> Path:
    """Job COMPLETED's one row and file on disk, and its manifest; the file's path."""
    Job.update(output_dir=str(folder)).where(Job.id == COMPLETED).execute()
    row = JobRow.create(job=COMPLETED, row_number=2, key="1", values={}, status="done")
    content = b"%PDF-1.7 exported"
    path = folder / "ACME" / "1.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    JobFile.create(
        job=COMPLETED,
        row=row,
        document_id="1001",
        path="ACME/1.pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    write_report(COMPLETED, ZoneInfo("UTC"))
    return path


async def test_verify_shows_the_result_and_keeps_it_in_the_events(app_factory, seeded, tmp_path):
    path = exported(tmp_path / "out")
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, COMPLETED)
        await wait_for(pilot, lambda: detail.job is not None)
        await pilot.press("v")
        await wait_for(pilot, lambda: any("no difference" in n for n in notices(pilot.app)))
        path.write_bytes(b"%PDF-1.7 tampered")
        await pilot.press("v")
        await wait_for(pilot, lambda: any("1 changed" in n for n in notices(pilot.app)))
        await pilot.press("3")  # the events tab
        await wait_for(
            pilot,
            lambda: sum("Verified by " in str(line.text) for line in detail.events_log.lines) == 2,
        )
        shown = " ".join(str(line.text).strip() for line in detail.events_log.lines)
        assert "(dashboard): files: 0 as exported, 1 differences (1 changed)" in shown


async def test_verify_is_dimmed_while_the_job_runs(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        await wait_for(pilot, lambda: detail.job is not None)
        assert detail.check_action("verify", ()) is None
        await pilot.press("v")
        await settled(pilot)  # a verify that ran anyway would have said so by now
        assert not any("Verif" in n for n in notices(pilot.app))
