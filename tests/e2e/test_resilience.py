"""Slots across workers, kill -9 mid-job, the time limit, and refused workbooks."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from exmado_tui.errors import WorkbookError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.store.models import Job, JobFile, JobRow
from exmado_tui.store.queries import get_job
from exmado_tui.workbook.checks import OLE_SIGNATURE
from tests.reliability.harness import Exmado, wait_for
from tests.workbooks import write_workbook


def hits(exmado: Exmado, n: int) -> list[str]:
    return exmado.sandbox.catalogue.invoice_numbers_with_hits(n)


@pytest.mark.slow
def test_two_jobs_run_and_a_third_waits_for_its_slot(exmado: Exmado) -> None:
    exmado.configure(max_concurrent_jobs=2, row_concurrency=2)
    exmado.sandbox.faults.update(latency_ms=30)
    exmado.start_worker(threads=2)
    exmado.start_worker(threads=2)
    numbers = hits(exmado, 90)
    jobs = [
        exmado.start_job(exmado.workbook(f"{i}.xlsx", numbers[i * 30 : i * 30 + 30]))
        for i in range(3)
    ]
    seen_running: list[int] = []
    waiting: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            rows = list(Job.select(Job.status, Job.wait_reason))
            seen_running.append(sum(r.status == "RUNNING" for r in rows))
            waiting.update(r.wait_reason for r in rows if r.status == "PENDING")
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        finished = [exmado.wait(job_id, 60) for job_id in jobs]
    finally:
        stop.set()
        watcher.join()
    assert [j.status.value for j in finished] == ["COMPLETED"] * 3
    assert max(seen_running) == 2
    assert "waiting: 2 of 2 jobs running" in waiting
    assert sum(get_job(j).runs for j in jobs) == 3  # waiting spent no retries or runs


@pytest.mark.slow
def test_kill_9_mid_job_then_another_worker_finishes_it_exactly_once(exmado: Exmado) -> None:
    exmado.sandbox.faults.update(latency_ms=25)
    numbers = hits(exmado, 200)
    first = exmado.start_worker()
    job_id = exmado.start_job(exmado.workbook("k.xlsx", numbers))
    wait_for(lambda: get_job(job_id).done_rows >= 40, 30, "progress before the kill")
    exmado.kill(first)
    at_kill = get_job(job_id)
    assert at_kill.status.value == "RUNNING" and at_kill.done_rows < 200
    exmado.start_worker()
    job = exmado.wait(job_id, 60)
    assert job.status.value == "COMPLETED" and job.found_rows == 200 and job.runs == 2
    rows = list(JobRow.select().where(JobRow.job == job_id))
    assert {r.attempts for r in rows} == {1}  # no row was written twice
    files = list(JobFile.select().where(JobFile.job == job_id))
    assert len(files) == len({(f.row_id, f.document_id) for f in files}) == 200
    out = Path(job.output_dir)
    on_disk = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in on_disk if p.suffix == ".part"]
    assert len([p for p in on_disk if p.suffix == ".pdf"]) == 200
    manifest = json.loads((out / "exmado-manifest.json").read_text())
    assert len(manifest["files"]) == 200
    downloads = Counter(exmado.sandbox.stats.downloads.values())
    assert sum(downloads.values()) == 200 and max(downloads) <= 2  # only rows in flight again


@pytest.mark.slow
def test_time_limit_fails_with_a_sentence_and_retry_continues(exmado: Exmado) -> None:
    # 2 s: the first second of a server never seen goes to signing in and the budget's start
    exmado.configure(job_timeout_s=2, row_concurrency=2)
    exmado.sandbox.faults.update(latency_ms=30)
    exmado.start_worker()
    job_id = exmado.start_job(exmado.workbook("slow.xlsx", hits(exmado, 80)))
    job = exmado.wait(job_id, 30)
    assert job.status.value == "FAILED"
    # the limit, then up to STOP_GRACE_S (0.5 s) for the rows in flight: "2 s" or, loaded, "3 s"
    assert re.match(r"Job stopped after [23] s: ", job.last_error), job.last_error
    assert job.last_error.endswith(f"of 80 rows done; `exmado jobs retry {job_id[:8]}` continues.")
    done = [job.done_rows]
    while job.status.value != "COMPLETED" and len(done) < 15:
        exmado.service.retry(job_id)
        job = exmado.wait(job_id, 30)
        done.append(job.done_rows)
    assert job.status.value == "COMPLETED" and done == sorted(done) and 0 < done[0] < 80
    assert max(exmado.sandbox.stats.downloads.values()) == 1


TWICE = ("Invoice number", "Comment", "invoice  number")


def unreadable_workbooks(folder: Path, exmado: Exmado) -> dict[str, tuple[Path, str]]:
    """Workbooks `jobs create`, the form and the drop folder refuse before storing a job."""
    folder.mkdir()
    (folder / "locked.xlsx").write_bytes(OLE_SIGNATURE + b"\0" * 512)
    (folder / "notes.xlsx").write_text("just some text")
    (folder / "empty.csv").write_text("")
    (folder / "old.xls").write_bytes(OLE_SIGNATURE)
    return {
        "encrypted": (folder / "locked.xlsx", "Workbook locked.xlsx is password-protected"),
        "not a workbook": (folder / "notes.xlsx", "Workbook notes.xlsx is not an Excel workbook"),
        "empty": (folder / "empty.csv", "Workbook empty.csv is empty"),
        "old format": (folder / "old.xls", "old Excel 97–2003 format"),
        "missing column": (
            exmado.workbook("cols.xlsx", ["1"], header="Invoice"),
            "has no column 'Invoice number' in its header row 1",
        ),
        "duplicate header": (
            write_workbook(folder / "dup.xlsx", [["1", "x", "2"]], TWICE),
            "'Invoice number' twice in header row 1",
        ),
        "header only": (
            exmado.workbook("header.xlsx", []),
            "has a header row but no data rows below it; add one row per document.",
        ),
    }


def test_a_workbook_that_cannot_be_read_is_refused_before_anything_is_stored(
    exmado: Exmado,
) -> None:
    for kind, (path, sentence) in unreadable_workbooks(exmado.tmp_path / "bad", exmado).items():
        with pytest.raises(WorkbookError) as refused:
            exmado.service.create(JobRequest(path, profile="invoices"))
        assert sentence in str(refused.value), kind
    assert Job.select().count() == 0
