"""The fault scenarios the reliability suite runs short and the soak (`-m soak`) at full
length: kill -9 at points of two jobs, the store locked, DocuWare misbehaving, DocuWare down.

Each hits a running job of real processes, which must then end COMPLETED with every row once
and every file whole (`survived`). `Lengths` says how long each fault lasts: `SUITE` shortens a
fault whose real duration would only add wall time, together with the setting it races
against; `SOAK` has the issue's own figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from exmado_tui.store.queries import get_job
from tests.reliability.audit import survived
from tests.reliability.harness import Exmado, wait_for
from tests.reliability.tally import Tally

QUICK = {"heartbeat_s": 0.2, "stale_after_s": 1.5, "row_concurrency": 4}
Point = Callable[[], bool]


@dataclass(frozen=True)
class Lengths:
    """How long the faults last: the suite's, and the soak's (the issue's own figures)."""

    rows: int = 40
    docuware_down_s: float = 6
    store_locked_s: float = 5
    busy_timeout_s: float = 1  # the lock outlasts it five times, as 10 s does the default 2 s
    token_ttl_s: float = 2  # a 40-row job lasts ~3 s: tokens expire within it, as 20 s would


SUITE = Lengths()
SOAK = Lengths(rows=300, docuware_down_s=20, store_locked_s=10, busy_timeout_s=2, token_ttl_s=20)


def keys_with_hits(exmado: Exmado, n: int, skip: int = 0) -> list[str]:
    return exmado.sandbox.catalogue.invoice_numbers_with_hits(n + skip)[skip:]


def start_job(plant: Exmado, name: str, rows: int, skip: int = 0) -> tuple[str, list[str]]:
    keys = keys_with_hits(plant, rows, skip)
    return plant.start_job(plant.workbook(f"{name}.xlsx", keys)), keys


def progressed(job_id: str, rows: int) -> None:
    wait_for(lambda: get_job(job_id).done_rows >= rows, 60, f"{rows} rows done")


# -- workers killed ------------------------------------------------------------------------------


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


def phase(job_id: str) -> str:
    job = get_job(job_id)
    return f"{job.status.value} {job.done_rows}/{job.total_rows}"


# -- the store ------------------------------------------------------------------------------------

LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def lock_store(plant: Exmado, seconds: float) -> subprocess.Popen:
    """Another process holding the SQLite store's write lock for `seconds`."""
    store = plant.env["EXMADO_DB_URL"].removeprefix("sqlite:///")
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, store, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


def store_locked(plant: Exmado, tally: Tally, lengths: Lengths) -> None:
    plant.configure(f"[database]\nbusy_timeout_s = {lengths.busy_timeout_s}", **QUICK)
    plant.sandbox.faults.update(latency_ms=40)
    plant.start_worker()
    job_id, keys = start_job(plant, "locked", lengths.rows)
    progressed(job_id, 10)
    lock_store(plant, lengths.store_locked_s).wait(lengths.store_locked_s + 30)
    plant.wait(job_id, 120)
    survived(tally, job_id, keys, f"store locked {lengths.store_locked_s:g} s")


# -- DocuWare -------------------------------------------------------------------------------------

MISBEHAVIOURS: dict[str, dict[str, Any]] = {
    "10 % 5xx": {"error_rate": 0.10},
    "5 % 429 with Retry-After": {"throttle_rate": 0.05},
    "short-lived tokens": {},  # token_ttl from the lengths
    "latency spikes": {"spike_rate": 0.10, "spike_ms": 1500},
    "connection cut mid-download": {"cut_rate": 0.10},
    "body shorter than its Content-Length": {"short_rate": 0.10},
}
MISBEHAVIOURS["all of them at once"] = {
    key: value for faults in MISBEHAVIOURS.values() for key, value in faults.items()
}


def docuware_misbehaving(
    plant: Exmado, tally: Tally, lengths: Lengths, names: Iterable[str] = MISBEHAVIOURS
) -> None:
    """A job for each of `names` (of `MISBEHAVIOURS`), one after another on one worker."""
    plant.configure(**QUICK)
    plant.start_worker()
    for name in names:
        number = list(MISBEHAVIOURS).index(name)
        plant.sandbox.faults.reset()
        ttl = lengths.token_ttl_s if name in ("short-lived tokens", "all of them at once") else 3600
        faults = MISBEHAVIOURS[name]
        plant.sandbox.faults.update(latency_ms=20, token_ttl=ttl, expire_tokens=True, **faults)
        # Every fault at once is slow, not stuck: its stray 429s and slow answers teach the
        # budget 1-4 requests/s (40 rows took 70-80 s), so it runs half the rows.
        rows = lengths.rows // 2 if name == "all of them at once" else lengths.rows
        job_id, keys = start_job(plant, f"dw{number}", rows, skip=number * lengths.rows)
        plant.wait(job_id, max(120, 2 * lengths.rows))
        survived(tally, job_id, keys, f"DocuWare: {name}")


def docuware_down(plant: Exmado, tally: Tally, lengths: Lengths) -> None:
    plant.configure(**QUICK)
    plant.sandbox.faults.update(latency_ms=40)
    plant.start_worker()
    job_id, keys = start_job(plant, "down", lengths.rows)
    progressed(job_id, 10)
    plant.sandbox.stop()  # connections refused, open ones cut
    time.sleep(lengths.docuware_down_s)
    plant.sandbox.start()
    plant.wait(job_id, 180)
    survived(tally, job_id, keys, f"DocuWare down {lengths.docuware_down_s:g} s")
