"""The shared DocuWare request budget in Redis: three Lua scripts and a read-only status.

One budget per DocuWare server and account (`account_key`), shared by every worker process on
every host. The request budget is a schedule, not a counter: `TAKE` reserves the next `n`
send times at the current rate (GCRA's "theoretical arrival time", kept in Redis time), so a
worker killed while holding tokens only wastes the moments it had reserved — nothing is owed
back and nothing shrinks for good. A reservation is refused past `max_ahead_ms`, which bounds
what a dead worker can waste to that window.

The rate adapts in the same scripts, atomically with the reservation (why not a library:
`limits` and `pyrate-limiter` take the rate from the caller or fix it when the bucket is
built, so the learned rate would be read in a second round trip and a worker could reserve at
the old rate after another's cut; their Redis windows also store one entry per token):

* `TAKE` with successes since the last call grows the rate, only while the schedule is in
  use, up to the ceiling: quickly before the first cut (nothing is known), then `GROWTH` a
  second, slower near the rate of the last cut (where the server began to refuse) and faster
  the longer no cut happened (recovering from 10 to 40 requests/s takes ~25 s).
* `CUT` (a 429, or a request held unanswered as DocuWare holds throttled ones) multiplies the
  rate by `BETA` for everyone at once and holds new reservations for Retry-After — unless the
  throttled request was reserved before the last cut: its 429 reports a rate already left.
* `MINUTE` is a sliding one-minute log for the logon and cabinet-list limits.

Nothing expires while in use; an unused budget is forgotten after `KEEP_S` (the learned rate
survives restarts, not months).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from exmado_tui.queue import NAMESPACE
from exmado_tui.settings import DocuWareSettings

PREFIX = f"{NAMESPACE}:budget:"
FIRST_GROWTH = 0.15  # growth a second before the first cut: nothing is known yet
GROWTH = 0.03  # growth a second while requests succeed, just after a cut
ACCEL_S = 12.0  # ... faster by GROWTH every ACCEL_S seconds without a cut
NEAR_PEAK = 0.35  # ... and this much of it near the rate of the last cut, where 429s begin
BETA = 0.85  # a cut keeps this share of the rate
KEEP_S = 7 * 24 * 3600
WINDOW_429_MS = 300_000

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""

# KEYS: state. ARGV: n, ceiling, start rate, successes, max_ahead_ms, label, keep_s.
# Returns {granted, wait_ms, rate, start_ms, now_ms} (strings: Lua would truncate numbers).
TAKE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'rate', 'tat', 'hold', 'calm_at', 'grow_at', 'peak')
local ceiling = tonumber(ARGV[2])
local rate = math.min(tonumber(s[1]) or tonumber(ARGV[3]), ceiling)
local tat = math.max(tonumber(s[2]) or 0, now, tonumber(s[3]) or 0)
local calm_at = tonumber(s[4]) or now
local grow_at = tonumber(s[5]) or now
local peak = tonumber(s[6])
local busy = (tonumber(s[2]) or 0) >= now - 1000
if tonumber(ARGV[4]) > 0 and busy then
  local dt = math.min(math.max(now - grow_at, 0), 1000) / 1000
  local g = FIRST_GROWTH
  if peak then
    g = GROWTH * (1 + (now - calm_at) / 1000 / ACCEL_S)
    if rate >= 0.95 * peak and rate <= 1.03 * peak then g = g * NEAR_PEAK end
  end
  rate = math.min(ceiling, rate * (1 + g * dt))
end
local wait = tat - now
local granted = 0
if wait <= tonumber(ARGV[5]) then
  granted = tonumber(ARGV[1])
  redis.call('HSET', KEYS[1], 'tat', tostring(tat + granted * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'grow_at', tostring(now),
  'calm_at', tostring(calm_at), 'ceiling', ARGV[2], 'label', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[7])
return {granted, tostring(wait), tostring(rate), tostring(tat), tostring(now)}
"""
)
for _name, _value in (
    ("FIRST_GROWTH", FIRST_GROWTH),
    ("GROWTH", GROWTH),
    ("ACCEL_S", ACCEL_S),
    ("NEAR_PEAK", NEAR_PEAK),
):
    TAKE = TAKE.replace(_name, repr(_value))

# KEYS: state, 429 log. ARGV: reserved_ms, retry_after_ms, is_429, floor, member.
# Returns {cut (1/0), rate}.
CUT = (
    _NOW
    + """
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - WINDOW)
  redis.call('PEXPIRE', KEYS[2], WINDOW)
end
local s = redis.call('HMGET', KEYS[1], 'rate', 'cut_at', 'hold')
local rate = tonumber(s[1])
if not rate or tonumber(ARGV[1]) < (tonumber(s[2]) or 0) then
  return {0, tostring(rate or 0)}
end
rate = math.max(tonumber(ARGV[4]), rate * BETA)
local hold = math.max(tonumber(s[3]) or 0, now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'cut_at', tostring(now), 'peak', s[1],
  'calm_at', tostring(now), 'grow_at', tostring(now), 'hold', tostring(hold))
redis.call('HINCRBY', KEYS[1], 'cuts', 1)
return {1, tostring(rate)}
""".replace("BETA", repr(BETA)).replace("WINDOW", str(WINDOW_429_MS))
)

# KEYS: log. ARGV: per_minute, member. Returns ms to wait before trying again (0: taken).
MINUTE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 60000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(tonumber(oldest[2]) + 60000 - now, 1))
"""
)


def account_key(settings: DocuWareSettings) -> str:
    """A short stable name for one server + account (no secret in it)."""
    parts = (settings.url.rstrip("/").casefold(), settings.signer, settings.organization.casefold())
    text = "\0".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grant:
    """A `TAKE` answer: `granted` send times from `start_ms` at `rate`, or wait `wait_ms`.

    `now_ms`: when it was reserved (Redis time); a throttle signal of a request reserved
    before the last cut says nothing new.
    """

    granted: int
    wait_ms: float
    rate: float
    start_ms: float
    now_ms: float


@dataclass(frozen=True)
class BudgetStatus:
    """What the dashboard and `exmado workers --json` show of one budget."""

    account: str
    rate: float
    ceiling: float
    throttled_5min: int
    last_cut: float | None  # Unix seconds

    def describe(self) -> str:
        """`17.5 of 50 requests/s, 3 × 429 in 5 min, last cut 12:03:04` (local time)."""
        text = (
            f"{self.rate:.1f} of {self.ceiling:g} requests/s, {self.throttled_5min} × 429 in 5 min"
        )
        if self.last_cut is not None:
            text += ", last cut " + time.strftime("%H:%M:%S", time.localtime(self.last_cut))
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "rate_per_s": round(self.rate, 2),
            "ceiling_per_s": self.ceiling,
            "throttled_5min": self.throttled_5min,
            "last_cut": self.last_cut,
        }


def read_statuses(client: Any) -> list[BudgetStatus]:
    """Every budget in Redis (a sync `redis.Redis`), most throttled first."""
    found = []
    for key in client.scan_iter(match=PREFIX + "*", count=100):
        name = key.decode() if isinstance(key, bytes) else key
        if name.count(":") == 2:  # the state hashes, not their logs
            found.append(_status(client, name))
    return sorted(found, key=lambda s: -s.throttled_5min)


def _status(client: Any, key: str) -> BudgetStatus:
    now_s, now_us = client.time()
    now_ms = now_s * 1000 + now_us / 1000
    rate, ceiling, cut_at, label = client.hmget(key, "rate", "ceiling", "cut_at", "label")
    recent = client.zcount(key + ":429", now_ms - WINDOW_429_MS, "+inf")
    return BudgetStatus(
        account=(label or b"").decode(),
        rate=float(rate or 0),
        ceiling=float(ceiling or 0),
        throttled_5min=int(recent),
        last_cut=float(cut_at) / 1000 if cut_at else None,
    )
