"""A job's holder: the worker the store names (claim, beat, hand-back) and its slot lease in
Redis (`JobSlots`, the middleware's `gate`). The rule is in this package's `__init__`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, auto
from typing import Any

import redis
from peewee import fn

from exmado_tui.errors import TransitionError
from exmado_tui.job.liveness import Clocks
from exmado_tui.job.status import ACTIVE, FINAL, JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.services.queue import NAMESPACE
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job

log = logging.getLogger("exmado.pipeline")
S = JobStatus


# -- the store: who holds the job ----------------------------------------------------------


def unheld(takeover_after_s: float, now: datetime | None = None) -> Any:
    """The condition "nobody holds the job": no worker, or its heartbeat older than the age."""
    cutoff = (now or utcnow()) - timedelta(seconds=takeover_after_s)
    return (Job.worker == "") | Job.heartbeat_at.is_null() | (Job.heartbeat_at < cutoff)


def claim(job_id: str, worker: str, clocks: Clocks) -> JobStatus | None:
    """Take the job for `worker`; its status then, or None when it is not ours to run.

    PENDING becomes VALIDATING; an active job is taken when nobody holds it (`unheld`).
    """
    job = Job.select(Job.status).where(Job.id == job_id).first()
    if job is None:
        return None
    now = utcnow()
    taken: dict[str, Any] = {
        "worker": worker,
        "heartbeat_at": now,
        "runs": Job.runs + 1,
        "started_at": fn.COALESCE(Job.started_at, now),
    }
    if job.status == S.PENDING:
        try:
            transition(job_id, S.VALIDATING, only_from=frozenset({S.PENDING}), **taken)
        except TransitionError:
            return None
        return S.VALIDATING
    if job.status not in ACTIVE:
        return None
    free = unheld(clocks.takeover_after_s, now)
    won = (
        Job.update(**taken, wait_reason="", updated_at=now)
        .where((Job.id == job_id) & (Job.status == job.status) & free)
        .execute()
    )
    return job.status if won == 1 else None


# -- Redis: the job's slot -----------------------------------------------------------------

# A lease is a member (the job id) of a sorted set scored by its expiry in Redis server time,
# plus its owner (the id of the message that took it) in a hash. Every operation is one Lua
# script, so two workers never both take the last slot.
SLOTS_KEY = f"{NAMESPACE}:slots"
OWNERS_KEY = f"{NAMESPACE}:slots:owners"

_PURGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, member in ipairs(expired) do redis.call('HDEL', KEYS[2], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""

ACQUIRE = (
    _PURGE
    + """
local owner = redis.call('HGET', KEYS[2], ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if owner then
  if owner == ARGV[2] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
    return {1, count}
  end
  return {-1, count}
end
if count >= tonumber(ARGV[4]) then return {0, count} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {1, count + 1}
"""
)

RENEW = (
    _PURGE
    + """
local owner = redis.call('HGET', KEYS[2], ARGV[1])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
)

RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

COUNT = _PURGE + "return redis.call('ZCARD', KEYS[1])"


@dataclass(frozen=True)
class Grant:
    """The answer to an acquire: taken, full (count of limit) or held by another message."""

    taken: bool
    held_elsewhere: bool
    running: int


class JobSlots:
    """Leases on the `max_concurrent_jobs` slots; `ttl_s` is `Clocks.lease_ttl_s`."""

    def __init__(self, client: redis.Redis, limit: int, ttl_s: float) -> None:
        self.client = client
        self.limit = limit
        self.ttl_ms = max(int(ttl_s * 1000), 1000)
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self._count = client.register_script(COUNT)

    def acquire(self, job_id: str, owner: str) -> Grant:
        code, count = self._acquire(
            keys=[SLOTS_KEY, OWNERS_KEY], args=[job_id, owner, self.ttl_ms, self.limit]
        )
        return Grant(code == 1, code == -1, int(count))

    def renew(self, job_id: str, owner: str) -> bool:
        """Extend the lease; False when another message took the job's lease meanwhile."""
        return bool(self._renew(keys=[SLOTS_KEY, OWNERS_KEY], args=[job_id, owner, self.ttl_ms]))

    def release(self, job_id: str, owner: str) -> bool:
        return bool(self._release(keys=[SLOTS_KEY, OWNERS_KEY], args=[job_id, owner]))

    def running(self) -> int:
        return int(self._count(keys=[SLOTS_KEY, OWNERS_KEY]))


class Gate(Enum):
    """What a job message may do, by its job's lease and the store's holder."""

    THROUGH = auto()  # it holds the lease, or its job has nothing to run (the actor says so)
    DROP = auto()  # another message holds the lease and a worker the job: it is running
    WAIT_LAST_RUN = auto()  # another message holds the lease, no worker the job: it is ending
    WAIT_SLOT = auto()  # every slot is taken (the job's wait_reason says so)


def gate(slots: JobSlots, job_id: str, message_id: str) -> Gate:
    """Take the job's lease for `message_id` if it is to run."""
    job = Job.select(Job.status, Job.worker).where(Job.id == job_id).first()
    if job is None or job.status in FINAL or job.status is S.PAUSED:
        return Gate.THROUGH
    grant = slots.acquire(job_id, message_id)
    if grant.taken:
        return Gate.THROUGH
    if grant.held_elsewhere:
        return Gate.DROP if job.worker else Gate.WAIT_LAST_RUN
    reason = f"waiting: {grant.running} of {slots.limit} jobs running"
    Job.update(wait_reason=reason).where(
        (Job.id == job_id) & (Job.status.in_([S.PENDING, S.RUNNING])) & (Job.worker == "")
    ).execute()
    return Gate.WAIT_SLOT


# -- one run's hold ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """A run's hold on its claimed job: the store's worker + heartbeat, its message's lease."""

    job_id: str
    worker: str
    slots: JobSlots
    message_id: str

    def beat(self) -> bool:
        """Refresh `heartbeat_at`; False when the job is no longer ours (taken over or ended)."""
        mine = (Job.id == self.job_id) & (Job.worker == self.worker)
        beat: int = Job.update(heartbeat_at=utcnow()).where(mine & Job.status.in_(ACTIVE)).execute()
        return beat == 1

    def renew_lease(self) -> bool:
        """False when another message took the lease; Redis away is no reason to stop."""
        try:
            return self.slots.renew(self.job_id, self.message_id)
        except redis.RedisError as exc:
            log.warning(
                "Job %s: cannot renew its slot in Redis (%s); going on", self.job_id[:8], exc
            )
            return True

    def hand_back(self, reason: str) -> None:
        """Let go of the job so the next message (or the watchdog) can take it."""
        Job.update(worker="", wait_reason=reason, updated_at=utcnow()).where(
            (Job.id == self.job_id) & (Job.worker == self.worker)
        ).execute()
