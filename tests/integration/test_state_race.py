"""Several processes racing to move the same jobs in one SQLite store: exactly one wins each."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from exmado_tui.errors import TransitionError
from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job
from tests.factories import insert_job

RACERS = 6
JOBS = 20


def _race(url: str, barrier, results, racer: int) -> None:
    open_database(url)
    wins = 0
    barrier.wait()
    for n in range(JOBS):
        try:
            transition(f"{n:032d}", JobStatus.VALIDATING, worker=f"racer-{racer}")
            wins += 1
        except TransitionError:
            pass
    results.put(wins)


def test_several_processes_one_winner_per_job(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    open_database(url)
    for n in range(JOBS):
        insert_job(f"{n:032d}", name="race")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    racers = [ctx.Process(target=_race, args=(url, barrier, results, i)) for i in range(RACERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
        assert racer.exitcode == 0
    total_wins = sum(results.get(timeout=5) for _ in racers)
    assert total_wins == JOBS
    owners = [job.worker for job in Job.select()]
    assert all(owner.startswith("racer-") for owner in owners)
    assert {job.status for job in Job.select()} == {"VALIDATING"}
