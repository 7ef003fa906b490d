"""The watchdog each worker process runs: take over silent jobs, refill a wiped Redis.

Every `Clocks.watchdog_every_s` it asks `ownership.take_over_silent` to hand back the jobs whose
holder went silent (the rule and its clocks are at the top of `exmado_tui/job/ownership.py`),
telling it which jobs the live workers in the registry say they are running, and sends each
handed-back job again. Wiped Redis: a marker key that only a wipe or a restart without
persistence removes; whoever re-creates it (SET NX) queues every unfinished job again, but for
those in hand.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import partial

import redis

from exmado_tui.errors import StoreIdentityError
from exmado_tui.job import ownership
from exmado_tui.job.service import JobService
from exmado_tui.services.queue import NAMESPACE
from exmado_tui.store.db import database, unwritable_store
from exmado_tui.store.identity import follow_store
from workers.periodic import repeat
from workers.runtime import Runtime

log = logging.getLogger("exmado.workers")
MARKER_KEY = f"{NAMESPACE}:alive-since"


class Watchdog:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.clocks = runtime.clocks

    def start(self, stop: threading.Event) -> threading.Thread:
        explain = partial(_explain, url=self.runtime.settings.database_url)
        return repeat(self.tick, self.clocks.watchdog_every_s, stop, "exmado-watchdog", explain)

    def tick(self) -> None:
        follow_store(self.runtime.settings)  # never take over jobs in a store swapped in
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
        # A first start (or a restart that kept the queue) lost nothing: only the jobs whose
        # message Redis no longer holds are queued again, and said to be.
        held: set[str] = set()
        with contextlib.suppress(redis.RedisError):  # unread: queue them all (a safe extra)
            held = self.runtime.queue.held_job_ids()
        ids = service.requeue_unfinished(fresh_s=self.clocks.takeover_after_s, held=held)
        if ids:
            log.warning("Redis had no marker (wiped or restarted): queued %d jobs again", len(ids))
        return ids

    def take_over_silent_jobs(self) -> list[str]:
        busy = self._busy_holders()
        return ownership.take_over_silent(self.clocks, busy, self.runtime.queue.enqueue_run)

    def _busy_holders(self) -> set[tuple[str, str]]:
        """(worker id, job id) for each job a live worker says it is running."""
        try:
            alive = self.runtime.queue.alive_workers()
        except (redis.RedisError, ValueError):  # Redis away or an entry unreadable: trust beats
            return set()
        return {(w.get("id", ""), job) for w in alive for job in w.get("jobs", [])}


def _explain(exc: Exception, url: str) -> str | None:
    """The sentence a failed tick is logged with: the store gone or swapped, or unwritable."""
    return str(exc) if isinstance(exc, StoreIdentityError) else unwritable_store(exc, url)
