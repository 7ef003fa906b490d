"""The figures `exmado workers`, the dashboard's Workers screen and the Prometheus metrics
share, computed here only so that the three never disagree.

From Redis (`read_queue_facts`): the workers alive with the age of their last heartbeat, the
queue's depth and the DocuWare request budgets. From the store (`read_job_facts`): the jobs a
worker holds or will continue, each with its heartbeat's age, and how long the oldest started
job has waited in the queue. The dashboard reads the two on its own threads (Redis on a
prober, the store on its reader); `read_worker_facts` reads both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exmado_tui.docuware.budget_store import BudgetStatus, read_statuses
from exmado_tui.job.status import JobStatus
from exmado_tui.services.queue import JobQueue, QueueDepth
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job
from exmado_tui.store.queries import JobSummary, active_jobs

JOB_KEYS = ("id", "name", "status", "worker", "done_rows", "total_rows", "heartbeat_at")


def age_s(then: datetime | None, now: datetime) -> float | None:
    """Seconds from `then` (naive UTC, as the store and the registry keep times) to `now`."""
    return None if then is None else max((now - then).total_seconds(), 0.0)


def seen_at(worker: dict[str, Any]) -> datetime | None:
    """When a registry entry was last refreshed (`seen`: ISO time in UTC, with a `Z`)."""
    seen = worker.get("seen", "")
    return datetime.fromisoformat(seen.rstrip("Z")) if seen else None


@dataclass(frozen=True)
class QueueFacts:
    """What Redis says: workers alive (registry entries), the queue, the request budgets."""

    workers: list[dict[str, Any]]
    depth: QueueDepth
    budgets: tuple[BudgetStatus, ...]
    read_at: datetime

    def heartbeat_age_s(self, worker: dict[str, Any]) -> float | None:
        return age_s(seen_at(worker), self.read_at)


def read_queue_facts(queue: JobQueue) -> QueueFacts:
    """Raises `redis.RedisError` when Redis cannot be asked."""
    workers, depth = queue.alive_workers(), queue.depth()
    return QueueFacts(workers, depth, tuple(read_statuses(queue.broker.client)), utcnow())


@dataclass(frozen=True)
class JobFacts:
    """What the store says: jobs held, running or paused, and the queue's oldest wait."""

    jobs: list[JobSummary]
    oldest_waiting_s: float | None  # the longest a started job has been PENDING, queued
    read_at: datetime

    def heartbeat_age_s(self, job: JobSummary) -> float | None:
        return age_s(job.heartbeat_at, self.read_at)


def read_job_facts() -> JobFacts:
    now = utcnow()
    waiting = Job.select(Job.queued_at).where(
        (Job.status == JobStatus.PENDING) & Job.queued_at.is_null(False)
    )
    oldest = waiting.order_by(Job.queued_at).limit(1).scalar()
    return JobFacts(active_jobs(), age_s(oldest, now), now)


@dataclass(frozen=True)
class WorkerFacts:
    queue: QueueFacts
    store: JobFacts

    def as_json(self) -> dict[str, Any]:
        """`exmado workers --json`."""
        queue, store = self.queue, self.store
        workers = [{**w, "heartbeat_age_s": queue.heartbeat_age_s(w)} for w in queue.workers]
        jobs = [
            {
                **{key: getattr(job, key) for key in JOB_KEYS},
                "heartbeat_age_s": store.heartbeat_age_s(job),
                "wait_reason": job.wait_reason,
            }
            for job in store.jobs
        ]
        return {
            "workers": workers,
            "queue": {**vars(queue.depth), "oldest_waiting_s": store.oldest_waiting_s},
            "jobs": jobs,
            "budgets": [b.as_json() for b in queue.budgets],
        }


def read_worker_facts(queue: JobQueue) -> WorkerFacts:
    """Both halves; raises `redis.RedisError` when Redis cannot be asked."""
    return WorkerFacts(read_queue_facts(queue), read_job_facts())
