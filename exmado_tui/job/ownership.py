"""One runner per job: who holds a running job, its slot, and how another worker takes over.

The rule
--------
* **The store says who runs a job.** `Job.worker` (host:pid) and `Job.heartbeat_at` are the
  truth. A worker runs an active job (VALIDATING, RUNNING) only after `claim` wrote its id there
  with a compare-and-set, and only while its `Hold.beat` (same condition: still its own, still
  active) goes on succeeding; the first beat that fails stops the run at once, whatever it was
  doing. A job is free to claim when no worker is written (handed back, resumed, retried) or
  its holder's heartbeat is older than the takeover age; the WHERE clause carries that, so of
  two workers racing for it exactly one wins.
* **Letting go.** A run that cannot go on for a passing reason, or whose process is stopping,
  hands the job back (`Hold.hand_back`: worker cleared; its message is retried or sent again).
  A move out of the active states (pause, an ending, a terminate) clears `worker` in the same
  UPDATE (`transitions.transition`).
* **Takeover.** The watchdog of every worker process hands back (`take_over_silent`) an active
  job whose holder went silent for the takeover age — unless that holder is alive in the
  registry and lists the job among those it runs (a long phase without a beat is slow, not
  dead) — and one that nobody holds whose last beat is older than the lost-message age (its
  message was lost). One compare-and-set on the same condition, so of several watchdogs exactly
  one sends the job again; the next worker continues at its first unfinished row.
* **The Redis lease is the job's slot, not its owner.** `JobSlots` counts `max_concurrent_jobs`
  across hosts: a lease per job being run, owned by the message running it, kept in Redis with
  an expiry. The worker middleware lets a message through only with the lease (`gate`) and
  gives it back after; the run renews it with each heartbeat. The two agree thus: a message
  whose job's lease another message holds is dropped when the store names a worker (the job is
  running; should that worker die, the watchdog sends it again), and waits when the store names
  none (the last run is still ending). A run that finds its lease taken by another message stops
  like one whose heartbeat failed; Redis away for a moment does not stop it (the store says the
  job is its own; the next renewal puts the lease back).

The clocks (`Clocks`, from `[jobs]`)
------------------------------------
* `beat_s` = `heartbeat_s`, on the running worker's monotonic clock: how often a run writes
  `heartbeat_at` and renews its lease.
* `takeover_after_s` = `stale_after_s`, on the hosts' wall clocks: `heartbeat_at` is written
  with the holder's `utcnow()` and judged with the claimer's or the watchdog's, so the hosts'
  clocks must agree to well within it (NTP).
* `lease_ttl_s` = `stale_after_s` too, on the Redis server's clock (one clock for every host).
  Equal on purpose — both measure the same silence, so a dead worker's slot comes free when its
  job is taken over (give or take the hosts' skew): a longer lease would keep the job's new
  message waiting for the dead run's slot, a shorter one would free the slot of a silent run
  the store still counts as running (which takes it back, beyond the limit, at its next beat).
  Both are renewed every `beat_s`, hence settings require `stale_after_s` > `heartbeat_s`.
* `lost_message_after_s` = 3 x `stale_after_s` (wall clocks, like the takeover age).
* `watchdog_every_s` = `heartbeat_s`, within 0.2 s and `stale_after_s` / 2: a silent job is
  seen at most half a takeover age late.
* `again_s` = `heartbeat_s`, within 0.25 s and 5 s: a message held back (no free slot, its
  job's last run still ending, a stopping worker) is sent again this much later.
* `presence_ttl_s`: a worker announces itself every `ANNOUNCE_EVERY_S` in a Redis key that lives
  this long (Redis clock), `stale_after_s` rounded, within 3 announcements and 10 s: a killed
  worker's jobs are taken over after the later of it and the takeover age.

Who calls what: `workers/middleware.py` (`JobSlots`) takes and releases the lease per message
through `gate`; `workers/pipeline/runner.py` claims the job (`claim`) and keeps its `Hold` (beat,
lease renewal, hand-back); `workers/watchdog.py` runs `take_over_silent`; `JobService.
requeue_unfinished` (the watchdog after a Redis wipe, `exmado queue recover`) leaves jobs in
hand alone with `unheld`. Nothing else writes `Job.worker` or `Job.heartbeat_at`, but for the
moves out of the active states that clear `worker`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, auto
from typing import Any

import redis
from peewee import fn

from exmado_tui.config.settings import JobsSettings
from exmado_tui.errors import TransitionError
from exmado_tui.job.status import ACTIVE, FINAL, Event, JobStatus
from exmado_tui.job.transitions import transition, update_with_event
from exmado_tui.services.queue import NAMESPACE
from exmado_tui.store.db import utcnow
from exmado_tui.store.models import Job

log = logging.getLogger("exmado.pipeline")
S = JobStatus
LOST_MESSAGE_FACTOR = 3
ANNOUNCE_EVERY_S = 1.0
PRESENCE_TTL_MAX_S = 10


# -- the clocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clocks:
    """Every period of the rule, derived from `[jobs] heartbeat_s` and `stale_after_s`."""

    beat_s: float
    takeover_after_s: float

    @classmethod
    def of(cls, jobs: JobsSettings) -> Clocks:
        return cls(beat_s=jobs.heartbeat_s, takeover_after_s=jobs.stale_after_s)

    @property
    def lease_ttl_s(self) -> float:
        return self.takeover_after_s

    @property
    def lost_message_after_s(self) -> float:
        return self.takeover_after_s * LOST_MESSAGE_FACTOR

    @property
    def again_s(self) -> float:
        return max(0.25, min(5.0, self.beat_s))

    @property
    def watchdog_every_s(self) -> float:
        return max(0.2, min(self.beat_s, self.takeover_after_s / 2))

    @property
    def presence_ttl_s(self) -> int:
        # a registry key outliving a short takeover age would only slow takeovers
        least = 3 * int(ANNOUNCE_EVERY_S)
        return max(least, min(PRESENCE_TTL_MAX_S, round(self.takeover_after_s)))


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
