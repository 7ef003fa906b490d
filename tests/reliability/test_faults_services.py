"""Faults around the workers: Redis wiped or restarted, the store locked, DocuWare failing in
every way it does, DocuWare down, a full output disk, the drop-folder watcher killed.

Each fault hits a running job of real processes; a job must then end COMPLETED with every row
once and every file whole (`survived`). Where a fault's real duration would only add wall
time, the suite shortens it together with the setting it races against (`faults.Lengths`);
the `soak` tests run them at full length.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from exmado_tui.job.status import JobStatus
from exmado_tui.services.localredis import RedisServer
from exmado_tui.store.models import Job, JobRow
from exmado_tui.store.queries import get_job, job_events
from tests.reliability.audit import survived
from tests.reliability.faults import (
    MISBEHAVIOURS,
    QUICK,
    SUITE,
    docuware_down,
    docuware_misbehaving,
    progressed,
    start_job,
    store_locked,
)
from tests.reliability.harness import Exmado, wait_for
from tests.reliability.tally import Tally
from tests.small_disk import fill, small_disk

ROWS = SUITE.rows


# -- Redis --------------------------------------------------------------------------------------


def test_redis_flushed_and_restarted_empty_mid_job(
    plant: Exmado, tally: Tally, redis_server: RedisServer
) -> None:
    plant.configure(**{**QUICK, "row_concurrency": 2})
    plant.sandbox.faults.update(latency_ms=60)
    plant.start_worker()
    flushed, keys = start_job(plant, "flushed", ROWS)
    progressed(flushed, 10)
    plant.redis.flushall()
    plant.wait(flushed, 60)
    survived(tally, flushed, keys, "Redis FLUSHALL mid-job")

    restarted, keys = start_job(plant, "restarted", ROWS, skip=ROWS)
    progressed(restarted, 10)
    redis_server.stop()  # no persistence: it comes back empty
    redis_server.start()
    plant.wait(restarted, 60)
    survived(tally, restarted, keys, "Redis restarted empty mid-job")


# -- the store ------------------------------------------------------------------------------------


def test_store_locked_by_another_process_mid_job(plant: Exmado, tally: Tally) -> None:
    store_locked(plant, tally, SUITE)


# -- DocuWare -------------------------------------------------------------------------------------


# One test a way, so that they run side by side.
@pytest.mark.parametrize("way", MISBEHAVIOURS)
def test_docuware_misbehaving_in_every_way_it_does(plant: Exmado, tally: Tally, way: str) -> None:
    docuware_misbehaving(plant, tally, SUITE, [way])


def test_docuware_down_mid_job(plant: Exmado, tally: Tally) -> None:
    docuware_down(plant, tally, SUITE)


def test_a_job_waiting_to_retry_an_unreachable_docuware_is_cancelled_at_once(
    plant: Exmado,
) -> None:
    """DocuWare down from the start: the job is handed back to wait for its retry. Meanwhile
    `exmado workers` says what it waits for, and a cancel needs no worker to hear it."""
    plant.configure("max_attempts = 2", **QUICK)  # [docuware]: handed back sooner
    plant.start_worker()
    url = plant.sandbox.url
    plant.sandbox.stop()
    job_id, _ = start_job(plant, "unreachable", 5)

    def handed_back() -> bool:
        job = get_job(job_id)
        return not job.worker and job.wait_reason.startswith("will try again: DocuWare at")

    waits = f"no worker: will try again: DocuWare at {url}"
    # between two attempts (each holds the job for a few seconds of its own retries)
    wait_for(lambda: waits in plant.cli("workers").stdout, 90, "`exmado workers` to say so")
    wait_for(handed_back, 60, "the job to wait for its retry")
    started = time.monotonic()
    asked = plant.service.cancel(job_id)
    plant.wait(job_id, 120)
    took = time.monotonic() - started
    print(f"\ncancel of a job waiting to retry: CANCELLED after {took:.1f} s")
    assert asked.status is JobStatus.CANCELLED, f"{asked.status} when cancel returned"


def test_docuware_down_without_an_answer_is_told_as_out_of_reach_not_as_throttling(
    plant: Exmado,
) -> None:
    """DocuWare taking requests and never answering (a frozen server, a black hole) holds
    them as throttling does: the budget is cut all the same, but the job's events say that
    DocuWare is out of reach, and nothing of throttling."""
    plant.configure("max_attempts = 2", **QUICK)  # [docuware]: each request fails sooner
    plant.sandbox.faults.update(latency_ms=40)
    plant.start_worker()
    job_id, keys = start_job(plant, "silent", 60)
    progressed(job_id, 10)
    plant.sandbox.faults.update(latency_ms=20_000)  # past [docuware] timeout_s = 15
    told = (
        f"DocuWare at {plant.sandbox.url} cannot be reached; the rows wait and will be tried again."
    )
    wait_for(lambda: told in [e.message for e in job_events(job_id)], 60, "the job to say it")
    plant.sandbox.faults.update(latency_ms=40)
    assert plant.wait(job_id, 120).status is JobStatus.COMPLETED
    events = [e.message for e in job_events(job_id)]
    assert not [e for e in events if "throttling" in e.lower()], events


# -- the output disk ------------------------------------------------------------------------------


def test_a_full_output_disk_pauses_the_job_and_resume_completes_it(
    plant: Exmado, tally: Tally
) -> None:
    with small_disk(Path(plant.env["EXMADO_OUTPUT_ROOT"]), "4m") as out:
        plant.configure(**QUICK)
        plant.start_worker()
        filler = fill(out, leave=200 * 1024)  # room for a few documents of the 60
        job_id, keys = start_job(plant, "full", 60)
        job = plant.wait(job_id, 60, statuses={"PAUSED", "COMPLETED", "FAILED"})
        assert job.status.value == "PAUSED", job.last_error
        assert job.last_error.startswith(f"No space left in the output folder {out}")
        shown = plant.cli("jobs", "show", job_id[:8])
        assert "No space left in the output folder" in shown.stdout, shown.stdout
        failed = JobRow.select().where((JobRow.job == job_id) & (JobRow.status == "failed"))
        assert failed.count() == 0  # rows in flight stayed pending
        assert not [p for p in out.rglob("*") if p.name.endswith("part")]
        filler.unlink()  # space freed
        plant.service.resume(job_id)
        plant.wait(job_id, 60)
        survived(tally, job_id, keys, "full output disk, resumed")


# -- the drop folder ------------------------------------------------------------------------------


def test_the_watcher_killed_between_creating_a_job_and_moving_its_file(
    plant: Exmado, tally: Tally, redis_server: RedisServer
) -> None:
    """Redis stopped (SIGSTOP) holds the watcher just after it created the job, before it
    moved the file: kill -9 it there. The next watcher archives the file without a second
    job, and the job runs once."""
    plant.configure("[dropfolder]\nstable_s = 0.3", **QUICK)
    first = plant.start_watcher()
    drop = Path(plant.env["EXMADO_DROP_FOLDER"]) / "invoices"
    wait_for(drop.is_dir, 30, "the watcher to make its profile folders")
    keys = plant.sandbox.catalogue.invoice_numbers_with_hits(ROWS)
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        plant.workbook("dropped.xlsx", keys).rename(drop / "dropped.xlsx")
        job = wait_for(lambda: Job.select().first(), 30, "the watcher to create the job")
        plant.kill(first)
        assert (drop / "dropped.xlsx").exists()  # killed before the move
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    plant.start_watcher()
    plant.start_worker()
    archived = Path(plant.env["EXMADO_DROP_FOLDER"]) / "archive"
    wait_for(lambda: list(archived.rglob("dropped.xlsx")), 30, "the file to be archived")
    plant.wait(job.id, 60)
    assert Job.select().count() == 1
    survived(tally, job.id, keys, "watcher killed between job and move")
