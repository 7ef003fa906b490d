"""A dead holder's job taken over: the watchdog every worker process runs.

Every `Clocks.watchdog_every_s` it hands back the active jobs whose holder went silent
(`take_over_silent`: the rule is in this package's `__init__`), told which jobs the live workers
in the registry say they are running, and sends each handed-back job again. Wiped Redis: a
marker key that only a wipe or a restart without persistence removes; whoever re-creates it
(SET NX) queues every unfinished job again, but for those in hand.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import redis

from exmado_tui.errors import StoreIdentityError
from exmado_tui.job.liveness import Clocks
from exmado_tui.job.liveness.presence import WorkerProcess, repeat
from exmado_tui.job.service import JobService
from exmado_tui.job.status import ACTIVE, Event
from exmado_tui.job.transitions import update_with_event
from exmado_tui.services.queue import NAMESPACE
from exmado_tui.store.db import database, unwritable_store, utcnow
from exmado_tui.store.identity import follow_store
from exmado_tui.store.models import Job

log = logging.getLogger("exmado.workers")
MARKER_KEY = f"{NAMESPACE}:alive-since"


class Watchdog:
    def __init__(self, process: WorkerProcess) -> None:
        self.process = process
        self.clocks = process.clocks

    def start(self, stop: threading.Event) -> threading.Thread:
        explain = partial(_explain, url=self.process.settings.database_url)
        return repeat(self.tick, self.clocks.watchdog_every_s, stop, "exmado-watchdog", explain)

    def tick(self) -> None:
        follow_store(self.process.settings)  # never take over jobs in a store swapped in
        database.connect(reuse_if_open=True)
        try:
            self.refill_after_wipe()
            self.take_over_silent_jobs()
        finally:
            database.close()

    def refill_after_wipe(self) -> list[str]:
        try:
            fresh = self.process.redis.set(MARKER_KEY, self.process.worker_id, nx=True)
        except redis.RedisError:
            return []
        if not fresh:
            return []
        service = JobService(self.process.settings, self.process.queue)
        # A first start (or a restart that kept the queue) lost nothing: only the jobs whose
        # message Redis no longer holds are queued again, and said to be.
        held: set[str] = set()
        with contextlib.suppress(redis.RedisError):  # unread: queue them all (a safe extra)
            held = self.process.queue.held_job_ids()
        ids = service.requeue_unfinished(fresh_s=self.clocks.takeover_after_s, held=held)
        if ids:
            log.warning("Redis had no marker (wiped or restarted): queued %d jobs again", len(ids))
        return ids

    def take_over_silent_jobs(self) -> list[str]:
        busy = self._busy_holders()
        return take_over_silent(self.clocks, busy, self.process.queue.enqueue_run)

    def _busy_holders(self) -> set[tuple[str, str]]:
        """(worker id, job id) for each job a live worker says it is running."""
        try:
            alive = self.process.queue.alive_workers()
        except (redis.RedisError, ValueError):  # Redis away or an entry unreadable: trust beats
            return set()
        return {(w.get("id", ""), job) for w in alive for job in w.get("jobs", [])}


def _explain(exc: Exception, url: str) -> str | None:
    """The sentence a failed tick is logged with: the store gone or swapped, or unwritable."""
    return str(exc) if isinstance(exc, StoreIdentityError) else unwritable_store(exc, url)


# -- the store's compare-and-set --------------------------------------------------------------


def take_over_silent(
    clocks: Clocks, busy: set[tuple[str, str]], send: Callable[[str], object]
) -> list[str]:
    """Hand back each silent active job and `send` it again; the ids this call handed back.

    `busy` holds (worker id, job id) for each job a live worker says it is running.
    """
    now = utcnow()
    silent = _silent(clocks, now)
    taken = []
    for job in Job.select(Job.id, Job.worker).where(silent):
        if (job.worker, job.id) not in busy and _take_over(job.id, job.worker, silent, now):
            send(job.id)
            taken.append(job.id)
    return taken


def _silent(clocks: Clocks, now: datetime) -> Any:
    """Active, and held with no beat for the takeover age, held by nobody with none for the
    lost-message age, or never beaten."""
    held_silent = (Job.worker != "") & (
        Job.heartbeat_at < now - timedelta(seconds=clocks.takeover_after_s)
    )
    message_lost = (Job.worker == "") & (
        Job.heartbeat_at < now - timedelta(seconds=clocks.lost_message_after_s)
    )
    never_beaten = Job.heartbeat_at.is_null()
    return Job.status.in_(ACTIVE) & (held_silent | message_lost | never_beaten)


def _take_over(job_id: str, holder: str, silent: Any, now: datetime) -> bool:
    """The compare-and-set: of several watchdogs, one hands the job back, with its event in
    the same transaction (`update_with_event`, as a transition does)."""
    stopped = Event(
        f"Worker {holder} stopped answering; the job goes to another worker.", "warning"
    )
    hand_back = Job.update(worker="", heartbeat_at=now, wait_reason="taken over after silence")
    said = stopped if holder else None  # a job nobody held lost its message: no one stopped
    return update_with_event(job_id, hand_back.where((Job.id == job_id) & silent), said) == 1
