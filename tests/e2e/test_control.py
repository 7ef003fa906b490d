"""Pause, resume, cancel, terminate and retry through real workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.models import JobRow
from exmado_tui.store.queries import get_job
from tests.reliability.harness import Exmado, wait_for

ROWS = 400  # at 100 ms a request and 8 in flight: ~5 s of work, time to pause and cancel


def hits(exmado: Exmado, n: int) -> list[str]:
    return exmado.sandbox.catalogue.invoice_numbers_with_hits(n)


def progressed(exmado: Exmado, job_id: str, rows: int) -> bool:
    return get_job(job_id).done_rows >= rows


@pytest.mark.slow
def test_pause_then_resume_then_cancel(exmado: Exmado) -> None:
    exmado.sandbox.faults.update(latency_ms=100)
    exmado.start_worker()
    job_id = exmado.start_job(exmado.workbook("a.xlsx", hits(exmado, ROWS)))
    wait_for(lambda: progressed(exmado, job_id, 20), 30, "some progress")
    exmado.service.pause(job_id)
    paused = exmado.wait(job_id, 3, statuses={"PAUSED"})
    assert paused.wait_reason == "paused" and paused.worker == ""
    frozen = get_job(job_id).done_rows
    assert 20 <= frozen < ROWS
    wait_for(lambda: True, 0.1, "")
    assert get_job(job_id).done_rows == frozen
    exmado.service.resume(job_id)
    wait_for(lambda: progressed(exmado, job_id, frozen + 20), 30, "progress after resume")
    exmado.service.cancel(job_id)
    job = exmado.wait(job_id, 3)
    assert job.status.value == "CANCELLED" and frozen + 20 <= job.done_rows < ROWS
    pending = JobRow.select().where((JobRow.job == job_id) & (JobRow.status == "pending"))
    assert pending.count() == ROWS - job.done_rows
    out = Path(job.output_dir)
    assert len(list(out.rglob("*.pdf"))) == job.files_count
    assert not list(out.rglob("*.part"))
    # A download still in flight when the pause's grace ran out is cut and done again after
    # the resume (a loaded machine sees this); its row and file stay single (above). Nothing
    # else is downloaded twice: at most the requests one job has in flight.
    again = [n for n in exmado.sandbox.stats.downloads.values() if n > 1]
    assert max(again, default=2) == 2
    assert len(again) <= exmado.settings.jobs.row_concurrency


@pytest.mark.slow
def test_retry_runs_only_the_rows_that_did_not_succeed(exmado: Exmado) -> None:
    numbers = hits(exmado, 20)
    exmado.start_worker()
    blocker = exmado.tmp_path / "out" / "blocked"
    job_id = exmado.service.create(
        JobRequest(
            exmado.workbook("r.xlsx", numbers),
            profile="invoices",
            output=blocker,
            start=False,
            config={"folder_template": "", "filename_template": "{INVOICE_NO}"},
        )
    ).id
    blocker.mkdir(parents=True)
    (blocker / f"{numbers[3]}.pdf").write_bytes(b"a different file")
    exmado.service.start(job_id)
    job = exmado.wait(job_id, 30)
    assert job.status.value == "COMPLETED_WITH_ERRORS" and job.failed_rows == 1
    failed = JobRow.get((JobRow.job == job_id) & (JobRow.status == "failed"))
    assert failed.key == numbers[3] and "skip_identical" in failed.error
    (blocker / f"{numbers[3]}.pdf").unlink()
    before = sum(exmado.sandbox.stats.downloads.values())
    exmado.service.retry(job_id)
    job = exmado.wait(job_id, 30)
    assert job.status.value == "COMPLETED" and job.found_rows == 20
    assert sum(exmado.sandbox.stats.downloads.values()) == before + 1


@pytest.mark.slow
def test_terminate_and_the_operator_commands(exmado: Exmado) -> None:
    # 200 rows at 300 ms, two at a time: 30 s, well past the CLI calls before the terminate
    # (at 100 ms the job once ended first, on a loaded machine).
    exmado.sandbox.faults.update(latency_ms=300)
    exmado.configure(row_concurrency=2)
    exmado.start_worker()
    job_id = exmado.start_job(exmado.workbook("t.xlsx", hits(exmado, 200)))
    wait_for(lambda: progressed(exmado, job_id, 5), 30, "some progress")

    def status() -> dict:
        return json.loads(exmado.cli("workers", "--json").stdout)

    wait_for(lambda: status()["workers"][0]["jobs"] == [job_id], 5, "the registry to show it")
    assert len(status()["workers"]) == 1 and status()["queue"]["ready"] == 0
    assert [j["id"] for j in status()["jobs"]] == [job_id]
    result = exmado.cli("jobs", "terminate", job_id[:8], "--reason", "wrong workbook")
    assert result.returncode == 0 and "CANCELLED" in result.stdout, result.stderr
    # Counted where it happens (the store's counters are flushed in batches and lag): after
    # terminate, at most the 2 downloads in flight and the few started before the worker
    # noticed (it checks every ~0.25 s; a row takes ≥ 300 ms here) reach DocuWare.
    downloads_then = exmado.sandbox.stats.count("FileDownload")
    wait_for(lambda: not status()["workers"][0]["jobs"], 5, "the worker to drop the job")
    job = get_job(job_id)
    assert job.status.value == "CANCELLED"
    assert exmado.sandbox.stats.count("FileDownload") - downloads_then <= 6
    assert job.last_error.startswith("Terminated by ")
    assert job.last_error.endswith(" (CLI): wrong workbook.")
    assert (Path(job.output_dir) / "exmado-report.xlsx").exists()

    exmado.stop_workers()
    exmado.sandbox.faults.update(latency_ms=0)
    retried = exmado.service.retry(job_id)
    exmado.redis.flushall()  # Redis wiped: the message is gone
    empty = exmado.cli("queue", "purge", input="")  # nothing to drop: not asked, not refused
    assert empty.returncode == 0 and "Nothing to purge" in empty.stdout, empty.stdout
    recovered = json.loads(exmado.cli("queue", "recover", "--json").stdout)
    assert recovered == {"requeued": [retried.id]}
    unconfirmed = exmado.cli("queue", "purge", input="")  # no confirmation on stdin
    assert unconfirmed.returncode == 1 and "Nothing purged" in unconfirmed.stdout
    assert "Drop 1 ready" in unconfirmed.stdout and "Traceback" not in unconfirmed.stderr
    assert exmado.cli("queue", "purge", "--yes").returncode == 0
    recovered = json.loads(exmado.cli("queue", "recover", "--json").stdout)
    assert recovered == {"requeued": [retried.id]}
    exmado.start_worker()
    assert exmado.wait(job_id, 60).status.value == "COMPLETED"
