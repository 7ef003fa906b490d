"""The only place on the domain side that knows Dramatiq: the broker and actor names.

The domain sends messages by actor name, so it never imports `workers`; the workers build
their broker with `make_broker` too, adding their middleware.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware
from redis.backoff import NoBackoff
from redis.retry import Retry

from exmado_tui.config.settings import BrokerSettings, mask_url
from exmado_tui.errors import QueueUnavailableError

NAMESPACE = "exmado"
JOBS_QUEUE = "jobs"
RUN_JOB = "run_job"
# Each worker process refreshes `WORKER_KEY_PREFIX + worker id` (JSON, short TTL) while alive.
WORKER_KEY_PREFIX = f"{NAMESPACE}:worker:"


def redis_client(
    settings: BrokerSettings,
    *,
    connect_timeout_s: float = 5,
    reply_timeout_s: float | None = None,
    once: bool = False,
) -> redis.Redis:
    """A client of the broker's Redis; `reply_timeout_s` bounds each command (None: no bound);
    `once`: one attempt (redis-py otherwise tries a refused password again for seconds)."""
    password = settings.password.reveal() or None
    extra = {"retry": Retry(NoBackoff(), 0)} if once else {}
    return redis.Redis.from_url(
        settings.url,
        password=password,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=reply_timeout_s,
        **extra,
    )


def make_broker(
    settings: BrokerSettings,
    middleware: list[Middleware] | None = None,
    client: redis.Redis | None = None,
) -> RedisBroker:
    """A Redis broker whose dead workers' messages come back within a minute or so; `client`
    (else one of `redis_client`'s) with timeouts of its own."""
    return RedisBroker(
        client=client or redis_client(settings),
        namespace=NAMESPACE,
        middleware=middleware if middleware is not None else [],
        heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
        # Out of a million commands. Dramatiq's default (1,000) can leave a dead worker's
        # messages unseen for a quarter of an hour; a cheap pass every ~20 commands does not.
        maintenance_chance=50_000,
    )


@dataclass(frozen=True)
class QueueDepth:
    ready: int
    delayed: int
    dead: int


REDIS_DOWN_FIX = "start it with `exmado up` (the bundled Redis on this machine), or set REDIS_URL"


class JobQueue:
    """Sends job messages and reports on the queue, by actor name only."""

    def __init__(self, broker: RedisBroker, url: str = "redis") -> None:
        self.broker = broker
        self.url = mask_url(url)

    @classmethod
    def from_settings(cls, settings: BrokerSettings) -> JobQueue:
        return cls(make_broker(settings), settings.url)

    def enqueue_run(self, job_id: str, delay_ms: int | None = None) -> str:
        """Send `run_job(job_id)`; raise QueueUnavailableError when Redis cannot be reached."""
        message: Message[Any] = Message(
            queue_name=JOBS_QUEUE, actor_name=RUN_JOB, args=(job_id,), kwargs={}, options={}
        )
        try:
            return self.broker.enqueue(message, delay=delay_ms).message_id
        except redis.RedisError as exc:
            raise QueueUnavailableError(
                f"Cannot reach Redis at {self.url} ({exc}): {REDIS_DOWN_FIX}."
            ) from None

    def depth(self) -> QueueDepth:
        client = self.broker.client
        key = f"{NAMESPACE}:{JOBS_QUEUE}"
        return QueueDepth(
            ready=client.llen(key),
            delayed=client.llen(f"{key}.DQ"),
            dead=client.zcard(f"{key}.XQ"),
        )

    def is_empty(self, depth: QueueDepth) -> bool:
        """No job message for a purge to drop: none ready, delayed or dead (`depth`, just read),
        none held."""
        return depth == QueueDepth(0, 0, 0) and not self.held_job_ids()

    def held_job_ids(self) -> set[str]:
        """The jobs whose message Redis holds: queued, delayed, or being run by a worker."""
        held = set()
        for queue in (JOBS_QUEUE, f"{JOBS_QUEUE}.DQ"):
            for raw in self.broker.client.hvals(f"{NAMESPACE}:{queue}.msgs"):
                with contextlib.suppress(ValueError, LookupError, TypeError):
                    held.add(str(json.loads(raw)["args"][0]))
        return held

    def alive_workers(self) -> list[dict[str, Any]]:
        """The workers whose registry entry has not expired, oldest first."""
        client = self.broker.client
        found = []
        for key in client.scan_iter(match=WORKER_KEY_PREFIX + "*", count=200):
            raw = client.get(key)
            if raw:
                found.append(json.loads(raw))
        return sorted(found, key=lambda w: (w.get("since", ""), w.get("id", "")))

    def ping(self) -> bool:
        try:
            return bool(self.broker.client.ping())
        except redis.RedisError:
            return False

    def purge(self) -> None:
        self.broker.flush(JOBS_QUEUE)
