"""The module `dramatiq` starts: the Redis broker and our middleware, built from settings.

`dramatiq workers.broker:setup workers.actors` (what `exmado worker` runs) calls `setup()`
before it imports the actors; importing this module reads nothing. `setup()` reads the same
configuration as the CLI: defaults, then `EXMADO_CONFIG` (or the user config file), then the
environment. Middleware, in order: Prometheus metrics (with `[metrics] listen`), repeated log
lines said once a minute, a process whose parent died stops, a stopping process takes no new
job, the job store per message, the current message, job slots (`max_concurrent_jobs` across
hosts), the time limit (a backstop: the pipeline stops itself at `jobs.job_timeout_s`), retries
for transient errors only, shutdown notices, worker presence (registry + watchdog), signing out
of DocuWare at the end (a cookie session holds a licence seat). Ours are defined below
`build_broker`; those of liveness (job slots, presence and the watchdog, the parent watch) plug
its rule into Dramatiq. A dead worker's messages come back after `broker.heartbeat_timeout_s`
(this and every other clock of liveness: `exmado_tui/job/liveness/__init__.py`).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import dramatiq
import peewee
from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    SkipMessage,
    TimeLimit,
)

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.errors import RetryableError, StoreIdentityError
from exmado_tui.formatting import quiet_repeats, visible_logs
from exmado_tui.job.liveness import presence
from exmado_tui.job.liveness.hold import Gate, gate
from exmado_tui.services.queue import RUN_JOB, make_broker
from exmado_tui.services.supervision import announce_ready, run_dir
from exmado_tui.store.db import database, unwritable_store
from exmado_tui.store.identity import follow_store, open_store
from workers.metrics import Metrics
from workers.runtime import Runtime

log = logging.getLogger("exmado.workers")

MAX_RETRIES = 5
MIN_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 300_000
TIME_LIMIT_GRACE_S = 60


def transient(retries: int, exc: BaseException) -> bool:
    """Retry only what could pass: network, throttling, a busy server or store."""
    return isinstance(exc, RetryableError) and retries < MAX_RETRIES


def time_limit_ms(settings: Settings) -> int:
    return int((settings.jobs.job_timeout_s + TIME_LIMIT_GRACE_S) * 1000)


def build_broker(settings: Settings, runtime: Runtime) -> RedisBroker:
    again_ms = int(runtime.clocks.again_s * 1000)
    # First, so that it sees every message begin before another middleware skips it.
    counted = [Metrics(settings)] if settings.metrics.listen else []
    return make_broker(
        settings.broker,
        middleware=[
            *counted,
            QuietRepeats(),
            StopWithParent(),
            Stopping(runtime, again_ms),
            StoreConnection(runtime, again_ms),
            CurrentMessage(),
            JobSlots(runtime, again_ms),
            TimeLimit(time_limit=time_limit_ms(settings), interval=1000),
            Retries(
                max_retries=MAX_RETRIES,
                min_backoff=MIN_BACKOFF_MS,
                max_backoff=MAX_BACKOFF_MS,
                retry_when=transient,
            ),
            ShutdownNotifications(notify_shutdown=True),
            Presence(runtime),
            SignOut(runtime),
        ],
    )


_runtime: Runtime | None = None


def setup() -> None:
    """Configure this worker process: settings, its runtime and the global Dramatiq broker."""
    global _runtime
    visible_logs()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too many
    settings = load_settings()
    _runtime = Runtime.from_settings(settings)
    dramatiq.set_broker(build_broker(settings, _runtime))
    announce_ready(run_dir(settings))


def current_runtime() -> Runtime:
    """The runtime `setup()` made for this process."""
    if _runtime is None:
        raise RuntimeError("workers.broker.setup() has not run in this process")
    return _runtime


# --- our middleware --------------------------------------------------------------------


class QuietRepeats(Middleware):
    """In each worker process, a log line that repeats (Redis down, a store that cannot be
    written) is written once, then once a minute."""

    def after_process_boot(self, broker: Broker) -> None:
        quiet_repeats()


class StoreConnection(Middleware):
    """Open the job store when a worker process boots, checked as this data folder's own
    (`store.identity`); connect per message, close after. A message that comes while the store
    is gone or swapped goes back to the queue a little later (said once a minute): restored,
    the store runs it; replaced by `exmado store init`, the job is not there and it ends."""

    def __init__(self, runtime: Runtime, again_ms: int) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.again_ms = again_ms

    def after_process_boot(self, broker: Broker) -> None:
        try:
            open_store(self.settings)
        except StoreIdentityError as exc:
            log.error("%s", exc)
        except peewee.OperationalError as exc:
            sentence = unwritable_store(exc, self.settings.database_url)
            if sentence is None:
                raise
            log.error(sentence)  # each message says it again, once a minute (formatting)
        database.close()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        _close()  # a connection a failed message left open may be dead: start afresh
        try:
            follow_store(self.settings)
        except StoreIdentityError as exc:
            log.error("%s", exc)
            if (job_id := _job_of(message)) is not None:
                self.runtime.queue.enqueue_run(job_id, delay_ms=self.again_ms)
            raise SkipMessage("the job store is not this data folder's") from None
        database.connect(reuse_if_open=True)

    def after_process_message(self, broker: Broker, message: MessageProxy, **_: Any) -> None:
        _close()

    after_skip_message = after_process_message


def _close() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


class Stopping(Middleware):
    """A worker process that is stopping takes no new job.

    While Dramatiq stops a process, its consumer keeps fetching (for heartbeats) and a worker
    thread still waiting on the work queue runs what arrives — such as the job a sibling that
    is stopping too has just handed back, which then ran to its end and held `exmado down` for
    its whole length. Such a message goes back to the queue, a little later, for the next
    worker that is not stopping.
    """

    def __init__(self, runtime: Runtime, again_ms: int) -> None:
        self.runtime = runtime
        self.again_ms = again_ms
        self.stopping = threading.Event()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self.stopping.set()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        job_id = _job_of(message)
        if job_id is None or not self.stopping.is_set():
            return
        self.runtime.queue.enqueue_run(job_id, delay_ms=self.again_ms)
        raise SkipMessage(f"job {job_id[:8]} goes back to the queue: this worker is stopping")


class JobSlots(Middleware):
    """A job message runs only with its job's slot lease (`liveness.hold.gate` says what to do).

    Without a free slot the job stays as it is (PENDING for a new one) with a visible
    `wait_reason`; its message is sent again with a delay and this one is skipped, so no retry
    is spent. A message whose job's lease another message holds is dropped when a worker holds
    the job in the store (it is running; the watchdog sends it again should its worker die),
    and sent again with a delay when no worker does (retried or resumed while its last run's
    message is still ending): nothing else would send it again.
    """

    def __init__(self, runtime: Runtime, wait_ms: int) -> None:
        self.runtime = runtime
        self.wait_ms = wait_ms

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        job_id = _job_of(message)
        if job_id is None:
            return
        said = gate(self.runtime.slots, job_id, message.message_id)
        if said is Gate.THROUGH:
            return
        if said is Gate.DROP:
            raise SkipMessage(f"job {job_id[:8]} is held by another message")
        self.runtime.queue.enqueue_run(job_id, delay_ms=self.wait_ms)
        waits = "for its last run to let go" if said is Gate.WAIT_LAST_RUN else "for a slot"
        raise SkipMessage(f"job {job_id[:8]} waits {waits}")

    def after_process_message(self, broker: Broker, message: MessageProxy, **_: Any) -> None:
        job_id = _job_of(message)
        if job_id is not None:
            self.runtime.slots.release(job_id, message.message_id)

    after_skip_message = after_process_message


def _job_of(message: MessageProxy) -> str | None:
    if message.actor_name != RUN_JOB or not message.args:
        return None
    return str(message.args[0])


class Presence(Middleware):
    """Registry heartbeats and the watchdog, in daemon threads of each worker process."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.messages: dict[str, str] = {}  # message id → job id, for messages being run
        self.threads = 0
        self._stop = threading.Event()

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self.threads = getattr(worker, "worker_threads", 0)
        self._stop.clear()
        presence.Registry(self.runtime, self).start(self._stop)
        presence.Watchdog(self.runtime).start(self._stop)

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self._stop.set()
        presence.forget(self.runtime)

    @property
    def jobs(self) -> set[str]:
        return set(self.messages.values())

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        job_id = _job_of(message)
        if job_id:
            self.messages[message.message_id] = job_id

    def after_process_message(self, broker: Broker, message: MessageProxy, **_: Any) -> None:
        self.messages.pop(message.message_id, None)

    after_skip_message = after_process_message


class StopWithParent(Middleware):
    """Start the parent watch in every worker process Dramatiq boots: one whose parent died
    stops by itself, handing its job back (`liveness.presence.watch_parent`)."""

    def after_process_boot(self, broker: Broker) -> None:
        presence.watch_parent(os.getppid())


class SignOut(Middleware):
    """A worker process signs out of DocuWare when it stops, once its jobs have let go: a cookie
    session holds a licence seat until it is logged off (an OAuth token is dropped)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        try:
            self.runtime.close_client()
        except Exception as exc:
            log.warning("Signing out of DocuWare failed: %s", exc)
