"""Workers killed or stopped mid-job: kill -9 at ten points of two jobs, SIGTERM, a new worker.

After each fault a new worker finishes the job, and `survived` checks every row is there once,
the counters match the rows, and every file is whole, single and in the manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from typing import Any

from exmado_tui.store.queries import get_job
from tests.reliability.audit import survived
from tests.reliability.faults import QUICK, keys_with_hits, kill_9_series
from tests.reliability.harness import Exmado, wait_for
from tests.reliability.tally import Tally

ROWS = 50


def test_kill_9_at_eleven_points_of_two_jobs_then_a_new_worker(plant: Exmado, tally: Tally) -> None:
    kill_9_series(plant, tally, ROWS, mid_job=7)


def test_sigterm_mid_job_hands_the_job_to_the_next_worker(plant: Exmado, tally: Tally) -> None:
    plant.configure(**{**QUICK, "row_concurrency": 2})
    plant.sandbox.faults.update(latency_ms=100)  # ~2.5 s of downloads: time to stop it midway
    keys = keys_with_hits(plant, ROWS, skip=2 * ROWS)
    job_id = plant.start_job(plant.workbook("t.xlsx", keys))
    first = plant.start_worker()
    wait_for(lambda: get_job(job_id).done_rows >= 10, 60, "progress")
    os.kill(first.pid, signal.SIGTERM)  # to the main process, as supervisord stops it
    first.wait(30)
    handed = get_job(job_id)  # handed back and queued again, for whoever comes next
    assert handed.worker == ""
    plant.start_worker()
    plant.wait(job_id, 60)
    survived(tally, job_id, keys, "SIGTERM mid-job")


def test_kill_9_during_a_query_export_loses_and_duplicates_nothing(
    plant: Exmado, tally: Tally
) -> None:
    """A query job killed while its query is read and twice during its downloads: the next
    worker reads on and exports every document once."""
    plant.configure(**QUICK)
    plant.sandbox.faults.update(latency_ms=40)
    wanted = "DOC_DATE=2021-01-01..2021-03-31"
    created = plant.cli(
        "jobs", "create", "--query", "Invoices", wanted, "--profile", "invoices",
        "--output", str(plant.tmp_path / "query"), "--start", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    keys = [str(d.id) for d in plant.sandbox.catalogue.documents("Invoices") if in_first_quarter(d)]
    points = [
        lambda: get_job(job_id).status.value == "VALIDATING",  # the query being read
        lambda: get_job(job_id).done_rows >= len(keys) // 3,
        lambda: get_job(job_id).done_rows >= 2 * len(keys) // 3,
    ]
    for point in points:
        worker = plant.start_worker()
        wait_for(point, 120, "the next kill point", poll=0.01)
        plant.kill(worker)
    plant.start_worker()
    plant.wait(job_id, 120)
    assert get_job(job_id).total_rows == len(keys) > 50
    survived(tally, job_id, keys, "kill -9 x3 during a query export")


def in_first_quarter(document: Any) -> bool:
    day = dt.datetime.fromtimestamp(document.value("DOC_DATE") / 1000, dt.UTC).date()
    return dt.date(2021, 1, 1) <= day <= dt.date(2021, 3, 31)
