"""`max_concurrent_jobs` across every worker and host: leases in Redis that expire.

A lease is a member of a sorted set scored by its expiry (Redis server time, so hosts need not
agree on the clock) plus its owner, the id of the message that took it. A running job renews
its lease with each heartbeat; a dead worker's lease lapses after `stale_after_s`, which is
also when its job is taken over. Every operation is one Lua script, so two workers never both
take the last slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import redis

from exmado_tui.queue import NAMESPACE

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
    """Leases on the `max_concurrent_jobs` slots."""

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

    def holders(self) -> list[str]:
        self.running()
        members = cast("list[bytes]", self.client.zrange(SLOTS_KEY, 0, -1))  # no decode_responses
        return [m.decode() for m in members]


@dataclass
class Lease:
    """One job's lease, as the pipeline renews it."""

    slots: JobSlots
    job_id: str
    owner: str

    def renew(self) -> bool:
        return self.slots.renew(self.job_id, self.owner)
