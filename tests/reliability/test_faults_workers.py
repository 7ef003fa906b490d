"""Workers killed or stopped mid-job: kill -9 at ten points of two jobs, SIGTERM, a new worker.

After each fault a new worker finishes the job, and `survived` checks every row is there once,
the counters match the rows, and every file is whole, single and in the manifest.
"""

from __future__ import annotations

import os
import signal

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
