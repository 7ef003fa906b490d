"""Presence: a worker process known alive (its key in the registry), its own stop when its parent
dies, and the watchdog that takes over the job of a holder gone silent. Each runs in a daemon
thread of every worker process (`repeat`); the rule is in this package's `__init__`.

Every `PRESENCE_EVERY_S` each worker process refreshes a short-lived key in Redis naming the
jobs it runs (`Registry`), and another thread looks at its parent's pid (`watch_parent`).
Every `Clocks.watchdog_every_s` its `Watchdog` hands back the active jobs whose holder went
silent (`take_over_silent`), told which jobs the live workers in the registry say they are
running, and sends each handed-back job again. Wiped Redis: a marker key that only a wipe or a
restart without persistence removes; whoever re-creates it (SET NX) queues every unfinished job
again, but for those in hand.

A worker process whose parent dies stops by itself, handing its job back. Dramatiq's worker
processes are children of the `exmado worker` process supervisord runs. Killed with SIGKILL
(supervisord's stop timeout, the OOM killer, an operator), that parent can no longer forward
TERM, and its children lived on outside any supervision, running jobs beside the workers that
replaced them. When the process is re-parented (to init or a subreaper) it sends itself SIGTERM
— Dramatiq's ordinary stop — so the job in flight is handed back at its next row and queued
again. Why a thread rather than prctl(PR_SET_PDEATHSIG): that signal fires when the *thread*
that forked the child ends rather than the process, it is Linux-only, and it leaves no moment to
move logging off the dead parent's pipe first. The pipe's read end lives on in sibling
processes, so an orphan logging into it blocks once it fills — and then ignores TERM, as the
orphans seen in the field did. Logging moves to the process's own stderr (supervisord's log).
The parent watch is a thread of its own, not a step of the registry's: a Redis that hangs must
not keep an orphan running.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TextIO

import redis

from exmado_tui.config.settings import Settings
from exmado_tui.errors import StoreIdentityError
from exmado_tui.job.liveness import PRESENCE_EVERY_S, Clocks
from exmado_tui.job.service import JobService
from exmado_tui.job.status import ACTIVE, Event
from exmado_tui.job.transitions import update_with_event
from exmado_tui.services.queue import NAMESPACE, WORKER_KEY_PREFIX, JobQueue
from exmado_tui.store.db import database, unwritable_store, utcnow
from exmado_tui.store.identity import follow_store
from exmado_tui.store.models import Job

log = logging.getLogger("exmado.workers")
MARKER_KEY = f"{NAMESPACE}:alive-since"

Explain = Callable[[Exception], str | None]


class WorkerProcess(Protocol):
    """What liveness needs of a worker process (`workers.runtime.Runtime` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def redis(self) -> redis.Redis: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def clocks(self) -> Clocks: ...

    @property
    def worker_id(self) -> str: ...


class Holder(Protocol):
    """The process's Dramatiq worker, as the registry tells of it."""

    threads: int

    @property
    def jobs(self) -> set[str]: ...


# -- a thread that repeats one action ---------------------------------------------------------


def repeat(
    action: Callable[[], None],
    interval_s: float,
    stop: threading.Event,
    name: str,
    explain: Explain = lambda exc: None,
) -> threading.Thread:
    """Run `action` now and every `interval_s` after, in a daemon thread, until `stop` is set;
    a failure is logged, the next pass runs.

    A failure `explain` puts in a sentence is logged as that sentence; any other with its
    traceback. (Repeats are held back by the worker's OncePerMinute filter.)
    """

    def loop() -> None:
        while True:
            try:
                action()
            except Exception as exc:
                _log_failure(name, interval_s, explain(exc))
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def _log_failure(name: str, interval_s: float, sentence: str | None) -> None:
    if sentence:
        log.error(sentence)  # as the worker said it at boot: the same line, held back
    else:
        log.exception("%s failed; trying again in %.1f s", name, interval_s)


# -- the registry -----------------------------------------------------------------------------


def key_of(process: WorkerProcess) -> str:
    return WORKER_KEY_PREFIX + process.worker_id


class Registry:
    """Announce this process every `PRESENCE_EVERY_S` seconds until `stop` is set."""

    def __init__(self, process: WorkerProcess, holder: Holder) -> None:
        self.process = process
        self.holder = holder
        self.since = utcnow().isoformat(timespec="seconds") + "Z"

    def start(self, stop: threading.Event) -> threading.Thread:
        return repeat(self._announce_or_warn, PRESENCE_EVERY_S, stop, "exmado-registry")

    def _announce_or_warn(self) -> None:
        try:
            self.announce()
        except redis.RedisError as exc:  # Redis away for a moment: a warning, not a traceback
            log.warning("Cannot announce this worker in Redis: %s", exc)

    def entry(self) -> dict[str, Any]:
        return {
            "id": self.process.worker_id,
            "host": self.process.settings.host,
            "pid": os.getpid(),
            "since": self.since,
            "seen": utcnow().isoformat(timespec="seconds") + "Z",
            "threads": self.holder.threads,
            "jobs": sorted(self.holder.jobs),
        }

    def announce(self) -> None:
        self.process.redis.set(key_of(self.process), json.dumps(self.entry()), ex=self.ttl_s)

    @property
    def ttl_s(self) -> int:
        """How long a killed worker still looks alive (`Clocks.presence_ttl_s`)."""
        return self.process.clocks.presence_ttl_s


def forget(process: WorkerProcess) -> None:
    with contextlib.suppress(redis.RedisError):
        process.redis.delete(key_of(process))


# -- the parent watch -------------------------------------------------------------------------


def watch_parent(parent: int, check_s: float = PRESENCE_EVERY_S) -> threading.Thread:
    """Stop this process (SIGTERM) once `parent` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_s)
        stop_as_orphan(parent)

    thread = threading.Thread(target=watch, name="exmado-parent-watch", daemon=True)
    thread.start()
    return thread


def stop_as_orphan(parent: int) -> None:
    log_to_own_stderr()
    log.warning(
        "The main worker process (pid %d) is gone; worker process %d stops and hands its job back.",
        parent,
        os.getpid(),
    )
    os.kill(os.getpid(), signal.SIGTERM)


def log_to_own_stderr() -> None:
    """Point logging and sys.stdout/stderr at file descriptor 2, which Dramatiq had
    redirected into its pipe to the parent that no longer reads it."""
    stream: TextIO = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives on
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            # Not setStream: it flushes the old stream first, which may block on the pipe.
            handler.stream = stream
    sys.stdout = sys.stderr = stream


# -- the watchdog -----------------------------------------------------------------------------


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
