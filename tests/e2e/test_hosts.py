"""Several hosts: worker processes with their own data folders and host names, sharing only
PostgreSQL, Redis and the output folder — as machines in a department's rack would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from exmado_tui.store.models import Job, JobFile, JobRow
from exmado_tui.store.queries import get_job
from tests.postgres import PostgresServer
from tests.reliability.harness import Exmado, wait_for


def host(exmado: Exmado, name: str, threads: int = 1):
    """A worker on host `name`: its own data folder, nothing local shared with the others."""
    data = exmado.tmp_path / name
    return exmado.start_worker(threads, EXMADO_DATA_DIR=str(data), EXMADO_HOST_NAME=name)


@contextmanager
def running_counts(exmado: Exmado) -> Iterator[list[int]]:
    """How many jobs the store shows RUNNING, sampled every 50 ms while the block runs."""
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(Job.select().where(Job.status == "RUNNING").count())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def assert_every_row_once(job_id: str, rows: int) -> None:
    job = get_job(job_id)
    assert job.status.value == "COMPLETED" and job.found_rows == rows
    assert {r.attempts for r in JobRow.select().where(JobRow.job == job_id)} == {1}
    files = list(JobFile.select().where(JobFile.job == job_id))
    assert len(files) == len({(f.row_id, f.document_id) for f in files}) == rows
    on_disk = [p for p in Path(job.output_dir).rglob("*") if p.is_file()]
    assert not [p for p in on_disk if p.suffix == ".part"]
    assert len([p for p in on_disk if p.suffix == ".pdf"]) == rows


@pytest.mark.slow
def test_two_hosts_share_the_jobs_and_one_takes_over_when_the_other_dies(
    exmado: Exmado, pg_url: str
) -> None:
    exmado.use_store(pg_url, max_concurrent_jobs=2, row_concurrency=2)
    # A job lasts ~20 s until the kill (time to list the workers and kill mid-job on a loaded
    # machine), then a few.
    exmado.sandbox.faults.update(latency_ms=150)
    numbers = exmado.sandbox.catalogue.invoice_numbers_with_hits(360)
    host_a, _ = host(exmado, "host-a"), host(exmado, "host-b")
    with running_counts(exmado) as running:
        jobs = [
            exmado.start_job(exmado.workbook(f"{i}.xlsx", numbers[i * 120 : i * 120 + 120]))
            for i in range(3)
        ]
        holders = wait_for(lambda: _two_hosts_holding(jobs), 30, "both hosts to hold a job")
        listed = json.loads(exmado.cli("workers", "--json").stdout)["workers"]
        assert {w["host"] for w in listed} == {"host-a", "host-b"}
        victim = next(job_id for job_id, worker in holders.items() if worker.startswith("host-a"))
        wait_for(lambda: get_job(victim).done_rows >= 2, 30, "progress before the kill")
        exmado.kill(host_a)
        assert get_job(victim).status.value == "RUNNING" and get_job(victim).done_rows < 120
        exmado.sandbox.faults.update(latency_ms=30)
        for job_id in jobs:
            exmado.wait(job_id, 90)
    assert max(running) == 2  # max_concurrent_jobs holds across hosts
    for job_id in jobs:
        assert_every_row_once(job_id, 120)
    assert get_job(victim).runs == 2  # host-b, the only one left, ran it again


def _two_hosts_holding(jobs: list[str]) -> dict[str, str] | None:
    held = {j: get_job(j).worker for j in jobs if get_job(j).status.value == "RUNNING"}
    hosts = {worker.split(":")[0] for worker in held.values() if worker}
    return held if hosts == {"host-a", "host-b"} else None


@pytest.mark.slow
def test_a_postgresql_restart_mid_job_loses_and_repeats_nothing(
    exmado: Exmado, postgres_server: PostgresServer
) -> None:
    with postgres_server.database() as url:
        exmado.use_store(url, row_concurrency=4)
        exmado.sandbox.faults.update(latency_ms=25)
        host(exmado, "host-a", threads=2)
        job_id = exmado.start_job(
            exmado.workbook("r.xlsx", exmado.sandbox.catalogue.invoice_numbers_with_hits(150))
        )
        wait_for(lambda: get_job(job_id).done_rows >= 20, 30, "progress before the restart")
        _restart_under_the_test(exmado, postgres_server)
        exmado.wait(job_id, 90)
        assert_every_row_once(job_id, 150)
        assert "cannot be reached" in exmado.worker_logs() or get_job(job_id).runs >= 2
        exmado.stop_workers()


def _restart_under_the_test(exmado: Exmado, server: PostgresServer) -> None:
    """Crash and restart the server; the test's own connection reconnects afterwards."""
    from exmado_tui.store.db import database

    server.restart()
    database.close()
