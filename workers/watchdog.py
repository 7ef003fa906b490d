"""The watchdog each worker process runs: take over silent jobs, refill a wiped Redis.

Silent job: RUNNING or VALIDATING, held by a worker whose heartbeat is older than
`jobs.stale_after_s` — unless that worker is alive in the registry and lists the job among those
it is running (a phase that went long without a beat is slow, not dead: handing its job over
ran one job in every thread of the same worker). One compare-and-set on `heartbeat_at` hands
it back (worker cleared), so of several watchdogs exactly one re-enqueues it; the next worker to
get the message continues at its first unfinished row. Wiped Redis: a marker key that only a
wipe or a restart without persistence removes; whoever re-creates it (SET NX) queues every
unfinished job again.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import partial

import redis

from exmado_tui import lifecycle
from exmado_tui.db import database, unwritable_store, utcnow
from exmado_tui.events import record_event
from exmado_tui.jobs import JobService
from exmado_tui.models import Job
from exmado_tui.queue import NAMESPACE
from workers.periodic import repeat
from workers.runtime import Runtime

log = logging.getLogger("exmado.workers")
MARKER_KEY = f"{NAMESPACE}:alive-since"
ACTIVE = [s.value for s in lifecycle.ACTIVE]
LOST_MESSAGE_FACTOR = 3  # an unheld active job this many stale periods old lost its message


class Watchdog:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        jobs = runtime.settings.jobs
        self.stale = timedelta(seconds=jobs.stale_after_s)
        self.interval = max(0.2, min(jobs.heartbeat_s, jobs.stale_after_s / 2))

    def start(self, stop: threading.Event) -> threading.Thread:
        url = self.runtime.settings.database_url
        explain = partial(unwritable_store, url=url)
        return repeat(self.tick, self.interval, stop, "exmado-watchdog", explain)

    def tick(self) -> None:
        database.connect(reuse_if_open=True)
        try:
            self.refill_after_wipe()
            self.take_over_silent_jobs()
        finally:
            database.close()

    def refill_after_wipe(self) -> list[str]:
        try:
            fresh = self.runtime.redis.set(MARKER_KEY, self.runtime.worker_id, nx=True)
        except redis.RedisError:
            return []
        if not fresh:
            return []
        service = JobService(self.runtime.settings, self.runtime.queue)
        ids = service.requeue_unfinished(fresh_s=self.stale.total_seconds())
        if ids:
            log.warning("Redis had no marker (wiped or restarted): queued %d jobs again", len(ids))
        return ids

    def take_over_silent_jobs(self) -> list[str]:
        now = utcnow()
        silent = (Job.worker != "") & (Job.heartbeat_at < now - self.stale)
        lost = (Job.worker == "") & (Job.heartbeat_at < now - self.stale * LOST_MESSAGE_FACTOR)
        stale = (Job.status.in_(ACTIVE)) & (silent | lost | Job.heartbeat_at.is_null())
        taken = []
        busy = self._busy_holders()
        for job in Job.select(Job.id, Job.worker).where(stale):
            if (job.worker, job.id) in busy:
                continue
            handed = (
                Job.update(worker="", heartbeat_at=now, wait_reason="taken over after silence")
                .where((Job.id == job.id) & stale)
                .execute()
            )
            if handed == 1:
                if job.worker:
                    record_event(
                        job.id,
                        f"Worker {job.worker} stopped answering; the job goes to another worker.",
                        "warning",
                    )
                self.runtime.queue.enqueue_run(job.id)
                taken.append(job.id)
        return taken

    def _busy_holders(self) -> set[tuple[str, str]]:
        """(worker id, job id) for each job a live worker says it is running."""
        try:
            alive = self.runtime.queue.alive_workers()
        except (redis.RedisError, ValueError):  # Redis away or an entry unreadable: trust beats
            return set()
        return {(w.get("id", ""), job) for w in alive for job in w.get("jobs", [])}
