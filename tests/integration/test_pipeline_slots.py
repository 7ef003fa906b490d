"""Job slots in a real Redis, and the middleware that holds a job back while they are full."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from exmado_tui.job.liveness.hold import SLOTS_KEY, JobSlots
from exmado_tui.job.liveness.presence import MARKER_KEY, Watchdog
from exmado_tui.services.queue import JOBS_QUEUE, RUN_JOB, WORKER_KEY_PREFIX
from exmado_tui.store.models import Job, JobEvent
from tests.factories import beat_ago
from tests.pipeline_harness import Pipeline
from workers.broker import JobSlots as JobSlotsMiddleware
from workers.broker import transient


def lease_holders(slots: JobSlots) -> list[str]:
    """The jobs whose lease is current (expired ones purged first), read from Redis."""
    slots.running()
    return [m.decode() for m in slots.client.zrange(SLOTS_KEY, 0, -1)]


@contextlib.contextmanager
def gated(pipe: Pipeline) -> Iterator[tuple[StubBroker, Any, list[str]]]:
    """A stub broker behind the JobSlots gate, an actor noting the jobs it ran, a worker."""
    broker = StubBroker(middleware=[CurrentMessage()])
    broker.add_middleware(JobSlotsMiddleware(pipe.runtime, wait_ms=100))
    ran: list[str] = []

    @dramatiq.actor(actor_name=RUN_JOB, queue_name=JOBS_QUEUE, broker=broker)
    def run_job(job_id: str) -> None:
        ran.append(job_id)

    worker = Worker(broker, worker_timeout=50)
    worker.start()
    try:
        yield broker, run_job, ran
    finally:
        worker.stop()


@pytest.fixture
def slots(redis_url: str) -> JobSlots:
    return JobSlots(redis.Redis.from_url(redis_url), limit=2, ttl_s=1)


def test_slots_hold_the_limit_and_leases_expire(slots: JobSlots) -> None:
    assert slots.acquire("a", "m1").taken and slots.acquire("b", "m2").taken
    full = slots.acquire("c", "m3")
    assert (full.taken, full.held_elsewhere, full.running) == (False, False, 2)
    assert slots.acquire("a", "m1").taken  # the owner again: a renewal
    assert slots.acquire("a", "other").held_elsewhere
    assert not slots.release("a", "other") and slots.release("a", "m1")
    assert slots.acquire("c", "m3").taken
    time.sleep(1.1)  # the leases are Redis keys: their TTL runs on Redis's own clock
    assert slots.running() == 0 and slots.acquire("d", "m4").taken


def test_renew_keeps_a_lease_and_refuses_a_stranger(slots: JobSlots) -> None:
    slots.acquire("a", "m1")
    for _ in range(3):
        time.sleep(0.4)  # Redis's clock, not ours: a renewal must beat the key's real TTL
        assert slots.renew("a", "m1")
    assert lease_holders(slots) == ["a"]
    assert not slots.renew("a", "m2")


def test_only_transient_errors_are_retried() -> None:
    from exmado_tui.errors import QueueUnavailableError, WorkbookError

    assert transient(0, QueueUnavailableError("x"))
    assert not transient(0, WorkbookError("x")) and not transient(5, QueueUnavailableError("x"))


def test_a_job_without_a_slot_waits_pending_without_spending_retries(
    tmp_path: Path, redis_url: str
) -> None:
    pipe = Pipeline(tmp_path, redis_url, max_concurrent_jobs=1)
    jobs = [pipe.create([100001]) for _ in range(2)]
    pipe.runtime.slots.acquire("someone-else", "m0")
    with gated(pipe) as (broker, run_job, ran):
        for job_id in jobs:
            run_job.send(job_id)
        broker.join(JOBS_QUEUE, fail_fast=False)
        assert ran == []
        reasons = {j.wait_reason for j in Job.select()}
        assert reasons == {"waiting: 1 of 1 jobs running"}
        assert {j.status for j in Job.select()} == {"PENDING"}
        depth = pipe.runtime.queue.depth()
        assert depth.ready + depth.delayed == 2  # sent again, with a delay


def test_the_gate_lets_a_job_through_and_releases_its_slot(tmp_path: Path, redis_url: str) -> None:
    pipe = Pipeline(tmp_path, redis_url, max_concurrent_jobs=1)
    job_id = pipe.create([100001])
    broker = StubBroker(middleware=[CurrentMessage()])
    broker.add_middleware(JobSlotsMiddleware(pipe.runtime, wait_ms=100))
    held: list[list[str]] = []

    @dramatiq.actor(actor_name=RUN_JOB, queue_name=JOBS_QUEUE, broker=broker)
    def run_job(job_id: str) -> None:
        held.append(lease_holders(pipe.runtime.slots))

    worker = Worker(broker, worker_timeout=50)
    worker.start()
    try:
        run_job.send(job_id)
        broker.join(JOBS_QUEUE, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
    assert held == [[job_id]] and lease_holders(pipe.runtime.slots) == []


def test_watchdog_hands_back_a_silent_job_once_and_refills_a_wiped_redis(
    tmp_path: Path, redis_url: str
) -> None:
    pipe = Pipeline(tmp_path, redis_url, stale_after_s=1)
    job_id = pipe.create([100001])
    Job.update(status="RUNNING", worker="dead:1", heartbeat_at=beat_ago(1.1)).where(
        Job.id == job_id
    ).execute()
    dogs = [Watchdog(pipe.runtime), Watchdog(pipe.runtime)]
    assert dogs[0].take_over_silent_jobs() == [job_id]
    assert dogs[1].take_over_silent_jobs() == []
    assert Job.get_by_id(job_id).worker == ""
    said = [(e.level, e.message) for e in JobEvent.select().where(JobEvent.job == job_id)]
    assert (
        said.count(("warning", "Worker dead:1 stopped answering; the job goes to another worker."))
        == 1
    )
    # First pass: no marker yet, but Redis holds the job's message (a first start): nothing
    # is queued again, nor said to be.
    assert dogs[0].refill_after_wipe() == [] and pipe.runtime.redis.get(MARKER_KEY)
    assert not JobEvent.select().where(JobEvent.message.contains("Queued again")).exists()
    pipe.runtime.redis.flushall()
    assert dogs[1].refill_after_wipe() == [job_id] and pipe.runtime.redis.get(MARKER_KEY)


def test_watchdog_leaves_a_silent_job_to_a_live_worker_that_says_it_is_running_it(
    tmp_path: Path, redis_url: str
) -> None:
    pipe = Pipeline(tmp_path, redis_url, stale_after_s=1)
    slow, dead = pipe.create([100001]), pipe.create([100002])
    for job_id, worker in ((slow, "slow:1"), (dead, "dead:2")):
        Job.update(status="RUNNING", worker=worker, heartbeat_at=beat_ago(1.1)).where(
            Job.id == job_id
        ).execute()
    entry = {"id": "slow:1", "jobs": [slow]}  # alive, reading a huge workbook without a beat
    pipe.runtime.redis.set(WORKER_KEY_PREFIX + "slow:1", json.dumps(entry), ex=10)
    assert Watchdog(pipe.runtime).take_over_silent_jobs() == [dead]
    assert Job.get_by_id(slow).worker == "slow:1"
    pipe.runtime.redis.delete(WORKER_KEY_PREFIX + "slow:1")  # its process died
    assert Watchdog(pipe.runtime).take_over_silent_jobs() == [slow]


def test_a_retried_job_s_message_waits_for_the_last_run_s_lease_not_dropped(
    tmp_path: Path, redis_url: str
) -> None:
    """Retry right after a cancel or terminate: the old message may still hold the lease."""
    pipe = Pipeline(tmp_path, redis_url, max_concurrent_jobs=2)
    job_id = pipe.create([100001])
    Job.update(queued_at=Job.created_at, worker="").where(Job.id == job_id).execute()
    pipe.runtime.slots.acquire(job_id, "the-cancelled-run")  # still writing its report
    with gated(pipe) as (broker, run_job, ran):
        run_job.send(job_id)
        broker.join(JOBS_QUEUE, fail_fast=False)
    assert ran == [] and Job.get_by_id(job_id).status == "PENDING"
    depth = pipe.runtime.queue.depth()
    assert depth.ready + depth.delayed == 1  # sent again, not lost: nobody else would send it
