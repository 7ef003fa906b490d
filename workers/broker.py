"""The module `dramatiq` starts: the Redis broker and our middleware, built from settings.

`dramatiq workers.broker:setup workers.actors` (what `exmado worker` runs) calls `setup()`
before it imports the actors; importing this module reads nothing. `setup()` reads the same
configuration as the CLI: defaults, then `EXMADO_CONFIG` (or the user config file), then the
environment. Middleware, in order: Prometheus metrics (with `[metrics] listen`), repeated log
lines said once a minute, a process whose parent died stops, a stopping process takes no new
job, the job store per message, the current message, job slots (`max_concurrent_jobs` across
hosts), the time limit (a backstop: the pipeline stops itself at `jobs.job_timeout_s`), retries
for transient errors only, shutdown notices, worker presence (registry + watchdog), signing out
of DocuWare at the end (a cookie session holds a licence seat). A dead worker's messages come
back after `broker.heartbeat_timeout_s` (this and every other clock of liveness:
`exmado_tui/job/liveness/__init__.py`).
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Retries, ShutdownNotifications, TimeLimit

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import Settings
from exmado_tui.errors import RetryableError
from exmado_tui.formatting import visible_logs
from exmado_tui.services.queue import make_broker
from exmado_tui.services.supervision import announce_ready, run_dir
from workers import middleware
from workers.metrics import Metrics
from workers.runtime import Runtime

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
            middleware.QuietRepeats(),
            middleware.StopWithParent(),
            middleware.Stopping(runtime, again_ms),
            middleware.StoreConnection(runtime, again_ms),
            CurrentMessage(),
            middleware.JobSlots(runtime, again_ms),
            TimeLimit(time_limit=time_limit_ms(settings), interval=1000),
            Retries(
                max_retries=MAX_RETRIES,
                min_backoff=MIN_BACKOFF_MS,
                max_backoff=MAX_BACKOFF_MS,
                retry_when=transient,
            ),
            ShutdownNotifications(notify_shutdown=True),
            middleware.Presence(runtime),
            middleware.SignOut(runtime),
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
