"""Workers killed or stopped mid-job: kill -9 at ten points of two jobs, SIGTERM, a new worker.

After each fault a new worker finishes the job, and `survived` checks every row is there once,
the counters match the rows, and every file is whole, single and in the manifest.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from exmado_tui.queries import get_job
from tests.reliability.audit import survived
from tests.reliability.harness import Exmado, wait_for
from tests.reliability.tally import Tally

ROWS = 50
QUICK = {"heartbeat_s": 0.2, "stale_after_s": 1.5, "row_concurrency": 4}
Point = Callable[[], bool]


def keys_with_hits(exmado: Exmado, n: int, skip: int = 0) -> list[str]:
    return exmado.sandbox.catalogue.invoice_numbers_with_hits(n + skip)[skip:]


def phase(job_id: str) -> str:
    job = get_job(job_id)
    return f"{job.status.value} {job.done_rows}/{job.total_rows}"


def test_kill_9_at_eleven_points_of_two_jobs_then_a_new_worker(plant: Exmado, tally: Tally) -> None:
    kill_9_series(plant, tally, ROWS, mid_job=7)


def kill_9_series(plant: Exmado, tally: Tally, rows: int, mid_job: int) -> None:
    """Two jobs; kill -9 as the first worker starts, during ingest, `mid_job` times spread
    over the downloads, and as each job finishes its rows (the report); after each kill a new
    worker, killed in turn only once it has taken a job over."""
    plant.configure(max_concurrent_jobs=2, **QUICK)
    plant.sandbox.faults.update(latency_ms=40)
    keys = {"a": keys_with_hits(plant, rows), "b": keys_with_hits(plant, rows, skip=rows)}
    jobs = {name: plant.start_job(plant.workbook(f"{name}.xlsx", k)) for name, k in keys.items()}
    a, b = jobs["a"], jobs["b"]

    def both(attribute: str) -> int:
        return sum(getattr(get_job(job_id), attribute) for job_id in (a, b))

    def after_a_takeover(point: Point, runs: int) -> Point:
        ended = lambda: all(get_job(j).status.is_final for j in (a, b))  # noqa: E731
        return lambda: (both("runs") > runs or ended()) and point()

    spread = [2 * rows * (n + 1) // (mid_job + 2) for n in range(mid_job)]
    points: list[Point] = [
        lambda: get_job(a).status.value in ("VALIDATING", "RUNNING"),  # ingest
        *(lambda target=target: both("done_rows") >= target for target in spread),
        reporting(a),
        reporting(b),
    ]
    seen = [f"{phase(a)} | {phase(b)}"]
    plant.kill(plant.start_worker())  # as the first worker starts: claim, if any, under way
    for point in points:
        runs = both("runs")
        worker = plant.start_worker()
        wait_for(after_a_takeover(point, runs), 120, "the next kill point", poll=0.01)
        plant.kill(worker)
        seen.append(f"{phase(a)} | {phase(b)}")
    print(f"kill -9 at {len(seen)} points:", *seen, sep="\n  ")
    plant.start_worker()
    for name, job_id in jobs.items():
        plant.wait(job_id, 120)
        survived(tally, job_id, keys[name], f"kill -9 x{len(seen)}, job {name}")


def done(job_id: str, rows: int) -> Point:
    return lambda: get_job(job_id).done_rows >= rows


def reporting(job_id: str) -> Point:
    """Every row done, the report being written (or, missed, the job just ended)."""

    def check() -> bool:
        job = get_job(job_id)
        return (
            job.done_rows == job.total_rows > 0
            and job.status.value == "RUNNING"
            or (job.status.is_final)
        )

    return check


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
