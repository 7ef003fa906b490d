"""Stopping workers with a job running: `exmado down` under supervisord, and the main worker
process killed alone. Either way the job is handed back, nobody runs it meanwhile, and it
continues (exactly once per row) when workers are back."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exmado_tui.job.status import FINAL
from exmado_tui.services.supervision import alive
from exmado_tui.store.models import Job, JobEvent, JobFile
from exmado_tui.store.queries import get_job
from tests.environment import REPO
from tests.reliability.harness import Exmado, wait_for

HANDED_BACK = "is shutting down; job queued again"


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def long_job(exmado: Exmado, rows: int = 300) -> str:
    """A job that runs for several seconds (25 ms per request, two rows at a time)."""
    exmado.configure(row_concurrency=2)
    exmado.sandbox.faults.update(latency_ms=25)
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(rows)
    return exmado.start_job(exmado.workbook("long.xlsx", numbers))


def handed_back(job_id: str) -> bool:
    job = Job.get_by_id(job_id)
    said = JobEvent.select().where(
        (JobEvent.job == job_id) & JobEvent.message.contains(HANDED_BACK)
    )
    return job.worker == "" and said.exists()


def assert_completed_once(exmado: Exmado, job_id: str, rows: int) -> None:
    job = exmado.wait(job_id, 90)
    assert job.status.value == "COMPLETED" and job.found_rows == rows
    files = list(JobFile.select().where(JobFile.job == job_id))
    assert len({(f.row_id, f.document_id) for f in files}) == len(files) == rows


@pytest.mark.slow
def test_worker_processes_whose_main_process_is_killed_hand_back_their_job_and_stop(
    exmado: Exmado,
) -> None:
    job_id = long_job(exmado)
    exmado.sandbox.faults.update(latency_ms=100)  # the orphans must not finish it first
    main = exmado.start_worker(threads=2, processes=2)
    wait_for(lambda: get_job(job_id).done_rows >= 10, 30, "the job under way")
    orphans = children(main.pid)
    assert len(orphans) == 2
    main.kill()  # SIGKILL to the main process only: its children are not signalled
    main.wait(10)
    try:
        wait_for(lambda: not any(alive(pid) for pid in orphans), 30, "the orphans to stop")
    finally:
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert get_job(job_id).status not in FINAL
    assert handed_back(job_id)
    assert "The main worker process (pid" in exmado.worker_logs()
    exmado.sandbox.faults.update(latency_ms=0)
    exmado.start_worker()
    assert_completed_once(exmado, job_id, 300)


def stack(exmado: Exmado, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exmado_tui.cli", command],
        cwd=REPO,
        env={**os.environ, **exmado.env},
        capture_output=True,
        text=True,
        timeout=150,
    )


@pytest.mark.slow
def test_down_with_a_job_running_hands_it_back_and_the_next_up_continues_it(
    exmado: Exmado,
) -> None:
    job_id = long_job(exmado)
    try:
        assert stack(exmado, "up").returncode == 0
        wait_for(lambda: get_job(job_id).done_rows >= 10, 60, "the job under way")
        # `down` takes 6-7 s, the job at 25 ms about as long: a loaded machine let it finish
        exmado.sandbox.faults.update(latency_ms=100)
        started = time.monotonic()
        down = stack(exmado, "down")
        print(f"exmado down with a job running: {time.monotonic() - started:.1f} s")
        assert down.returncode == 0, down.stderr
        at_down = get_job(job_id)
        # Neither the worker stopping nor its sibling (stopping too) ran it to its end.
        assert at_down.status not in FINAL and at_down.done_rows < 300
        assert handed_back(job_id)
        exmado.sandbox.faults.update(latency_ms=0)
        assert stack(exmado, "up").returncode == 0
        assert_completed_once(exmado, job_id, 300)
    finally:
        stack(exmado, "down")
